package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// Status is the outcome of one module on one host, in Ansible's words.
type Status int

const (
	StatusOK Status = iota
	StatusChanged
	StatusFailed
	StatusSkipped
	StatusUnreachable
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusChanged:
		return "changed"
	case StatusFailed:
		return "failed"
	case StatusSkipped:
		return "skipping"
	case StatusUnreachable:
		return "unreachable"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// ExecOptions say how Execute runs a module.
type ExecOptions struct {
	// Check stops after Plan (the planned writes go into Overlay).
	Check bool
	// Overlay holds this host's planned files in a check run; may be nil.
	Overlay *overlay.Overlay
	// ForceApply runs Apply even in check mode (task has check_mode: false).
	ForceApply bool
}

// Outcome is what Execute reports for one host.
type Outcome struct {
	Status Status
	Change *Change
	// Result is the registered value: module values plus "changed", "failed",
	// "msg", "skipped" as Ansible registers them.
	Result map[string]any
	// WouldRun is set in check mode when a command was not run.
	WouldRun bool
	Err      error
}

// Execute plans mod on env's host through a read-only view, and, unless this
// is a check run, re-checks the plan's preconditions and applies it. It is
// the one place where plan and apply meet: the engine and ad-hoc runs both
// call it, so --check and a real run can never disagree on what changes.
func Execute(ctx context.Context, mod Module, env *Env, args map[string]any, opts ExecOptions) *Outcome {
	writable := env.Conn
	planEnv := *env
	planEnv.Conn = overlay.View(writable, opts.Overlay)

	ch, err := mod.Plan(ctx, &planEnv, args)
	if err != nil {
		return failed(nil, err)
	}
	out := &Outcome{Change: ch, Result: map[string]any{}}
	for k, v := range ch.Result {
		out.Result[k] = v
	}
	if ch.Action == None || ch.Apply == nil {
		out.Status = StatusOK
		out.Result["changed"] = false
		return out
	}
	if opts.Check && !(opts.ForceApply || ch.RunsInCheck) {
		if opts.Overlay != nil {
			opts.Overlay.Add(ch.Writes...)
			for k, v := range ch.States {
				opts.Overlay.SetState(k, v)
			}
		}
		if ch.Action == Run && ch.Decided {
			// creates/removes said the command would run: Ansible reports
			// such a command as changed in check mode.
			out.Status = StatusChanged
			out.WouldRun = true
			out.Result["changed"] = true
			out.Result["msg"] = "check mode: would run (creates/removes says so; command not run)"
			return out
		}
		if ch.Action == Run {
			// A command whose effect cannot be planned: say so, don't guess.
			out.Status = StatusSkipped
			out.WouldRun = true
			out.Result["skipped"] = true
			out.Result["msg"] = "check mode: would run (command not run; declare creates/removes or check_mode: false to plan it)"
			return out
		}
		out.Status = StatusChanged
		out.Result["changed"] = true
		return out
	}
	if err := CheckPreconditions(ctx, writable, ch.Reads); err != nil {
		return failed(ch, err)
	}
	applyEnv := *env
	applyEnv.Conn = writable
	res, err := ch.Apply(ctx, &applyEnv)
	for k, v := range res {
		out.Result[k] = v
	}
	if err != nil {
		o := failed(ch, err)
		for k, v := range out.Result {
			if _, set := o.Result[k]; !set {
				o.Result[k] = v
			}
		}
		return o
	}
	changed := ch.Action.Changed()
	if c, ok := out.Result["changed"].(bool); ok {
		changed = c // a module may learn at apply time that nothing changed
	}
	out.Result["changed"] = changed
	out.Status = StatusOK
	if changed {
		out.Status = StatusChanged
	}
	return out
}

func failed(ch *Change, err error) *Outcome {
	o := &Outcome{Status: StatusFailed, Change: ch, Err: err, Result: map[string]any{"failed": true, "msg": err.Error()}}
	var f *Failed
	if errors.As(err, &f) {
		for k, v := range f.Result {
			o.Result[k] = v
		}
		o.Result["msg"] = f.Msg
	}
	var u *transport.UnreachableError
	if errors.As(err, &u) {
		o.Status = StatusUnreachable
		o.Result["unreachable"] = true
	}
	return o
}
