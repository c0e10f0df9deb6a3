package core

// Tests that --check reports what the following real run does, task by task,
// for dependent steps: each scenario runs its tasks once in check
// mode over an overlay on one fake host, then for real on a fresh one, and
// compares the statuses.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

type step struct {
	mod  string
	args map[string]any
}

// runSteps executes steps on a fresh host (setup applied) and returns the
// outcomes; check runs them in check mode over one overlay.
func runSteps(t *testing.T, setup func(h *tasktest.Conn), check bool, steps []step) ([]*tasks.Outcome, *tasktest.Conn) {
	t.Helper()
	h, l := newHosts()
	if setup != nil {
		setup(h)
	}
	env := testEnv(h, l)
	opts := tasks.ExecOptions{Check: check}
	if check {
		opts.Overlay = overlay.NewOverlay()
	}
	var outs []*tasks.Outcome
	for _, s := range steps {
		outs = append(outs, tasks.Execute(context.Background(), modByName(t, s.mod), env, s.args, opts))
	}
	return outs, h
}

// checkMatchesReal asserts that check and real runs give want, task by
// task, and that the check run wrote nothing.
func checkMatchesReal(t *testing.T, setup func(h *tasktest.Conn), steps []step, want ...tasks.Status) []*tasks.Outcome {
	t.Helper()
	checkOuts, h := runSteps(t, setup, true, steps)
	if w := h.Fake().Writes(); len(w) != 0 {
		t.Errorf("check run wrote %v", w)
	}
	realOuts, _ := runSteps(t, setup, false, steps)
	for i := range steps {
		c, r := checkOuts[i], realOuts[i]
		if c.Status != want[i] || r.Status != want[i] {
			t.Errorf("task %d (%s): check %v (%s %v), real %v (%v); want %v", i, steps[i].mod, c.Status, summary(c), c.Err, r.Status, r.Err, want[i])
		}
	}
	return checkOuts
}

func summary(o *tasks.Outcome) string {
	if o.Change == nil {
		return ""
	}
	return o.Change.Summary
}

func TestCheckCommandCreatesThenEdit(t *testing.T) {
	t.Parallel()
	h0 := func(h *tasktest.Conn) { h.AddDir("/etc/app", 0o755) }
	outs := checkMatchesReal(t, h0, []step{
		{"command", map[string]any{"_raw_params": "touch /etc/app/app.conf", "creates": "/etc/app/app.conf"}},
		{"lineinfile", map[string]any{"path": "/etc/app/app.conf", "line": "x = 1"}},
	}, tasks.StatusChanged, tasks.StatusChanged)
	if !outs[0].WouldRun || !strings.Contains(summary(outs[1]), "would edit /etc/app/app.conf") {
		t.Errorf("got wouldRun=%v, %q", outs[0].WouldRun, summary(outs[1]))
	}
	// removes: a later stat sees the file gone.
	h1 := func(h *tasktest.Conn) { h.AddFile("/etc/app/old.conf", "x\n", 0o644) }
	outs = checkMatchesReal(t, h1, []step{
		{"command", map[string]any{"_raw_params": "rm /etc/app/old.conf", "removes": "/etc/app/old.conf"}},
		{"file", map[string]any{"path": "/etc/app/old.conf", "state": "absent"}},
	}, tasks.StatusChanged, tasks.StatusOK)
	// A command with neither stays "skipped (would run)".
	outs, _ = runSteps(t, nil, true, []step{{"command", map[string]any{"_raw_params": "touch /x"}}})
	if outs[0].Status != tasks.StatusSkipped || !outs[0].WouldRun {
		t.Errorf("plain command in check: %v", outs[0].Status)
	}
}

func TestCheckLinksAndDirs(t *testing.T) {
	t.Parallel()
	setup := func(h *tasktest.Conn) {
		h.AddFile("/etc/real.conf", "a\n", 0o644)
		h.AddFile("/srv/data/f", "x", 0o644)
	}
	outs := checkMatchesReal(t, setup, []step{
		{"file", map[string]any{"path": "/etc/link.conf", "src": "/etc/real.conf", "state": "link"}},
		{"stat", map[string]any{"path": "/etc/link.conf"}},
		{"lineinfile", map[string]any{"path": "/etc/link.conf", "line": "a"}},
		{"file", map[string]any{"path": "/etc/link.conf", "state": "absent"}},
		{"file", map[string]any{"path": "/opt/app/conf", "state": "directory"}},
		{"file", map[string]any{"path": "/opt/app/conf", "state": "directory", "owner": "sshplay"}},
		{"stat", map[string]any{"path": "/opt/app/conf/x"}},
		{"file", map[string]any{"path": "/srv/data", "state": "absent"}},
		{"stat", map[string]any{"path": "/srv/data/f"}},
	}, tasks.StatusChanged, tasks.StatusOK, tasks.StatusOK, tasks.StatusChanged, tasks.StatusChanged, tasks.StatusOK,
		tasks.StatusOK, tasks.StatusChanged, tasks.StatusOK)
	st := func(i int) map[string]any { m, _ := outs[i].Result["stat"].(map[string]any); return m }
	if st(1)["exists"] != true || st(1)["islnk"] != true {
		t.Errorf("stat of planned link: %v", st(1))
	}
	if st(6)["exists"] != false || st(8)["exists"] != false {
		t.Errorf("stat under planned dir / removed dir: %v %v", st(6), st(8))
	}
}

