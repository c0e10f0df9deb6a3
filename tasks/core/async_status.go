package core

// async_status (ansible.builtin.async_status): reads the job file a
// background task (async with poll: 0) writes on the host under
// ~/.ansible_async/<jid> of the user it ran as, or, with mode: cleanup,
// removes it. Both read or touch only that file, so they run in check
// mode too, as Ansible's do.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

// jidRe is what a job id may be: it is a file name under ~/.ansible_async.
var jidRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// asyncDir sets d to the job directory of the user the command runs as
// (HOME is the become user's: sudo runs with -H, as Ansible's does).
const asyncDir = `d="${HOME:-$(eval echo ~"$(id -un)")}/.ansible_async"; `

func planAsyncStatus(_ context.Context, _ *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("async_status", raw, "jid", "mode", "_async_dir")
	if err != nil {
		return nil, err
	}
	jid := a.Required("jid")
	mode := a.Choice("mode", "status", "status", "cleanup")
	_ = a.Str("_async_dir", "")
	if jid != "" && !a.Templated(jid) && !jidRe.MatchString(jid) {
		a.Fail("jid", "not a job id: %q", jid)
	}
	if err := a.Ready(); err != nil {
		return nil, err
	}
	apply := func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
		if mode == "cleanup" {
			return cleanupJob(ctx, env.Conn, jid)
		}
		return jobStatus(ctx, env.Conn, jid)
	}
	return &tasks.Change{Action: tasks.Run, Summary: "read job " + jid, Decided: true, RunsInCheck: true, Apply: apply}, nil
}

// jobStatus reads the job file and registers it as Ansible does: the
// job's result with finished 1 once it is done (finished 0 before), and
// the job id and results file; a job that failed fails the task.
func jobStatus(ctx context.Context, c transport.Conn, jid string) (map[string]any, error) {
	res, err := c.Run(ctx, asyncDir+`f="$d/`+jid+`"; echo "$f"; cat "$f" 2>/dev/null || exit 3`, transport.RunOptions{})
	var ee *transport.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("host %s: read job %s: %w", c.Host(), jid, err)
	}
	file, body, _ := strings.Cut(string(res.Stdout), "\n")
	if res.ExitCode != 0 {
		out := map[string]any{"ansible_job_id": jid, "started": 1, "finished": 1, "results_file": file,
			"changed": false, "msg": "could not find job"}
		return out, &tasks.Failed{Msg: "could not find job", Result: out}
	}
	data := map[string]any{}
	if err := json.Unmarshal([]byte(body), &data); err != nil {
		// async_wrapper's reader is as lenient while the file is written.
		data = map[string]any{"started": 1, "finished": 0, "ansible_job_id": jid}
	}
	return jobResult(jid, file, data)
}

// jobResult completes what the job file holds as async_status does.
func jobResult(jid, file string, data map[string]any) (map[string]any, error) {
	for _, k := range []string{"rc", "finished", "started", "failed"} {
		if f, ok := data[k].(float64); ok {
			data[k] = int(f) // JSON numbers: registered as Ansible's ints
		}
	}
	data["ansible_job_id"] = jid
	data["results_file"] = file
	if _, ok := data["finished"]; !ok {
		data["finished"] = 1 // the command's own result replaced the start marker
	}
	if _, ok := data["started"]; !ok {
		data["started"] = 1
	}
	if data["finished"] != 1 {
		data["changed"] = false
		return data, nil
	}
	addJobDelta(data)
	if failed, _ := data["failed"].(bool); failed || data["failed"] == 1 {
		msg, _ := data["msg"].(string)
		return data, &tasks.Failed{Msg: msg, Result: data}
	}
	if _, ok := data["changed"]; !ok {
		data["changed"] = false
	}
	data["failed"] = false // Ansible's async_status registers it
	return data, nil
}

// addJobDelta sets delta from start and end, as the command module does.
func addJobDelta(data map[string]any) {
	s, _ := data["start"].(string)
	e, _ := data["end"].(string)
	st, err1 := time.ParseInLocation(ansibleTime, s, time.Local)
	et, err2 := time.ParseInLocation(ansibleTime, e, time.Local)
	if err1 == nil && err2 == nil {
		data["delta"] = ansibleDelta(et.Sub(st))
	}
}

// cleanupJob removes the job file; Ansible registers it as "erased".
func cleanupJob(ctx context.Context, c transport.Conn, jid string) (map[string]any, error) {
	res, err := c.Run(ctx, asyncDir+`f="$d/`+jid+`"; rm -f "$f" && echo "$f"`, transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: clean up job %s: %w", c.Host(), jid, err)
	}
	return map[string]any{"ansible_job_id": jid, "erased": strings.TrimSpace(string(res.Stdout)),
		"started": 0, "finished": 0, "changed": false, "failed": false, "stdout": "", "stderr": ""}, nil
}
