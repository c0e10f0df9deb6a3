package playbooks

// Running one task: on every host of the batch at once (forks at a time;
// run_once; any_errors_fatal and max_fail_percentage judged after it), and
// on one host: when, the items of its loop, register. Running the module
// itself is execute.go's; recording what came of it, results.go's.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

// runTaskAll runs a task on every given host at once, forks at a time (on
// the first one only with run_once, whose result every host registers),
// then stops the play when a new failure breaks any_errors_fatal or
// max_fail_percentage.
func (r *runner) runTaskAll(ctx context.Context, pr *playRun, t *Task, hosts []*hostState, in inherit) {
	if !in.handler && !r.selected(t, in) {
		return
	}
	if !in.handler && t.Module != "meta" && r.opts.Step != nil && !r.opts.Step(t.DisplayName()) {
		return
	}
	// Ansible prints no banner for meta tasks (a skipped or failed one
	// gets one with its host line).
	if pr.play.Strategy != "free" && t.Module != "meta" {
		r.rep.TaskStart(t, in.handler)
	}
	if t.Module == "meta" {
		r.runMeta(ctx, pr, t, hosts, in)
		return
	}
	runOnce := in.runOnce || t.RunOnce
	targets := hosts
	if runOnce {
		targets = hosts[:1]
	}
	before := map[*hostState]bool{}
	for _, h := range hosts {
		before[h] = h.isFailed()
	}
	results := make([]map[string]any, len(targets))
	sem := make(chan struct{}, r.opts.Forks)
	var wg sync.WaitGroup
	prog := r.rep.Progress(t, len(targets))
	for i, h := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, h *hostState) {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.runTask(ctx, pr, t, h, in)
			prog()
		}(i, h)
	}
	wg.Wait()
	if runOnce && t.Register != "" && results[0] != nil {
		for _, h := range hosts[1:] {
			h.mu.Lock()
			h.facts[t.Register] = template.Literal{V: results[0]}
			h.mu.Unlock()
		}
	}
	newFail := false
	for _, h := range hosts {
		if (h.isFailed() || h.isUnreach()) && !before[h] {
			newFail = true
		}
	}
	pr.mu.Lock()
	if newFail && pr.play.AnyErrorsFatal && !in.rescued {
		pr.abort, pr.fatal = true, true
	}
	pr.mu.Unlock()
	if newFail && r.breached(pr) {
		pr.mu.Lock()
		pr.abort, pr.fatal = true, true
		pr.mu.Unlock()
	}
}

// runTask runs a task on one host and returns what it registers.
func (r *runner) runTask(ctx context.Context, pr *playRun, t *Task, h *hostState, in inherit) map[string]any {
	start := time.Now()
	delegate := in.delegateTo
	if t.DelegateTo != "" {
		delegate = t.DelegateTo
	}
	if delegate == "" {
		h.waitConn(ctx)
	}
	if h.connErr != nil && delegate == "" {
		out := &tasks.Outcome{Status: tasks.StatusUnreachable, Err: h.connErr,
			Result: map[string]any{"changed": false, "unreachable": true, "msg": h.connErr.Error()}}
		return r.finish(h, t, in, out, start, nil)
	}
	scope := r.scope(pr, h, in, t, nil)
	r.collectSecrets(h, scope, t.Args)
	var result map[string]any
	if !t.HasLoop {
		ok, err := r.when(scope, in, t)
		switch {
		case err != nil:
			result = r.finish(h, t, in, outcomeErr(err), start, nil)
		case !ok:
			result = r.finish(h, t, in, &tasks.Outcome{Status: tasks.StatusSkipped, Result: skippedResult()}, start, nil)
		default:
			out := r.execute(ctx, pr, t, h, in, scope, delegate)
			if ctx.Err() != nil {
				out = interrupted(out)
			}
			if out.Status == tasks.StatusOK || out.Status == tasks.StatusChanged {
				if out.Status == tasks.StatusChanged {
					r.notify(pr, h, t, scope)
				}
			}
			result = r.finish(h, t, in, out, start, nil)
		}
	} else {
		result = r.runLoop(ctx, pr, t, h, in, scope, delegate, start)
	}
	if t.Register != "" && result != nil {
		h.mu.Lock()
		h.facts[t.Register] = template.Literal{V: result}
		h.mu.Unlock()
	}
	return result
}

