package tasks_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

// writeModule plans a write of content to path and records a precondition on
// the file it read, like a real file module.
func writeModule(path, content string) tasks.Module {
	return tasks.ModuleFunc(func(ctx context.Context, env *tasks.Env, _ map[string]any) (*tasks.Change, error) {
		var reads []tasks.Precondition
		old, exists, err := tasks.ReadFileFor(ctx, env.Conn, path, &reads)
		if err != nil && !errors.Is(err, overlay.ErrPending) {
			return nil, err
		}
		if exists && string(old) == content {
			return &tasks.Change{Action: tasks.None}, nil
		}
		act := tasks.Update
		if !exists {
			act = tasks.Create
		}
		return &tasks.Change{
			Action: act,
			Diffs:  []tasks.Diff{tasks.FileDiff(path, string(old), content)},
			Reads:  reads,
			Writes: []overlay.PlannedFile{{Path: path, Content: []byte(content)}},
			Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
				return nil, env.Conn.WriteFile(ctx, path, []byte(content), transport.WriteOptions{})
			},
		}, nil
	})
}

// badPlanner writes during Plan, which the read-only view must refuse.
var badPlanner = tasks.ModuleFunc(func(ctx context.Context, env *tasks.Env, _ map[string]any) (*tasks.Change, error) {
	return nil, env.Conn.WriteFile(ctx, "/etc/x", []byte("x"), transport.WriteOptions{})
})

func TestExecuteCheckThenApply(t *testing.T) {
	ctx := context.Background()
	c := tasktest.New("db1", "root")
	c.AddFile("/etc/app.conf", "a=1\n", 0o644)
	env := &tasks.Env{Host: "db1", Conn: c}
	mod := writeModule("/etc/app.conf", "a=2\n")

	ov := overlay.NewOverlay()
	out := tasks.Execute(ctx, mod, env, nil, tasks.ExecOptions{Check: true, Overlay: ov})
	if out.Status != tasks.StatusChanged || out.Err != nil {
		t.Fatalf("check: status %v err %v, want changed", out.Status, out.Err)
	}
	if got := c.Content("/etc/app.conf"); got != "a=1\n" {
		t.Fatalf("check mode wrote the file: %q", got)
	}
	if !strings.Contains(out.Change.Diffs[0].Unified, "-a=1\n+a=2\n") {
		t.Errorf("diff = %q", out.Change.Diffs[0].Unified)
	}
	// A later plan in the same check run sees the planned content.
	again := tasks.Execute(ctx, mod, env, nil, tasks.ExecOptions{Check: true, Overlay: ov})
	if again.Status != tasks.StatusOK {
		t.Errorf("second plan in check run: %v, want ok (overlay should hold the planned file)", again.Status)
	}

	out = tasks.Execute(ctx, mod, env, nil, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged || c.Content("/etc/app.conf") != "a=2\n" {
		t.Fatalf("apply: status %v content %q", out.Status, c.Content("/etc/app.conf"))
	}
	if out := tasks.Execute(ctx, mod, env, nil, tasks.ExecOptions{}); out.Status != tasks.StatusOK {
		t.Errorf("rerun: %v, want ok", out.Status)
	}
}

func TestExecuteDrift(t *testing.T) {
	ctx := context.Background()
	c := tasktest.New("db1", "root")
	c.AddFile("/etc/app.conf", "a=1\n", 0o644)
	env := &tasks.Env{Host: "db1", Conn: c}
	// Plan, then change the file behind the plan's back, then apply.
	drifting := tasks.ModuleFunc(func(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
		ch, err := writeModule("/etc/app.conf", "a=2\n").Plan(ctx, env, args)
		c.AddFile("/etc/app.conf", "a=changed-by-someone\n", 0o644)
		return ch, err
	})
	out := tasks.Execute(ctx, drifting, env, nil, tasks.ExecOptions{})
	var de *tasks.DriftError
	if out.Status != tasks.StatusFailed || !errors.As(out.Err, &de) || de.Path != "/etc/app.conf" {
		t.Fatalf("want drift failure on /etc/app.conf, got %v %v", out.Status, out.Err)
	}
	if got := c.Content("/etc/app.conf"); got != "a=changed-by-someone\n" {
		t.Errorf("drifted file was overwritten: %q", got)
	}
}

func TestPlanCannotWrite(t *testing.T) {
	c := tasktest.New("db1", "root")
	out := tasks.Execute(context.Background(), badPlanner, &tasks.Env{Host: "db1", Conn: c}, nil, tasks.ExecOptions{})
	if out.Status != tasks.StatusFailed || !errors.Is(out.Err, transport.ErrReadOnly) {
		t.Fatalf("write during plan: %v %v, want ErrReadOnly", out.Status, out.Err)
	}
	if len(c.Fake().Writes()) != 0 {
		t.Errorf("writes reached the host: %v", c.Fake().Writes())
	}
}

func TestRunActionInCheckMode(t *testing.T) {
	ran := false
	run := tasks.ModuleFunc(func(context.Context, *tasks.Env, map[string]any) (*tasks.Change, error) {
		return &tasks.Change{Action: tasks.Run, Apply: func(context.Context, *tasks.Env) (map[string]any, error) {
			ran = true
			return map[string]any{"rc": 0}, nil
		}}, nil
	})
	env := &tasks.Env{Host: "db1", Conn: tasktest.New("db1", "root")}
	out := tasks.Execute(context.Background(), run, env, nil, tasks.ExecOptions{Check: true})
	if ran || out.Status != tasks.StatusSkipped || !out.WouldRun {
		t.Fatalf("check: ran=%v status=%v wouldRun=%v", ran, out.Status, out.WouldRun)
	}
	out = tasks.Execute(context.Background(), run, env, nil, tasks.ExecOptions{Check: true, ForceApply: true})
	if !ran || out.Status != tasks.StatusChanged {
		t.Fatalf("check_mode: false: ran=%v status=%v", ran, out.Status)
	}
}

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct{ before, after, want string }{
		{"a\n", "a\n", ""},
		{"", "x\n", "@@ -0,0 +1 @@\n+x\n"},
		{"a\nb\n", "a\nc\n", "@@ -1,2 +1,2 @@\n a\n-b\n+c\n"},
		{"a", "a\n", "@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n"},
	} {
		got := tasks.UnifiedDiff("f", tc.before, tc.after)
		if tc.want == "" {
			if got != "" {
				t.Errorf("equal texts: diff %q", got)
			}
			continue
		}
		if !strings.HasSuffix(got, tc.want) || !strings.HasPrefix(got, "--- before: f\n+++ after: f\n") {
			t.Errorf("UnifiedDiff(%q, %q) =\n%s\nwant suffix\n%s", tc.before, tc.after, got, tc.want)
		}
	}
}

