package playbooks

// tasktimeout.go bounds each attempt of a task on a host by
// Options.TaskTimeout, as Ansible's TASK_TIMEOUT (--task-timeout) bounds
// each attempt of a task's action: loops and until/retries get the limit
// per item and per attempt, not for the whole task. When the limit passes
// the task's context ends, which kills its remote commands; a host that
// then answers nothing at all is given up on by the transport and reported
// UNREACHABLE ("no answer from host for N s"), any other host fails the
// task with Ansible's message. Either way the linear strategy's other
// hosts wait for a stuck host no longer than the limit plus the few
// seconds the transport gives a cancelled host to answer.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sshplay/sshplay/tasks"
)

// errTaskTimeout is the cause of a task context that ended at TaskTimeout.
var errTaskTimeout = errors.New("task timeout")

// executeOnce runs one attempt of t's module under the task timeout.
func (r *runner) executeOnce(ctx context.Context, t *Task, call moduleCall) *tasks.Outcome {
	if r.opts.TaskTimeout <= 0 {
		return tasks.Execute(ctx, call.mod, call.env, call.args, call.opts)
	}
	tctx, cancel := context.WithTimeoutCause(ctx, r.opts.TaskTimeout, errTaskTimeout)
	defer cancel()
	out := tasks.Execute(tctx, call.mod, call.env, call.args, call.opts)
	if out.Status != tasks.StatusFailed || ctx.Err() != nil || !errors.Is(context.Cause(tctx), errTaskTimeout) {
		return out // done in time, unreachable, or the whole run cancelled
	}
	return timedOut(t, r.opts.TaskTimeout, out)
}

// timedOut turns the outcome of an attempt cut short by the task timeout
// into Ansible's: failed, "The X action failed to execute in the expected
// time frame (N) and was terminated", with timedout.period, keeping what
// the module reported (stdout so far) under the other keys.
func timedOut(t *Task, limit time.Duration, out *tasks.Outcome) *tasks.Outcome {
	secs := int(limit.Round(time.Second) / time.Second)
	msg := fmt.Sprintf("The %s action failed to execute in the expected time frame (%d) and was terminated", t.Module, secs)
	res := map[string]any{}
	for k, v := range out.Result {
		res[k] = v
	}
	res["failed"] = true
	res["msg"] = msg
	res["timedout"] = map[string]any{"period": secs}
	return &tasks.Outcome{Status: tasks.StatusFailed, Change: out.Change, Result: res,
		Err: fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)}
}