// when reports whether the task's conditions, and those of its blocks,
// all hold.
// An error in a block's condition is placed at the task it stopped.
func (r *runner) when(scope *template.Scope, in inherit, t *Task) (bool, error) {
	for i, c := range append(append([]string(nil), in.when...), t.When...) {
		ok, err := scope.Cond(c)
		if err != nil {
			if i < len(in.when) {
				return false, &TaskTemplateError{Pos: t.Pos, What: fmt.Sprintf("when %q (of its block)", c), Err: err}
			}
			return false, t.keyError("when", c, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// runLoop runs a task once per item of its loop on one host: each item
// with its own when, reported on its own line and notifying handlers when
// it changed something; then it records the items' aggregate, which is
// what register keeps.
func (r *runner) runLoop(ctx context.Context, pr *playRun, t *Task, h *hostState, in inherit, scope *template.Scope, delegate string, start time.Time) map[string]any {
	items, err := r.loopItems(scope, t)
	if err != nil {
		return r.finish(h, t, in, outcomeErr(err), start, nil)
	}
	var tally loopTally
	for i, item := range items {
		if i > 0 && t.LoopMore.Pause > 0 {
			pause(ctx, t.LoopMore.Pause)
		}
		if ctx.Err() != nil {
			break
		}
		iscope := r.scope(pr, h, in, t, loopVars(t, items, i))
		r.collectSecrets(h, iscope, t.Args)
		label := item
		if t.LoopLabel != "" {
			if l, err := iscope.Render(t.LoopLabel); err == nil {
				label = l
			}
		}
		var out *tasks.Outcome
		ok, err := r.when(iscope, in, t)
		switch {
		case err != nil:
			out = outcomeErr(err)
		case !ok:
			out = &tasks.Outcome{Status: tasks.StatusSkipped, Result: skippedResult()}
		default:
			out = r.execute(ctx, pr, t, h, in, iscope, delegate)
		}
		for k, v := range loopResultVars(t, items, i) {
			out.Result[k] = v
		}
		r.rep.HostResult(r.hostResult(h, t, in, out, 0, &loopItem{label: label}, false))
		if out.Status == tasks.StatusChanged {
			r.notify(pr, h, t, iscope)
		}
		tally.add(out)
	}
	return r.finish(h, t, in, tally.outcome(len(items)), start, &loopItem{summary: true})
}

// loopTally adds up the items of a loop into the task's one result, as
// Ansible does: failed when an item failed (unreachable when the last
// item was), skipped when every item was, else changed when an item
// changed something.
type loopTally struct {
	results                []any
	changed, failed, acted bool // acted: an item was not skipped
	last                   *tasks.Outcome
}

func (lt *loopTally) add(out *tasks.Outcome) {
	switch out.Status {
	case tasks.StatusChanged:
		lt.changed, lt.acted = true, true
	case tasks.StatusOK:
		lt.acted = true
	case tasks.StatusFailed, tasks.StatusUnreachable:
		lt.failed, lt.acted = true, true
	}
	lt.results = append(lt.results, out.Result)
	lt.last = out
}

// outcome is the loop's aggregate outcome over n items.
func (lt *loopTally) outcome(n int) *tasks.Outcome {
	results := lt.results
	if results == nil {
		results = []any{}
	}
	res := map[string]any{"changed": lt.changed, "results": results, "msg": "All items completed"}
	agg := &tasks.Outcome{Status: tasks.StatusOK, Result: res}
	switch {
	case lt.failed:
		agg.Status = tasks.StatusFailed
		res["failed"] = true
		res["msg"] = "One or more items failed"
		if lt.last != nil && lt.last.Status == tasks.StatusUnreachable {
			agg.Status = tasks.StatusUnreachable
		}
	case n > 0 && !lt.acted:
		agg.Status = tasks.StatusSkipped
		res["skipped"] = true
	case lt.changed:
		agg.Status = tasks.StatusChanged
	}
	return agg
}

// loopItems renders the task's loop: a list; null or an empty string
// give no items. A with_ lookup runs over its rendered terms; with_items
// and with_list make a list of a lone value, as Ansible's listify does.
func (r *runner) loopItems(scope *template.Scope, t *Task) ([]any, error) {
	key := t.loopKey()
	v, err := scope.Template(t.Loop)
	if err != nil {
		return nil, t.keyError(key, "", err)
	}
	if lookup := lookupLoops[key]; lookup != nil {
		dir, _ := scope.Raw("playbook_dir")
		items, err := lookup(v, fmt.Sprint(dir))
		if err != nil {
			return nil, t.keyError(key, "", err)
		}
		return items, nil
	}
	switch x := v.(type) {
	case []any:
		return x, nil
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		if key != "loop" {
			return []any{x}, nil
		}
	}
	return nil, t.keyError(key, "", fmt.Errorf("want a list, got %T", v))
}

// loopKey is the keyword that gives t its loop, as written.
func (t *Task) loopKey() string {
	for _, k := range loopKeywords[1:] {
		if _, ok := t.KeyPos[k]; ok {
			return k
		}
	}
	return "loop"
}

// pause waits d between two items of a loop (loop_control.pause), or
// until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// skippedResult is what a task whose when is false registers.
func skippedResult() map[string]any {
	return map[string]any{"changed": false, "skipped": true, "skip_reason": "Conditional result was False"}
}

// interrupted marks a failed outcome as cut short by an interrupt, so
// that a rescue and the output say so ("interrupted"), not the transport
// error it surfaced as.
func interrupted(out *tasks.Outcome) *tasks.Outcome {
	if out.Status == tasks.StatusFailed {
		out.Result["msg"] = "interrupted"
		out.Result["interrupted"] = true
	}
	return out
}

// outcomeErr is the failed outcome of a task that could not run: a
// template, a condition or an argument was wrong.
func outcomeErr(err error) *tasks.Outcome {
	return &tasks.Outcome{Status: tasks.StatusFailed, Err: err, Result: map[string]any{"failed": true, "changed": false, "msg": err.Error()}}
}