// serviceFake scripts systemd with units that start and stop for real.
func serviceFake(h *tasktest.Conn, running map[string]bool, known ...string) {
	h.AddDir("/run/systemd/system", 0o755)
	h.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
		word := cmd[strings.LastIndex(cmd, " ")+1:]
		switch {
		case cmd == "test -d /run/systemd/system && command -v systemctl >/dev/null":
			return &transport.Result{}, true
		case strings.HasPrefix(cmd, "systemctl is-active --quiet -- "):
			if running[word] {
				return &transport.Result{}, true
			}
			return &transport.Result{ExitCode: 3}, true
		case strings.HasPrefix(cmd, "systemctl show -p LoadState --value -- "):
			for _, k := range known {
				if k == word {
					return &transport.Result{Stdout: []byte("loaded\n")}, true
				}
			}
			return &transport.Result{Stdout: []byte("not-found\n")}, true
		case strings.HasPrefix(cmd, "systemctl start -- "):
			running[word] = true
			return &transport.Result{}, true
		case strings.HasPrefix(cmd, "systemctl stop -- "):
			running[word] = false
			return &transport.Result{}, true
		case strings.HasPrefix(cmd, "timeout 5 bash -c"):
			if running["postgresql"] {
				return &transport.Result{}, true
			}
			return &transport.Result{ExitCode: 1}, true
		}
		return nil, false
	})
}

func TestCheckServiceState(t *testing.T) {
	t.Parallel()
	setup := func(h *tasktest.Conn) { serviceFake(h, map[string]bool{}, "postgresql") }
	start := step{"service", map[string]any{"name": "postgresql", "state": "started"}}
	stop := step{"service", map[string]any{"name": "postgresql", "state": "stopped"}}
	checkMatchesReal(t, setup, []step{start, start, stop, stop}, tasks.StatusChanged, tasks.StatusOK, tasks.StatusChanged, tasks.StatusOK)

	// wait_for after a planned start: planned, not waited for (a clock
	// that fails on sleep proves it).
	h, l := newHosts()
	serviceFake(h, map[string]bool{}, "postgresql")
	env := testEnv(h, l)
	opts := tasks.ExecOptions{Check: true, Overlay: overlay.NewOverlay()}
	if o := tasks.Execute(context.Background(), modByName(t, "service"), env, start.args, opts); o.Status != tasks.StatusChanged {
		t.Fatalf("start: %v %v", o.Status, o.Err)
	}
	noSleep := waitClock{now: time.Now, sleep: func(context.Context, time.Duration) error { return errors.New("slept") }}
	o := tasks.Execute(context.Background(), waitFor{clock: noSleep}, env, map[string]any{"port": 5432}, opts)
	if o.Status != tasks.StatusOK || !strings.Contains(summary(o), "would wait for 127.0.0.1:5432") {
		t.Fatalf("wait_for in check: %v %v %q", o.Status, o.Err, summary(o))
	}
	// Without planned changes it really probes (and here times out).
	o = tasks.Execute(context.Background(), waitFor{clock: noSleep}, env, map[string]any{"port": 5432}, tasks.ExecOptions{Check: true, Overlay: overlay.NewOverlay()})
	if o.Status != tasks.StatusFailed {
		t.Fatalf("wait_for without planned change: %v", o.Status)
	}
}

func TestCheckUnknownService(t *testing.T) {
	t.Parallel()
	setup := func(h *tasktest.Conn) { serviceFake(h, map[string]bool{}, "postgresql") }
	outs := checkMatchesReal(t, setup, []step{{"service", map[string]any{"name": "nosuch", "state": "started"}}}, tasks.StatusFailed)
	if !strings.Contains(outs[0].Err.Error(), "could not find the requested service nosuch") {
		t.Errorf("got %v", outs[0].Err)
	}
}

