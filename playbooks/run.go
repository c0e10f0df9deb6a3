package playbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
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
}

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
	if len(b.Rescue) > 0 {
		out.rescued = true
	}
	return out
}

func active(hosts []*hostState) []*hostState {
	var out []*hostState
	for _, h := range hosts {
		if !h.isFailed() && !h.isUnreach() && !h.isEnded() {
			out = append(out, h)
		}
	}
	return out
}

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

func (pr *playRun) stopped() bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.abort || pr.endBatch
}

func (r *runner) runList(ctx context.Context, pr *playRun, ts []*Task, hosts []*hostState, in inherit) {
	for _, t := range ts {
		hs := active(hosts)
		if len(hs) == 0 || pr.stopped() || ctx.Err() != nil {
			return
		}
		if t.IsBlock() {
			r.runBlock(ctx, pr, t, hs, in)
			continue
		}
		r.runTaskAll(ctx, pr, t, hs, in)
	}
}

func (r *runner) runBlock(ctx context.Context, pr *playRun, b *Task, hosts []*hostState, in inherit) {
	bin := in.with(b)
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

func (r *runner) runTaskAll(ctx context.Context, pr *playRun, t *Task, hosts []*hostState, in inherit) {
	if !in.handler && !r.selected(t, in) {
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

func (r *runner) runMeta(ctx context.Context, pr *playRun, t *Task, hosts []*hostState, in inherit) {
	var run []*hostState
	for _, h := range hosts {
		scope := r.scope(pr, h, in, t, nil)
		ok, err := r.when(scope, in, t)
		if err != nil {
			r.finish(h, t, in, outcomeErr(err), time.Now(), nil)
			continue
		}
		if ok {
			run = append(run, h)
		} else {
			r.finish(h, t, in, &tasks.Outcome{Status: tasks.StatusSkipped, Result: skippedResult()}, time.Now(), nil)
		}
	}
	if len(run) == 0 {
		return
	}
	switch metaAction(t.Args) {
	case "flush_handlers":
		r.flushHandlers(ctx, pr, run)
	case "end_play":
		for _, h := range pr.batch {
			h.setEnded(true)
		}
		pr.mu.Lock()
		pr.abort = true
		pr.mu.Unlock()
	case "end_batch":
		pr.mu.Lock()
		pr.endBatch = true
		pr.mu.Unlock()
	case "end_host":
		for _, h := range run {
			h.setEnded(true)
		}
	case "clear_host_errors":
		for _, h := range pr.batch {
			if h.isFailed() && !h.isUnreach() {
				h.setFailed(false)
			}
		}
	}
}

func skippedResult() map[string]any {
	return map[string]any{"changed": false, "skipped": true, "skip_reason": "Conditional result was False"}
}

// rescueGrace is how long the rescue of a block may take after an
// interrupt (the first Ctrl-C; the second one ends the process).
const rescueGrace = 15 * time.Second

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

func outcomeErr(err error) *tasks.Outcome {
	return &tasks.Outcome{Status: tasks.StatusFailed, Err: err, Result: map[string]any{"failed": true, "changed": false, "msg": err.Error()}}
}

// flushHandlers runs the notified handlers, in definition order, on the
// hosts that notified them and have not failed since (all of them with
// --force-handlers). A handler may notify a later one.
func (r *runner) flushHandlers(ctx context.Context, pr *playRun, among ...[]*hostState) {
	hosts := pr.batch
	if len(among) > 0 {
		hosts = among[0]
	}
	force := r.opts.ForceHandlers || pr.play.ForceHandlers
	for pass := 0; pass < 10 && ctx.Err() == nil; pass++ {
		ran := false
		for _, hd := range pr.play.Handlers {
			var targets []*hostState
			for _, h := range hosts {
				h.mu.Lock()
				n := h.notified[hd]
				delete(h.notified, hd)
				h.mu.Unlock()
				if n && !h.isUnreach() && (force || !h.isFailed()) && !h.isEnded() {
					targets = append(targets, h)
				}
			}
			if len(targets) == 0 {
				continue
			}
			ran = true
			var failedBefore []*hostState
			if force {
				for _, h := range targets {
					if h.isFailed() {
						failedBefore = append(failedBefore, h)
						h.setFailed(false)
					}
				}
			}
			if hd.IsBlock() {
				r.runBlock(ctx, pr, hd, targets, inherit{handler: true})
			} else {
				r.runTaskAll(ctx, pr, hd, targets, inherit{handler: true})
			}
			for _, h := range failedBefore {
				h.setFailed(true)
			}
		}
		if !ran {
			return
		}
	}
}

// notify marks the handlers a changed task names (by name or listen).
func (r *runner) notify(pr *playRun, h *hostState, t *Task, scope *template.Scope) {
	for _, n := range t.Notify {
		name, err := scope.Render(n)
		if err != nil {
			name = n
		}
		for _, hd := range pr.play.Handlers {
			match := hd.Name == name
			for _, l := range hd.Listen {
				match = match || l == name
			}
			if match {
				h.mu.Lock()
				h.notified[hd] = true
				h.mu.Unlock()
			}
		}
	}
}

// scope builds the variables a task sees on a host, in Ansible's order of
// precedence (later wins).
func (r *runner) scope(pr *playRun, h *hostState, in inherit, t *Task, loopVars map[string]any) *template.Scope {
	raw := map[string]any{}
	for k, v := range r.opts.Inventory.HostVars(h.name) {
		raw[k] = v
	}
	for k, v := range r.magic(pr, h) {
		raw[k] = v
	}
	for _, m := range []map[string]any{pr.play.Vars, pr.varsFiles} {
		for k, v := range m {
			raw[k] = v
		}
	}
	for _, m := range in.vars {
		for k, v := range m {
			raw[k] = v
		}
	}
	if t != nil {
		for k, v := range t.Vars {
			raw[k] = v
		}
	}
	h.mu.Lock()
	for k, v := range h.facts {
		raw[k] = v
	}
	h.mu.Unlock()
	for k, v := range r.opts.ExtraVars {
		raw[k] = v
	}
	for k, v := range loopVars {
		raw[k] = v
	}
	return r.tpl.Scope(raw)
}

func (r *runner) magic(pr *playRun, h *hostState) map[string]any {
	batch := make([]any, 0, len(pr.batch))
	for _, b := range pr.batch {
		batch = append(batch, b.name)
	}
	play := make([]any, 0, len(pr.hosts))
	for _, n := range pr.hosts {
		if hs := r.host(n); !hs.isFailed() && !hs.isUnreach() {
			play = append(play, n)
		}
	}
	allHosts := make([]any, 0, len(pr.hosts))
	for _, n := range pr.hosts {
		allHosts = append(allHosts, n)
	}
	groups := map[string]any{}
	for g, hs := range r.groups {
		l := make([]any, len(hs))
		for i, x := range hs {
			l[i] = x
		}
		groups[g] = l
	}
	hostvars := map[string]any{}
	for _, hs := range r.groups["all"] {
		name := hs
		hostvars[name] = template.NewLazyVars(func() *template.Scope { return r.hostvarsScope(pr, name) })
	}
	for _, name := range pr.hosts {
		if _, ok := hostvars[name]; !ok {
			name := name
			hostvars[name] = template.NewLazyVars(func() *template.Scope { return r.hostvarsScope(pr, name) })
		}
	}
	return map[string]any{
		"inventory_hostname":       h.name,
		"inventory_hostname_short": strings.SplitN(h.name, ".", 2)[0],
		"groups":                   groups,
		"hostvars":                 hostvars,
		"ansible_check_mode":       r.opts.Check,
		"sshplay_run_started":      r.runStarted,
		"ansible_diff_mode":        r.opts.Diff,
		"playbook_dir":             pr.pb.Dir,
		"ansible_play_hosts":       play,
		"ansible_play_hosts_all":   allHosts,
		"ansible_play_batch":       batch,
		"ansible_play_name":        pr.play.Name,
		"omit":                     template.Omit,
	}
}

// hostvarsScope is another host's variables as hostvars shows them:
// inventory, play vars, facts and registered results, extra vars.
func (r *runner) hostvarsScope(pr *playRun, name string) *template.Scope {
	raw := map[string]any{}
	for k, v := range r.opts.Inventory.HostVars(name) {
		raw[k] = v
	}
	raw["inventory_hostname"] = name
	raw["groups"] = nil
	for _, m := range []map[string]any{pr.play.Vars, pr.varsFiles} {
		for k, v := range m {
			raw[k] = v
		}
	}
	r.mu.Lock()
	h := r.hosts[name]
	r.mu.Unlock()
	if h != nil {
		h.mu.Lock()
		for k, v := range h.facts {
			raw[k] = v
		}
		h.mu.Unlock()
	}
	for k, v := range r.opts.ExtraVars {
		raw[k] = v
	}
	delete(raw, "groups")
	return r.tpl.Scope(raw)
}

func (r *runner) when(scope *template.Scope, in inherit, t *Task) (bool, error) {
	for _, c := range append(append([]string(nil), in.when...), t.When...) {
		ok, err := scope.Cond(c)
		if err != nil {
			return false, fmt.Errorf("when %q: %w", c, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
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

func (r *runner) runLoop(ctx context.Context, pr *playRun, t *Task, h *hostState, in inherit, scope *template.Scope, delegate string, start time.Time) map[string]any {
	items, err := r.loopItems(scope, t)
	if err != nil {
		return r.finish(h, t, in, outcomeErr(err), start, nil)
	}
	var results []any
	anyChanged, anyFailed, allSkipped := false, false, true
	var last *tasks.Outcome
	for i, item := range items {
		if ctx.Err() != nil {
			break
		}
		iscope := r.scope(pr, h, in, t, map[string]any{t.LoopVar: template.Literal{V: item}, "ansible_loop": template.Literal{V: map[string]any{"index": i + 1, "index0": i, "first": i == 0, "last": i == len(items)-1, "length": len(items)}}})
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
		out.Result[t.LoopVar] = item
		out.Result["ansible_loop_var"] = t.LoopVar
		r.rep.HostResult(r.hostResult(h, t, in, out, 0, &loopItem{label: label}, false))
		switch out.Status {
		case tasks.StatusChanged:
			anyChanged = true
			allSkipped = false
			r.notify(pr, h, t, iscope)
		case tasks.StatusOK:
			allSkipped = false
		case tasks.StatusFailed, tasks.StatusUnreachable:
			anyFailed = true
			allSkipped = false
		}
		results = append(results, out.Result)
		last = out
	}
	if results == nil {
		results = []any{}
	}
	res := map[string]any{"changed": anyChanged, "results": results, "msg": "All items completed"}
	agg := &tasks.Outcome{Status: tasks.StatusOK, Result: res}
	switch {
	case anyFailed:
		agg.Status = tasks.StatusFailed
		res["failed"] = true
		res["msg"] = "One or more items failed"
		if last != nil && last.Status == tasks.StatusUnreachable {
			agg.Status = tasks.StatusUnreachable
		}
	case len(items) > 0 && allSkipped:
		agg.Status = tasks.StatusSkipped
		res["skipped"] = true
	case anyChanged:
		agg.Status = tasks.StatusChanged
	}
	return r.finish(h, t, in, agg, start, &loopItem{summary: true})
}

func (r *runner) loopItems(scope *template.Scope, t *Task) ([]any, error) {
	v, err := scope.Template(t.Loop)
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
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
	}
	return nil, fmt.Errorf("loop: want a list, got %T", v)
}

// execute renders the arguments, builds the Env and runs the module through
// tasks.Execute, then applies until/retries, changed_when and failed_when.
func (r *runner) execute(ctx context.Context, pr *playRun, t *Task, h *hostState, in inherit, scope *template.Scope, delegate string) *tasks.Outcome {
	mod, ok := tasks.Lookup(t.Module)
	if !ok {
		return outcomeErr(fmt.Errorf("module %q is not available", t.Module))
	}
	args, err := r.renderArgs(t, scope)
	if err != nil {
		return outcomeErr(err)
	}
	vars := scope.All()
	b := r.become(vars, pr.play, in, t)
	var conn transport.Conn
	overlay := h.overlay
	if delegate == "" {
		conn = h.conn // runTask waited for it (waitConn)
	} else {
		conn = r.opts.Local
		overlay = nil
		if r.opts.Check {
			overlay = r.localOverlay()
		}
	}
	if conn == nil {
		return outcomeErr(fmt.Errorf("host %s: no connection", h.name))
	}
	if r.opts.Verbose >= 3 && r.opts.Trace != nil {
		conn = transport.TracedWith(conn, r.opts.Trace, transport.TraceOptions{Mask: r.maskFunc(h), NoLog: in.noLog || t.NoLog})
	}
	conn = conn.Become(b)
	env := mergeMaps(in.env, t.Environment)
	if len(env) > 0 {
		renv, err := scope.Template(env)
		if err != nil {
			return outcomeErr(fmt.Errorf("environment: %w", err))
		}
		conn = &envConn{Conn: conn, env: renv.(map[string]any)}
	}
	diff, _ := r.diffFor(in, t)
	render := scope.Render
	if t.Module == "template" {
		// The template module's file is rendered with trim_blocks, as
		// Ansible does; its arguments were rendered above without.
		render = scope.RenderFile
	}
	tenv := &tasks.Env{
		Host:     h.name,
		Conn:     conn,
		Local:    r.opts.Local,
		Vars:     vars,
		Render:   render,
		FindFile: func(kind, name string) (string, error) { return r.findFile(pr.pb, kind, name) },
		Diff:     diff,
	}
	eo := tasks.ExecOptions{Check: r.opts.Check, Overlay: overlay}
	cm := in.checkMode
	if t.CheckMode != nil {
		cm = t.CheckMode
	}
	if cm != nil {
		if *cm {
			eo.Check = true
		} else if r.opts.Check {
			eo.ForceApply = true
		}
	}
	attempts := 1
	if len(t.Until) > 0 {
		attempts = t.Retries
		if attempts == 0 {
			attempts = 3
		}
		attempts++
	}
	var out *tasks.Outcome
	for a := 1; a <= attempts; a++ {
		out = r.executeOnce(ctx, t, mod, tenv, args, eo)
		if out.Result == nil {
			out.Result = map[string]any{}
		}
		addLines(out.Result)
		if facts, ok := out.Result["ansible_facts"].(map[string]any); ok && out.Status != tasks.StatusFailed {
			h.mu.Lock()
			for k, v := range facts {
				h.facts[k] = template.Literal{V: v}
			}
			h.mu.Unlock()
		}
		r.overrides(t, scope, out)
		if len(t.Until) == 0 || out.WouldRun || out.Status == tasks.StatusSkipped {
			// A command skipped in check mode has no result to test.
			break
		}
		out.Result["attempts"] = a
		s := r.withResult(scope, t, out.Result)
		done := true
		for _, c := range t.Until {
			ok, err := s.Cond(c)
			if err != nil {
				return outcomeErr(fmt.Errorf("until %q: %w", c, err))
			}
			done = done && ok
		}
		if done {
			break
		}
		if a == attempts {
			out.Status = tasks.StatusFailed
			out.Result["failed"] = true
			if _, ok := out.Result["msg"]; !ok {
				out.Result["msg"] = fmt.Sprintf("condition not met after %d attempts", attempts)
			}
			break
		}
		select {
		case <-ctx.Done():
			return outcomeErr(ctx.Err())
		case <-time.After(time.Duration(t.Delay) * time.Second):
		}
	}
	return out
}

// diffFor is the diff mode of a task: --diff, overridden by the diff
// keyword of its blocks and itself; explicit says a keyword decided.
func (r *runner) diffFor(in inherit, t *Task) (diff, explicit bool) {
	diff = r.opts.Diff
	if in.diff != nil {
		diff, explicit = *in.diff, true
	}
	if t != nil && t.Diff != nil {
		diff, explicit = *t.Diff, true
	}
	return diff, explicit
}

// withResult is the scope with the task's registered name bound to its
// result (changed_when and failed_when read it, as in Ansible).
func (r *runner) withResult(scope *template.Scope, t *Task, res map[string]any) *template.Scope {
	raw := map[string]any{}
	for _, n := range scope.Names() {
		v, _ := scope.Raw(n)
		raw[n] = v
	}
	if t.Register != "" {
		raw[t.Register] = template.Literal{V: res}
	}
	for k, v := range res {
		if _, ok := raw[k]; !ok {
			raw[k] = template.Literal{V: v}
		}
	}
	return r.tpl.Scope(raw)
}

func (r *runner) overrides(t *Task, scope *template.Scope, out *tasks.Outcome) {
	if len(t.ChangedWhen) == 0 && len(t.FailedWhen) == 0 {
		return
	}
	if out.Status == tasks.StatusUnreachable || out.WouldRun {
		return
	}
	s := r.withResult(scope, t, out.Result)
	if len(t.ChangedWhen) > 0 && out.Status != tasks.StatusFailed {
		changed := true
		for _, c := range t.ChangedWhen {
			ok, err := s.Cond(c)
			if err != nil {
				*out = *outcomeErr(fmt.Errorf("changed_when %q: %w", c, err))
				return
			}
			changed = changed && ok
		}
		out.Result["changed"] = changed
		if changed {
			out.Status = tasks.StatusChanged
		} else if out.Status == tasks.StatusChanged {
			out.Status = tasks.StatusOK
		}
	}
	if len(t.FailedWhen) > 0 {
		failed := true
		for _, c := range t.FailedWhen {
			ok, err := s.Cond(c)
			if err != nil {
				*out = *outcomeErr(fmt.Errorf("failed_when %q: %w", c, err))
				return
			}
			failed = failed && ok
		}
		out.Result["failed"] = failed
		out.Result["failed_when_result"] = failed
		switch {
		case failed && out.Status != tasks.StatusFailed:
			out.Status = tasks.StatusFailed
			if _, ok := out.Result["msg"]; !ok {
				out.Result["msg"] = "failed_when condition is true"
			}
			out.Err = errors.New(fmt.Sprint(out.Result["msg"]))
		case !failed && out.Status == tasks.StatusFailed:
			out.Err = nil
			out.Status = tasks.StatusOK
			if ParseBoolAny(out.Result["changed"]) {
				out.Status = tasks.StatusChanged
			}
		}
	}
}

// ParseBoolAny is template.ParseBool for values of any type.
func ParseBoolAny(v any) bool { return template.ParseBool(v) }

func addLines(res map[string]any) {
	for _, k := range []string{"stdout", "stderr"} {
		if s, ok := res[k].(string); ok {
			if _, has := res[k+"_lines"]; !has {
				lines := []any{}
				for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
					if s != "" {
						lines = append(lines, l)
					}
				}
				res[k+"_lines"] = lines
			}
		}
	}
}

// rawArgs are arguments passed to a module unrendered: they are bare
// expressions the module evaluates itself.
var rawArgs = map[string]map[string]bool{"assert": {"that": true}, "debug": {"var": true}}

func (r *runner) renderArgs(t *Task, scope *template.Scope) (map[string]any, error) {
	out := make(map[string]any, len(t.Args))
	for k, v := range t.Args {
		if rawArgs[t.Module][k] {
			out[k] = v
			continue
		}
		rv, err := scope.Template(v)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", k, err)
		}
		if rv == template.Omit {
			continue
		}
		out[k] = rv
	}
	return out, nil
}

// become decides the task's privilege escalation: -b/--become-user are
// defaults, inventory variables (ansible_become, ansible_become_user, or
// their sshplay_ aliases) override them, and play, block and task keywords
// override those (unlike Ansible, where connection variables beat
// keywords: a task saying become_user: postgres runs as postgres).
func (r *runner) become(vars map[string]any, play *Play, in inherit, t *Task) transport.Become {
	on := r.opts.BecomeDefault
	user := r.opts.BecomeUser
	for _, k := range []string{"ansible_become", "sshplay_become"} {
		if v, ok := vars[k]; ok && v != nil && v != "" {
			on = template.ParseBool(v)
		}
	}
	for _, k := range []string{"ansible_become_user", "sshplay_become_user"} {
		if v, ok := vars[k].(string); ok && v != "" {
			user = v
		}
	}
	for _, s := range []struct {
		b *bool
		u string
	}{{play.Become, play.BecomeUser}, {in.become, in.becomeUser}, {t.Become, t.BecomeUser}} {
		if s.b != nil {
			on = *s.b
		}
		if s.u != "" {
			user = s.u
		}
	}
	bv := mergeMaps(vars, map[string]any{"ansible_become": on, "ansible_become_user": user,
		"sshplay_become": on, "sshplay_become_user": user})
	if r.opts.Become != nil {
		return r.opts.Become(bv)
	}
	if !on {
		return transport.Become{}
	}
	pw, _ := vars["ansible_become_password"].(string)
	if pw == "" {
		pw, _ = vars["ansible_become_pass"].(string)
	}
	return transport.Become{Enabled: on, User: user, Password: pw}
}

var (
	localOv     *overlay.Overlay
	localOvOnce sync.Once
)

func (r *runner) localOverlay() *overlay.Overlay {
	localOvOnce.Do(func() { localOv = overlay.NewOverlay() })
	return localOv
}

// findFile resolves a relative src as Ansible does: the playbook's KIND/
// folder, then the playbook's own folder. For an embedded playbook the file
// is copied out of the embedded FS into a private temporary file.
func (r *runner) findFile(pb *Playbook, kind, name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	cands := []string{filepath.Join(kind, name), name}
	for _, c := range cands {
		if pb.FS != nil {
			p := filepath.ToSlash(filepath.Join(pb.Dir, c))
			data, err := fsReadFile(pb.FS, p)
			if err != nil {
				continue
			}
			return embeddedTemp(p, data)
		}
		p := filepath.Join(pb.Dir, c)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("could not find %q in %s/%s or %s", name, pb.Dir, kind, pb.Dir)
}

// envConn runs commands with extra environment variables (environment:).
type envConn struct {
	transport.Conn
	env map[string]any
}

var _ transport.Conn = (*envConn)(nil)

func (c *envConn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	var b strings.Builder
	for _, k := range sortedKeys(c.env) {
		if !reIdent.MatchString(k) {
			return nil, fmt.Errorf("host %s: environment: %q is not a valid variable name", c.Host(), k)
		}
		fmt.Fprintf(&b, "export %s=%s; ", k, shellescape.Quote(fmt.Sprint(c.env[k])))
	}
	return c.Conn.Run(ctx, b.String()+cmd, opts)
}

func (c *envConn) Become(b transport.Become) transport.Conn {
	return &envConn{Conn: c.Conn.Become(b), env: c.env}
}