// TestCheckRunDecided: a command whose creates/removes decided that it
// would run is "changed" in check mode (as in Ansible and in the real run);
// one that nothing decided is "skipped (would run)". Planned states reach
// the overlay.
func TestCheckRunDecided(t *testing.T) {
	h := tasktest.New("db1", "sshplay")
	env := &tasks.Env{Host: "db1", Conn: h}
	runMod := func(decided bool) tasks.Module {
		return tasks.ModuleFunc(func(ctx context.Context, env *tasks.Env, _ map[string]any) (*tasks.Change, error) {
			return &tasks.Change{Action: tasks.Run, Decided: decided, States: map[string]string{"service:pg": "started"},
				Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) { return nil, nil }}, nil
		})
	}
	ov := overlay.NewOverlay()
	out := tasks.Execute(context.Background(), runMod(true), env, nil, tasks.ExecOptions{Check: true, Overlay: ov})
	if out.Status != tasks.StatusChanged || !out.WouldRun || out.Result["changed"] != true {
		t.Fatalf("decided: %v %v %v", out.Status, out.WouldRun, out.Result)
	}
	if v, _ := ov.State("service:pg"); v != "started" {
		t.Errorf("state not recorded: %q", v)
	}
	out = tasks.Execute(context.Background(), runMod(false), env, nil, tasks.ExecOptions{Check: true, Overlay: ov})
	if out.Status != tasks.StatusSkipped || !out.WouldRun {
		t.Fatalf("undecided: %v %v", out.Status, out.WouldRun)
	}
	out = tasks.Execute(context.Background(), runMod(true), env, nil, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged {
		t.Fatalf("real: %v", out.Status)
	}
}

// TestMetaPreconditions: metadata and probe preconditions detect drift.
func TestMetaPreconditions(t *testing.T) {
	ctx := context.Background()
	h := tasktest.New("db1", "sshplay")
	h.AddFile("/etc/x", "a", 0o644)
	var reads []tasks.Precondition
	if _, err := tasks.StatFor(ctx, h, "/etc/x", &reads); err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.StatFor(ctx, h, "/etc/y", &reads); err != nil {
		t.Fatal(err)
	}
	if err := tasks.CheckPreconditions(ctx, h, reads); err != nil {
		t.Fatalf("unchanged host: %v", err)
	}
	h.AddFile("/etc/x", "a", 0o600)
	var d *tasks.DriftError
	if err := tasks.CheckPreconditions(ctx, h, reads); !errors.As(err, &d) || !strings.Contains(d.Detail, "mode") {
		t.Fatalf("mode drift: %v", err)
	}
	h.AddFile("/etc/x", "a", 0o644)
	h.AddFile("/etc/y", "", 0o644)
	if err := tasks.CheckPreconditions(ctx, h, reads); !errors.As(err, &d) || d.Path != "/etc/y" || d.Detail != "it was created" {
		t.Fatalf("created: %v", err)
	}
	state := "stopped"
	probe := []tasks.Precondition{{Path: "service pg", Want: "stopped", Probe: func(context.Context, transport.Conn) (string, error) { return state, nil }}}
	if err := tasks.CheckPreconditions(ctx, h, probe); err != nil {
		t.Fatal(err)
	}
	state = "running"
	if err := tasks.CheckPreconditions(ctx, h, probe); !errors.As(err, &d) || d.Path != "service pg" {
		t.Fatalf("probe drift: %v", err)
	}
}