func TestCheckUnknownOwner(t *testing.T) {
	t.Parallel()
	for _, args := range []map[string]any{
		{"content": "x", "dest": "/home/sshplay/x", "owner": "nosuchuser"},
		{"content": "x", "dest": "/home/sshplay/x", "group": "nosuchgroup"},
	} {
		outs := checkMatchesReal(t, nil, []step{{"copy", args}}, tasks.StatusFailed)
		if !strings.Contains(outs[0].Err.Error(), "no such") {
			t.Errorf("got %v", outs[0].Err)
		}
	}
	outs := checkMatchesReal(t, nil, []step{{"file", map[string]any{"path": "/home/sshplay/d", "state": "directory", "owner": "nosuchuser"}}}, tasks.StatusFailed)
	if !strings.Contains(outs[0].Err.Error(), `no such user "nosuchuser"`) {
		t.Errorf("got %v", outs[0].Err)
	}
}

// driftAfterPlan wraps a module: after Plan it runs mutate on the host, as
// another actor would between plan and apply.
func driftAfterPlan(m tasks.Module, mutate func()) tasks.Module {
	return tasks.ModuleFunc(func(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
		ch, err := m.Plan(ctx, env, args)
		mutate()
		return ch, err
	})
}

func TestDriftFileMetadata(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   map[string]any
		mutate func(h *tasktest.Conn)
	}{
		{"mode", map[string]any{"path": "/etc/x", "owner": "postgres"}, func(h *tasktest.Conn) {
			_, _ = h.Become(transport.Become{Enabled: true}).Run(context.Background(), "chmod 0600 /etc/x", transport.RunOptions{})
		}},
		{"owner", map[string]any{"path": "/etc/x", "mode": "0600"}, func(h *tasktest.Conn) {
			_, _ = h.Become(transport.Become{Enabled: true}).Run(context.Background(), "chown postgres /etc/x", transport.RunOptions{})
		}},
		{"kind", map[string]any{"path": "/etc/x", "state": "absent"}, func(h *tasktest.Conn) {
			_ = h.Remove(context.Background(), "/etc/x")
			h.AddDir("/etc/x", 0o755)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, l := newHosts()
			h.AddFile("/etc/x", "a", 0o644)
			env := testEnv(h, l)
			env.Conn = h.Become(transport.Become{Enabled: true})
			m := driftAfterPlan(modByName(t, "file"), func() { tc.mutate(h) })
			o := tasks.Execute(context.Background(), m, env, tc.args, tasks.ExecOptions{})
			var d *tasks.DriftError
			if !errors.As(o.Err, &d) || d.Path != "/etc/x" {
				t.Fatalf("want drift error on /etc/x, got %v %v", o.Status, o.Err)
			}
		})
	}
}

func TestDriftService(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	running := map[string]bool{}
	serviceFake(h, running, "postgresql")
	m := driftAfterPlan(modByName(t, "service"), func() { running["postgresql"] = true })
	o := tasks.Execute(context.Background(), m, testEnv(h, l), map[string]any{"name": "postgresql", "state": "started"}, tasks.ExecOptions{})
	var d *tasks.DriftError
	if !errors.As(o.Err, &d) || d.Path != "service postgresql" {
		t.Fatalf("want drift error, got %v %v", o.Status, o.Err)
	}
	for _, r := range h.Fake().Runs() {
		if strings.HasPrefix(r, "systemctl start") {
			t.Errorf("started despite drift")
		}
	}
}

// TestWaitForPortBanner: search_regex with a port reads the banner.
func TestWaitForPortBanner(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	banner := "220 mail ready\n"
	h.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
		if strings.HasPrefix(cmd, "timeout 11 bash -c") && strings.HasSuffix(cmd, " 127.0.0.1 25 5") {
			return &transport.Result{Stdout: []byte(banner)}, true
		}
		return nil, false
	})
	now := time.Unix(0, 0)
	clock := waitClock{now: func() time.Time { return now }, sleep: func(ctx context.Context, d time.Duration) error { now = now.Add(d); return nil }}
	ch, err := waitFor{clock: clock}.Plan(context.Background(), testEnv(h, l), map[string]any{"port": 25, "search_regex": `^(\d+) mail`, "timeout": 3})
	if err != nil || ch.Result["search_regex"] != `^(\d+) mail` {
		t.Fatalf("got %v %v", ch, err)
	}
	if g, _ := ch.Result["match_groups"].([]string); len(g) != 1 || g[0] != "220" {
		t.Errorf("groups %v", ch.Result["match_groups"])
	}
	banner = "554 go away\n"
	_, err = waitFor{clock: clock}.Plan(context.Background(), testEnv(h, l), map[string]any{"port": 25, "search_regex": `ready`, "timeout": 3})
	var f *tasks.Failed
	if !errors.As(err, &f) || f.Msg != "Timeout when waiting for search string ready in 127.0.0.1:25" {
		t.Fatalf("got %v", err)
	}
}

