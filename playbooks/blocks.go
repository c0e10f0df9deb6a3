package playbooks

// Walking a list of tasks: blocks with their rescue and always sections
// (and the rescue an interrupt runs), what a block hands down to its tasks
// (inherit), the free strategy's one walk per host, and which tasks
// --tags, --skip-tags and --start-at-task select.

import (
	"context"
	"sync"
	"time"
)

// inherit is what a block hands down to its tasks.
type inherit struct {
	when              []string
	become            *bool
	becomeUser        string
	tags              []string
	vars              []map[string]any
	ignoreErrors      bool
	ignoreUnreachable bool
	noLog             bool
	checkMode, diff   *bool
	env               map[string]any
	delegateTo        string
	runOnce           bool
	rescued           bool // inside a block that has a rescue section
	handler           bool
	// roles are the roles the tasks are in, outermost first; params are
	// include_tasks' vars and loop item (above set_fact, as in Ansible).
	roles  []*Role
	params []map[string]any
}

// with is what block b hands down to its tasks: conditions and tags add up,
// keywords it sets replace the inherited ones.
func (in inherit) with(b *Task) inherit {
	out := in
	out.when = append(append([]string(nil), in.when...), b.When...)
	out.tags = append(append([]string(nil), in.tags...), b.Tags...)
	out.vars = append(append([]map[string]any(nil), in.vars...), b.Vars)
	if b.Become != nil {
		out.become = b.Become
	}
	if b.BecomeUser != "" {
		out.becomeUser = b.BecomeUser
	}
	out.ignoreErrors = in.ignoreErrors || b.IgnoreErrors
	out.ignoreUnreachable = in.ignoreUnreachable || b.IgnoreUnreachable
	out.noLog = in.noLog || b.NoLog
	if b.CheckMode != nil {
		out.checkMode = b.CheckMode
	}
	if b.Diff != nil {
		out.diff = b.Diff
	}
	if len(b.Environment) > 0 {
		out.env = mergeMaps(in.env, b.Environment)
	}
	if b.DelegateTo != "" {
		out.delegateTo = b.DelegateTo
	}
	out.runOnce = in.runOnce || b.RunOnce
	if b.Role != nil {
		out.roles = append(append([]*Role(nil), in.roles...), b.Role)
	}
	if len(b.Rescue) > 0 {
		out.rescued = true
	}
	return out
}

// active are the hosts still running the play: not failed, unreachable or
// ended (meta: end_host, end_play).
func active(hosts []*hostState) []*hostState {
	var out []*hostState
	for _, h := range hosts {
		if !h.isFailed() && !h.isUnreach() && !h.isEnded() {
			out = append(out, h)
		}
	}
	return out
}

// runSection runs one section of a play (pre_tasks, tasks, post_tasks) on
// the batch: task by task on every host (linear), or, with strategy: free,
// each host through the whole section on its own, forks at a time.
func (r *runner) runSection(ctx context.Context, pr *playRun, ts []*Task) {
	base := inherit{tags: pr.play.Tags, checkMode: pr.play.CheckMode, env: pr.play.Environment}
	if pr.play.Strategy != "free" {
		r.runList(ctx, pr, ts, pr.batch, base)
		return
	}
	sem := make(chan struct{}, r.opts.Forks)
	var wg sync.WaitGroup
	for _, h := range active(pr.batch) {
		wg.Add(1)
		sem <- struct{}{}
		go func(h *hostState) {
			defer wg.Done()
			defer func() { <-sem }()
			r.runList(ctx, pr, ts, []*hostState{h}, base)
		}(h)
	}
	wg.Wait()
}

// runList runs tasks in order on the hosts still active, until none is
// left or the play, the batch or the run stops.
func (r *runner) runList(ctx context.Context, pr *playRun, ts []*Task, hosts []*hostState, in inherit) {
	for _, t := range ts {
		hs := active(hosts)
		if len(hs) == 0 || pr.stopped() || ctx.Err() != nil {
			return
		}
		switch {
		case t.IsBlock():
			r.runBlock(ctx, pr, t, hs, in)
		case t.Include != nil:
			r.runInclude(ctx, pr, t, hs, in)
		default:
			r.runTaskAll(ctx, pr, t, hs, in)
		}
	}
}

