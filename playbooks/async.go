package playbooks

// async with poll > 0: the task runs as usual, but fails when it takes
// longer than async seconds, with Ansible's message. Ansible runs such a
// task in the background on the host and polls it every poll seconds;
// the outcome the playbook sees is the same. poll: 0 (fire and forget,
// then async_status) is not supported yet and refused at parse.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/tasks"
)

// AsyncOptions are a task's async and poll keywords.
type AsyncOptions struct {
	Seconds int // async: 0 means not async
	Poll    int // poll: seconds between polls (10 by default)
}

// asyncKeyword reads async: or poll: (whole seconds).
func (p *parser) asyncKeyword(t *Task, k, v *yaml.Node) {
	n, err := strconv.Atoi(v.Value)
	if err != nil || n < 0 {
		p.fail(v, "%s: want a whole number of seconds, got %q", k.Value, v.Value)
		return
	}
	if k.Value == "async" {
		t.Async.Seconds = n
		return
	}
	if n == 0 {
		p.fail(v, "not supported yet: poll: 0 (fire-and-forget async with async_status); use poll > 0")
		return
	}
	t.Async.Poll = n
}

// errAsyncTimeout is the cause of a task context that ended at async.
var errAsyncTimeout = errors.New("async timeout")

// executeAsync runs one attempt of t's module, bounded by its async
// seconds when it has some.
func (r *runner) executeAsync(ctx context.Context, t *Task, call moduleCall) *tasks.Outcome {
	if t.Async.Seconds <= 0 {
		return r.executeOnce(ctx, t, call)
	}
	actx, cancel := context.WithTimeoutCause(ctx, time.Duration(t.Async.Seconds)*time.Second, errAsyncTimeout)
	defer cancel()
	out := r.executeOnce(actx, t, call)
	if out.Status != tasks.StatusFailed || ctx.Err() != nil || !errors.Is(context.Cause(actx), errAsyncTimeout) {
		return out
	}
	msg := fmt.Sprintf("async task did not complete within the requested time - %ds", t.Async.Seconds)
	return &tasks.Outcome{Status: tasks.StatusFailed, Change: out.Change,
		Result: map[string]any{"failed": true, "msg": msg, "async_result": out.Result},
		Err:    fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)}
}
