package playbooks

// Recording what came of a task on a host: debug's verbosity gate,
// ignore_errors and ignore_unreachable, PLAY RECAP's counters, the facts a
// rescue reads (ansible_failed_result, ansible_failed_task), and the
// HostResult the reporter prints.

import (
	"time"

	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

// loopItem says a result line belongs to a loop: one item (label), or the
// loop's aggregate (summary).
type loopItem struct {
	label   any
	summary bool
}

// finish applies ignore_errors/ignore_unreachable, counts the result for
// PLAY RECAP, reports it and returns what the task registers.
func (r *runner) finish(h *hostState, t *Task, in inherit, out *tasks.Outcome, start time.Time, li *loopItem) map[string]any {
	out = r.verbosityGate(out)
	ignored := false
	switch out.Status {
	case tasks.StatusUnreachable:
		if in.ignoreUnreachable || t.IgnoreUnreachable {
			h.stats.Skipped++
			ignored = true
		} else {
			h.setUnreach(true)
			h.stats.Unreachable++
		}
	case tasks.StatusFailed:
		out.Result["failed"] = true
		if in.ignoreErrors || t.IgnoreErrors {
			// As Ansible's strategy counts an ignored failure: ok,
			// ignored, and changed when the result says so (a failed
			// command reports changed: true).
			ignored = true
			h.stats.OK++
			h.stats.Ignored++
			if ParseBoolAny(out.Result["changed"]) {
				h.stats.Changed++
			}
		} else {
			h.setFailed(true)
			h.stats.Failed++
			// What a rescue section reads to know what failed, as in Ansible.
			h.mu.Lock()
			h.facts["ansible_failed_result"] = template.Literal{V: out.Result}
			h.facts["ansible_failed_task"] = template.Literal{V: map[string]any{"name": t.DisplayName(), "action": t.Module}}
			h.mu.Unlock()
		}
	case tasks.StatusChanged:
		h.stats.OK++
		h.stats.Changed++
	case tasks.StatusSkipped:
		h.stats.Skipped++
	default:
		h.stats.OK++
	}
	if _, ok := out.Result["changed"]; !ok {
		out.Result["changed"] = out.Status == tasks.StatusChanged
	}
	if li == nil || !li.summary || out.Status == tasks.StatusFailed || out.Status == tasks.StatusUnreachable {
		r.rep.HostResult(r.hostResult(h, t, in, out, time.Since(start), li, ignored))
	} else {
		r.rep.LoopDone(r.hostResult(h, t, in, out, time.Since(start), li, ignored))
	}
	return out.Result
}

// verbosityGate applies a result's "_verbosity" (debug's verbosity: N):
// below that verbosity the host is skipped, as in Ansible; the key never
// reaches output or registered variables.
func (r *runner) verbosityGate(out *tasks.Outcome) *tasks.Outcome {
	v, ok := out.Result["_verbosity"]
	if !ok {
		return out
	}
	delete(out.Result, "_verbosity")
	var need int
	switch n := v.(type) {
	case int:
		need = n
	case int64:
		need = int(n)
	case float64:
		need = int(n)
	}
	if out.Status != tasks.StatusOK || r.opts.Verbose >= need {
		return out
	}
	return &tasks.Outcome{Status: tasks.StatusSkipped, Result: map[string]any{
		"changed": false, "skipped": true, "skipped_reason": "Verbosity threshold not met.",
	}}
}

// hostResult is the line the reporter prints for an outcome: status, diffs,
// message, loop item, and what must stay hidden (no_log, secrets).
func (r *runner) hostResult(h *hostState, t *Task, in inherit, out *tasks.Outcome, d time.Duration, li *loopItem, ignored bool) *HostResult {
	hr := &HostResult{
		Host:     h.name,
		Task:     t,
		Handler:  in.handler,
		Status:   out.Status,
		Ignored:  ignored,
		WouldRun: out.WouldRun,
		Result:   out.Result,
		Duration: d,
		NoLog:    in.noLog || t.NoLog,
		Secrets:  r.secrets(h),
	}
	show, explicit := r.diffFor(in, t)
	hr.ShowDiff, hr.NoDiff = show, explicit && !show
	if t.DelegateTo != "" {
		hr.Delegated = t.DelegateTo
	} else if in.delegateTo != "" {
		hr.Delegated = in.delegateTo
	}
	if out.Change != nil {
		hr.Diffs = out.Change.Diffs
		hr.Summary = out.Change.Summary
	}
	if m, ok := out.Result["msg"]; ok {
		if s, ok := m.(string); ok {
			hr.Msg = s
		}
	}
	if hr.Msg == "" && out.Err != nil {
		hr.Msg = out.Err.Error()
	}
	if li != nil && !li.summary {
		hr.Item, hr.HasItem = li.label, true
	}
	if li != nil && li.summary {
		hr.LoopSummary = true
	}
	return hr
}