// TestFileRecurseSymbolic: recurse with a symbolic mode applies X per entry.
func TestFileRecurseSymbolic(t *testing.T) {
	t.Parallel()
	setup := func(h *tasktest.Conn) {
		h.AddDir("/srv/app/sub", 0o700)
		h.AddFile("/srv/app/f", "x", 0o600)
		h.AddFile("/srv/app/run.sh", "x", 0o700)
		h.AddSymlink("/srv/app/link", "f")
	}
	st := step{"file", map[string]any{"path": "/srv/app", "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}}
	outs := checkMatchesReal(t, setup, []step{st}, tasks.StatusChanged)
	if !strings.Contains(summary(outs[0]), "mode u=rwX,g=rX,o= on 4 entries") {
		t.Errorf("summary %q", summary(outs[0]))
	}
	_, h := runSteps(t, setup, false, []step{st})
	for p, want := range map[string]uint32{"/srv/app": 0o750, "/srv/app/sub": 0o750, "/srv/app/f": 0o640, "/srv/app/run.sh": 0o750} {
		if got := unixMode(h.Node(p).Mode); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
	env := testEnv(h, nil)
	if o := tasks.Execute(context.Background(), modByName(t, "file"), env, st.args, tasks.ExecOptions{Check: true}); o.Status != tasks.StatusOK {
		t.Errorf("second run: %v %s", o.Status, summary(o))
	}
}

// TestCheckRecurseOverPlannedEntry: recurse on an existing directory in
// which an earlier task plans a new file must not judge the directory by
// the host's listing alone (the file is not there yet): check and real run
// both report changed.
func TestCheckRecurseOverPlannedEntry(t *testing.T) {
	t.Parallel()
	setup := func(h *tasktest.Conn) { h.AddDir("/srv/app", 0o750) }
	checkMatchesReal(t, setup, []step{
		{"copy", map[string]any{"content": "x\n", "dest": "/srv/app/new.conf", "mode": "0644"}},
		{"file", map[string]any{"path": "/srv/app", "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}},
	}, tasks.StatusChanged, tasks.StatusChanged)
}

// TestCheckWaitForPending: wait_for plans "would wait" only when what it
// waits for depends on a planned change; otherwise it probes the host,
// whatever else is planned.
func TestCheckWaitForPending(t *testing.T) {
	t.Parallel()
	noSleep := waitClock{now: time.Now, sleep: func(context.Context, time.Duration) error { return errors.New("slept") }}
	h, l := newHosts()
	h.AddDir("/run/app", 0o755)
	env := testEnv(h, l)
	opts := tasks.ExecOptions{Check: true, Overlay: overlay.NewOverlay()}
	cmd := map[string]any{"_raw_params": "start-app", "creates": "/run/app/app.pid"}
	if o := tasks.Execute(context.Background(), modByName(t, "command"), env, cmd, opts); o.Status != tasks.StatusChanged {
		t.Fatalf("command: %v %v", o.Status, o.Err)
	}
	wait := func(args map[string]any) *tasks.Outcome {
		return tasks.Execute(context.Background(), waitFor{clock: noSleep}, env, args, opts)
	}
	// The pid file would be written: it is there, content unknown.
	if o := wait(map[string]any{"path": "/run/app/app.pid"}); o.Status != tasks.StatusOK || !strings.Contains(summary(o), "is started") {
		t.Errorf("pending path: %v %v %q", o.Status, o.Err, summary(o))
	}
	// Its content is only known after apply: would wait for the regex.
	if o := wait(map[string]any{"path": "/run/app/app.pid", "search_regex": `\d+`}); o.Status != tasks.StatusOK || !strings.Contains(summary(o), "would wait for file /run/app/app.pid") {
		t.Errorf("pending content: %v %v %q", o.Status, o.Err, summary(o))
	}
	// A path no planned change touches, and a port while no service would
	// start or stop, are probed on the host (and time out here).
	for _, args := range []map[string]any{{"path": "/run/other.pid", "timeout": 1}, {"port": 5432, "timeout": 1}} {
		if o := wait(args); o.Status != tasks.StatusFailed {
			t.Errorf("%v: %v %q, want a real probe that fails", args, o.Status, summary(o))
		}
	}
}
