package playbooks

// Handlers: a task that changed something notifies them on its host (by
// name or listen topic); flushHandlers runs the notified ones at the end of
// each section and at meta: flush_handlers.

import (
	"context"

	"github.com/sshplay/sshplay/playbooks/template"
)

// notify marks the handlers a changed task names (by name or listen).
func (r *runner) notify(pr *playRun, h *hostState, t *Task, scope *template.Scope) {
	for _, n := range t.Notify {
		name, err := scope.Render(n)
		if err != nil {
			name = n
		}
		for _, hd := range notified(pr.play.Handlers, name) {
			h.mu.Lock()
			h.notified[hd] = true
			h.mu.Unlock()
		}
	}
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
			hin := inherit{handler: true}
			for _, b := range hd.parents {
				hin = hin.with(b)
			}
			switch {
			case hd.IsBlock():
				r.runBlock(ctx, pr, hd, targets, hin)
			case hd.Include != nil:
				r.runInclude(ctx, pr, hd, targets, hin)
			default:
				r.runTaskAll(ctx, pr, hd, targets, hin)
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

// notified are the handlers a notification names: as in Ansible, the last
// handler defined under that name (or "role : name"), and every handler
// listening to it.
func notified(hs []*Task, name string) []*Task {
	var out []*Task
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Name != "" && (hs[i].Name == name || hs[i].DisplayName() == name) {
			out = append(out, hs[i])
			break
		}
	}
	for _, hd := range hs {
		for _, l := range hd.Listen {
			if l == name && (len(out) == 0 || out[0] != hd) {
				out = append(out, hd)
				break
			}
		}
	}
	return out
}