// runBlock runs a block: its tasks, then its rescue on the hosts that
// failed in them (they count as rescued, not failed), then its always on
// every host, failed or not.
func (r *runner) runBlock(ctx context.Context, pr *playRun, b *Task, hosts []*hostState, in inherit) {
	bin := in.with(b)
	if hosts = r.roleHosts(pr, b, hosts, bin); len(hosts) == 0 {
		return
	}
	r.runList(ctx, pr, b.Block, hosts, bin)
	var failed []*hostState
	for _, h := range hosts {
		if h.isFailed() && !h.isUnreach() {
			failed = append(failed, h)
		}
	}
	rctx := ctx
	if ctx.Err() != nil && len(b.Rescue) > 0 {
		// Interrupted inside a block that can undo itself: every host
		// still in it (mid-task or between two) runs the rescue, with a
		// short grace of its own, so that it ends rolled back rather
		// than half-changed. A second interrupt ends the process.
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), rescueGrace)
		defer cancel()
		failed = failed[:0]
		for _, h := range hosts {
			if !h.isUnreach() {
				if !h.isFailed() {
					h.setFailed(true)
					h.stats.Failed++
				}
				failed = append(failed, h)
			}
		}
	}
	if len(b.Rescue) > 0 && len(failed) > 0 && rctx.Err() == nil {
		rin := in.with(b)
		rin.rescued = false
		for _, h := range failed {
			h.setFailed(false)
			h.stats.Failed--
			h.stats.Rescued++
		}
		r.runList(rctx, pr, b.Rescue, failed, rin)
	}
	if len(b.Always) > 0 && ctx.Err() == nil {
		var wasFailed []*hostState
		for _, h := range hosts {
			if h.isFailed() && !h.isUnreach() {
				wasFailed = append(wasFailed, h)
				h.setFailed(false)
			}
		}
		ain := in.with(b)
		ain.rescued = false
		r.runList(ctx, pr, b.Always, hosts, ain)
		for _, h := range wasFailed {
			h.setFailed(true)
		}
	}
}

// rescueGrace is how long the rescue of a block may take after an
// interrupt (the first Ctrl-C; the second one ends the process).
const rescueGrace = 15 * time.Second

// selected applies --tags, --skip-tags and --start-at-task.
func (r *runner) selected(t *Task, in inherit) bool {
	if !r.started {
		r.mu.Lock()
		if t.Name == r.opts.StartAtTask {
			r.started = true
		}
		started := r.started
		r.mu.Unlock()
		if !started {
			return false
		}
	}
	tags := append(append([]string(nil), in.tags...), t.Tags...)
	return TagsSelected(tags, r.opts.Tags, r.opts.SkipTags)
}

// TagsSelected applies -t/--tags (only) and --skip-tags (skip) to a task
// whose tags (its own and its blocks' and play's) are tags, as Ansible
// does: always runs unless skipped, never runs only when asked for by name,
// and the special tags all, tagged and untagged.
func TagsSelected(tags, only, skip []string) bool {
	has := func(want []string) bool {
		for _, a := range tags {
			for _, b := range want {
				if a == b {
					return true
				}
			}
		}
		return false
	}
	if len(skip) > 0 && has(skip) {
		return false
	}
	if len(only) > 0 {
		if has([]string{"always"}) {
			return true
		}
		for _, w := range only {
			if w == "all" && !has([]string{"never"}) {
				return true
			}
			if w == "tagged" && len(tags) > 0 {
				return true
			}
			if w == "untagged" && len(tags) == 0 {
				return true
			}
		}
		return has(only)
	}
	return !has([]string{"never"})
}

// roleHosts are the hosts a block runs on: for a role that runs once
// per play (roles:, dependencies), those it has not run on yet.
func (r *runner) roleHosts(pr *playRun, b *Task, hosts []*hostState, bin inherit) []*hostState {
	if b.Role == nil || b.Role.once == "" {
		return hosts
	}
	return pr.roleOnce(b.Role.once, hosts, r.anySelected(b.Block, bin.tags))
}

// anySelected reports whether --tags and --skip-tags select a task of ts,
// whose blocks hand down tags.
func (r *runner) anySelected(ts []*Task, tags []string) bool {
	for _, t := range ts {
		all := append(append([]string(nil), tags...), t.Tags...)
		if t.IsBlock() {
			if r.anySelected(t.Block, all) || r.anySelected(t.Rescue, all) || r.anySelected(t.Always, all) {
				return true
			}
			continue
		}
		if TagsSelected(all, r.opts.Tags, r.opts.SkipTags) {
			return true
		}
	}
	return false
}
