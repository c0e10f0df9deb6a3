package playbooks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// stuckFleet is a memFleet whose hosts never finish the command "hang":
// db01 behaves as a frozen host does once the transport gives it up (an
// *UnreachableError with a *NoAnswerError, after the cancel), the others
// as a live host whose command is killed (the context's error).
type stuckFleet struct{ *memFleet }

func (f stuckFleet) Conn(ctx context.Context, host string, vars map[string]any) (transport.Conn, error) {
	c, err := f.memFleet.Conn(ctx, host, vars)
	if err != nil {
		return nil, err
	}
	return &stuckConn{Conn: c}, nil
}

type stuckConn struct{ transport.Conn }

func (c *stuckConn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	if cmd != "hang" {
		return c.Conn.Run(ctx, cmd, opts)
	}
	<-ctx.Done()
	if c.Host() == "db01" {
		return nil, &transport.UnreachableError{Host: c.Host(), Err: &transport.NoAnswerError{Silence: 6 * time.Second}}
	}
	return &transport.Result{ExitCode: -1}, fmt.Errorf("host %s: run %q: %w", c.Host(), cmd, ctx.Err())
}

func (c *stuckConn) Become(b transport.Become) transport.Conn {
	return &stuckConn{Conn: c.Conn.Become(b)}
}

// planTrawrun is trun that returns the transport's error as it is, as
// the command module does (trun turns every error into a failure).
func planTrawrun(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	cmd := fmt.Sprint(args["_raw_params"])
	return &tasks.Change{Action: tasks.Run, Summary: "run " + cmd,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			_, err := env.Conn.Run(ctx, cmd, transport.RunOptions{})
			return map[string]any{"cmd": cmd}, err
		}}, nil
}

// TestTaskTimeoutEndsStuckHosts: with TaskTimeout, a task that never ends
// on two hosts stops at the limit: the host the transport gave up on is
// unreachable, the live one fails with Ansible's message, the third host
// goes on with the next task, and the run is not interrupted.
func TestTaskTimeoutEndsStuckHosts(t *testing.T) {
	t.Parallel()
	mods := testModules()
	mods.AddFreeForm(tasks.ModuleFunc(planTrawrun), tasks.FreeForm{}, "trawrun")
	f := newFleet(3)
	t0 := time.Now()
	sum, out := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - trawrun: "{{ 'ok' if idx == 3 else 'hang' }}"
    - trun: after
`, func(o *Options) {
		o.Modules = mods
		o.Connector = stuckFleet{f}
		o.TaskTimeout = time.Second
	})
	if took := time.Since(t0); took > 30*time.Second {
		t.Errorf("run took %s with a 1 s task timeout", took)
	}
	if st := stats(t, sum, "db01"); st.Unreachable != 1 {
		t.Errorf("db01: %+v, want unreachable\n%s", st, out)
	}
	if st := stats(t, sum, "db02"); st.Failed != 1 {
		t.Errorf("db02: %+v, want failed\n%s", st, out)
	}
	if st := stats(t, sum, "db03"); st.Failed+st.Unreachable != 0 || !slices.Contains(f.ran("db03"), "login: after") {
		t.Errorf("db03: %+v ran %q, want ok and the next task run\n%s", st, f.ran("db03"), out)
	}
	for _, want := range []string{
		"no answer from host for 6s",
		`"msg": "The trawrun action failed to execute in the expected time frame (1) and was terminated"`,
		`"timedout": {"period": 1}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if sum.Interrupted {
		t.Error("a task timeout is not an interrupted run")
	}
}

// TestNoTaskTimeoutByDefault: without TaskTimeout a slow task is not cut.
func TestNoTaskTimeoutByDefault(t *testing.T) {
	t.Parallel()
	sum, out := runYAML(t, newFleet(1), `
- hosts: dbservers
  tasks:
    - tsleep: {for: 1500ms}
`)
	if sum.Failed() != 0 {
		t.Errorf("slow task failed without a task timeout:\n%s", out)
	}
}
