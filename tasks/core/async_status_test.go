package core

import (
	"errors"
	"testing"

	"github.com/sshplay/sshplay/tasks"
)

// TestJobResultIsAnsiblesAsyncStatus: a job still running registers
// finished 0 and no change; a finished one its command's result with
// finished 1 and the delta; a non-zero rc or async_wrapper's timeout
// fails the task with the job's msg.
func TestJobResultIsAnsiblesAsyncStatus(t *testing.T) {
	running, err := jobResult("j1.2", "/h/.ansible_async/j1.2", map[string]any{"started": 1.0, "finished": 0.0})
	if err != nil || running["finished"] != 0 || running["changed"] != false || running["results_file"] != "/h/.ansible_async/j1.2" {
		t.Errorf("running: %v %v", running, err)
	}
	done, err := jobResult("j1.2", "f", map[string]any{"rc": 0.0, "changed": true, "stdout": "done",
		"start": "2026-12-06 05:00:00.000000", "end": "2026-12-06 05:00:02.500000"})
	if err != nil || done["finished"] != 1 || done["rc"] != 0 || done["delta"] != "0:00:02.500000" || done["failed"] != false {
		t.Errorf("done: %v %v", done, err)
	}
	for _, data := range []map[string]any{
		{"rc": 2.0, "changed": true, "failed": true, "msg": "non-zero return code"},
		{"failed": 1.0, "finished": 1.0, "msg": "Timeout exceeded"},
	} {
		_, err := jobResult("j1.2", "f", data)
		var f *tasks.Failed
		if !errors.As(err, &f) || f.Msg != data["msg"] {
			t.Errorf("%v: err %v", data, err)
		}
	}
}
