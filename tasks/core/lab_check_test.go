package core_test

// Dependent steps on a real lab host: the same task list run with --check
// semantics (one overlay) and then for real must report the same status
// for every task, and the check run must leave the host untouched.

import (
	"context"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

func TestLabCheckDependentSteps(t *testing.T) {
	d := "/tmp/sshplay-core-lab-check"
	_, h, conn, _ := labHost(t, d)
	ctx := context.Background()
	svc := map[string]any{"name": "fake", "start_command": "touch " + d + "/running", "stop_command": "rm -f " + d + "/running",
		"status_command": "test -e " + d + "/running"}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{k: v}
		for kk, vv := range m {
			out[kk] = vv
		}
		return out
	}
	steps := []struct {
		mod  string
		args map[string]any
		want tasks.Status
	}{
		{"file", map[string]any{"path": d + "/conf", "state": "directory", "mode": "0750"}, tasks.StatusChanged},
		{"file", map[string]any{"path": d + "/conf", "state": "directory", "owner": "sshplay"}, tasks.StatusOK},
		{"stat", map[string]any{"path": d + "/conf/nothing"}, tasks.StatusOK},
		{"command", map[string]any{"argv": []any{"touch", d + "/conf/app.conf"}, "creates": d + "/conf/app.conf"}, tasks.StatusChanged},
		{"lineinfile", map[string]any{"path": d + "/conf/app.conf", "line": "x = 1"}, tasks.StatusChanged},
		{"file", map[string]any{"path": d + "/conf", "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}, tasks.StatusChanged},
		{"file", map[string]any{"path": d + "/link.conf", "src": d + "/conf/app.conf", "state": "link"}, tasks.StatusChanged},
		{"file", map[string]any{"path": d + "/link.conf", "state": "absent"}, tasks.StatusChanged},
		{"copy", map[string]any{"content": "x", "dest": d + "/owned", "owner": "nosuchuser"}, tasks.StatusFailed},
		{"service", with(svc, "state", "started"), tasks.StatusChanged},
		{"service", with(svc, "state", "started"), tasks.StatusOK},
		{"service", with(svc, "state", "stopped"), tasks.StatusChanged},
		{"file", map[string]any{"path": d + "/conf", "state": "absent"}, tasks.StatusChanged},
		{"stat", map[string]any{"path": d + "/conf/app.conf"}, tasks.StatusOK},
	}
	env := &tasks.Env{Host: h.Name, Conn: conn, Local: transport.Local(), Vars: map[string]any{},
		Render: func(s string) (string, error) { return s, nil }}
	ov := overlay.NewOverlay()
	var check []*tasks.Outcome
	mods := coreModules()
	for _, s := range steps {
		m, _ := mods.Lookup(s.mod)
		check = append(check, tasks.Execute(ctx, m, env, s.args, tasks.ExecOptions{Check: true, Overlay: ov}))
	}
	if _, err := conn.Stat(ctx, d); err == nil {
		t.Fatalf("check run created %s", d)
	}
	for i, s := range steps {
		m, _ := mods.Lookup(s.mod)
		out := tasks.Execute(ctx, m, env, s.args, tasks.ExecOptions{})
		c := check[i]
		if c.Status != s.want || out.Status != s.want {
			sum := ""
			if c.Change != nil {
				sum = c.Change.Summary
			}
			t.Errorf("task %d %s: check %v (%s %v), real %v (%v); want %v", i, s.mod, c.Status, sum, c.Err, out.Status, out.Err, s.want)
		}
	}
}
