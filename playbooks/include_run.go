package playbooks

// Running include_tasks and include_role: on each host, when it holds,
// once per item of its loop, the file (or role) name is rendered and read;
// hosts that include the same file with the same variables run its tasks
// together, as Ansible's linear strategy does.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/vault"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

// included is one file (or role) included, with the variables it is
// included with, and the hosts that include it so.
type included struct {
	file   string
	params map[string]any
	label  any // the loop item, nil without a loop
	hosts  []*hostState
}

// runInclude runs an include on the hosts: "included: FILE for HOSTS"
// (ok on each host), then the included tasks, file by file in the order
// the hosts reached them.
func (r *runner) runInclude(ctx context.Context, pr *playRun, t *Task, hosts []*hostState, in inherit) {
	if !in.handler && !r.selected(t, in) {
		return
	}
	r.rep.TaskStart(t, in.handler)
	var incs []*included
	byKey := map[string]*included{}
	for _, h := range hosts {
		for _, inc := range r.includesOn(pr, t, h, in) {
			key := inc.file + "\x00" + paramsKey(plainParams(inc.params))
			if prev, ok := byKey[key]; ok {
				prev.hosts = append(prev.hosts, h)
				continue
			}
			inc.hosts = []*hostState{h}
			byKey[key] = inc
			incs = append(incs, inc)
		}
	}
	for _, inc := range incs {
		if t.Include.Kind == "include_role" {
			break // Ansible shows no line for an included role
		}
		r.rep.Note(includedLine(inc))
		for _, h := range inc.hosts {
			h.stats.OK++
		}
	}
	for _, inc := range incs {
		if ctx.Err() != nil || pr.stopped() {
			return
		}
		ts, err := r.readIncluded(pr, t, inc.file)
		if err != nil {
			for _, h := range active(inc.hosts) {
				r.hostFailed(h, t, err)
			}
			continue
		}
		sub := in
		sub.params = append(append([]map[string]any(nil), in.params...), inc.params)
		if t.Include.Apply != nil {
			sub = sub.with(t.Include.Apply)
		}
		r.runList(ctx, pr, ts, inc.hosts, sub)
	}
}

// includedLine is Ansible's line for an include.
func includedLine(inc *included) string {
	names := make([]string, len(inc.hosts))
	for i, h := range inc.hosts {
		names[i] = h.name
	}
	line := fmt.Sprintf("included: %s for %s", inc.file, strings.Join(names, ", "))
	if inc.label != nil {
		line += fmt.Sprintf(" => (item=%v)", inc.label)
	}
	return line
}

// plainParams unwraps literals, for comparing two includes' variables.
func plainParams(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = unwrapLiteral(v)
	}
	return out
}

// includesOn is what an include includes on one host: nothing when its
// when is false (reported skipped), one file per item of its loop, or an
// error reported as the host's failure.
func (r *runner) includesOn(pr *playRun, t *Task, h *hostState, in inherit) []*included {
	start := time.Now()
	scope := r.scope(pr, h, in, t, nil)
	if !t.HasLoop {
		inc, skip, err := r.includeOne(pr, t, h, in, scope, nil)
		return r.includeOutcome(h, t, in, start, inc, skip, err)
	}
	items, err := r.loopItems(scope, t)
	if err != nil {
		return r.includeOutcome(h, t, in, start, nil, false, err)
	}
	var out []*included
	for i := range items {
		lv := loopVars(t, items, i)
		inc, skip, err := r.includeOne(pr, t, h, in, r.scope(pr, h, in, t, lv), lv)
		if err != nil || skip {
			r.includeOutcome(h, t, in, start, nil, skip, err)
			continue
		}
		inc.label = items[i]
		out = append(out, inc)
	}
	return out
}

// includeOutcome reports a skipped or failed include on a host, or
// passes an included file on.
func (r *runner) includeOutcome(h *hostState, t *Task, in inherit, start time.Time, inc *included, skip bool, err error) []*included {
	switch {
	case err != nil:
		r.finish(h, t, in, outcomeErr(err), start, nil)
	case skip:
		r.finish(h, t, in, &tasks.Outcome{Status: tasks.StatusSkipped, Result: skippedResult()}, start, nil)
	case inc != nil:
		return []*included{inc}
	}
	return nil
}

// includeOne renders one include on a host: its when, its file (found
// in the include's folders) and its variables, rendered now with the
// item, as Ansible does.
func (r *runner) includeOne(pr *playRun, t *Task, h *hostState, in inherit, scope *template.Scope, lv map[string]any) (*included, bool, error) {
	ok, err := r.when(scope, in, t)
	if err != nil || !ok {
		return nil, !ok && err == nil, err
	}
	name, err := scope.Render(t.Include.File)
	if err != nil {
		return nil, false, t.keyError(t.ModuleKey, "", err)
	}
	params := map[string]any{}
	for k, v := range t.Vars {
		rv, err := scope.Template(v)
		if err != nil {
			return nil, false, t.keyError("vars", "", err)
		}
		params[k] = template.Literal{V: rv}
	}
	for k, v := range lv {
		params[k] = v
	}
	file := strings.TrimSpace(name)
	if t.Include.Kind == "include_tasks" {
		if file, err = findIn(file, t.Include.Dirs); err != nil {
			return nil, false, fmt.Errorf("%s: %s: %w", t.Pos, t.ModuleKey, err)
		}
		if abs, err := filepath.Abs(file); err == nil {
			file = abs
		}
	}
	return &included{file: file, params: params}, false, nil
}

// readIncluded reads an included tasks file, or include_role's role
// (read at load when its name is no template); errors name the file and
// line.
func (r *runner) readIncluded(pr *playRun, t *Task, file string) ([]*Task, error) {
	if t.Include.Kind == "include_role" && t.Include.Role != nil {
		return []*Task{t.Include.Role}, nil
	}
	p := &parser{ctx: vault.NewContext(context.Background(), r.opts.Vault), mods: r.opts.Modules, file: pr.pb.Path, tpl: template.New(),
		walked: map[*yaml.Node]bool{}, load: newLoadState(pr.pb.Path, LoadOptions{RolesPath: r.opts.RolesPath})}
	p.load.pbDir, p.load.dynamic = pr.pb.Dir, true
	if pr.play.Dir != "" {
		p.load.pbDir = pr.play.Dir
	}
	var ts []*Task
	if t.Include.Kind == "include_role" {
		from := t.Include.From
		ts = p.loadRole(roleUse{name: file, at: &yaml.Node{Line: t.Line, Column: t.Col}, from: from})
	} else {
		ts = p.tasksFile(file, nil, t.Handler)
		// Tasks a role includes are shown under the role's name, as
		// Ansible shows them ("TASK [motd : debug]").
		for _, it := range allTasks(ts) {
			if it.RoleName == "" {
				it.RoleName = t.RoleName
			}
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return ts, nil
}

// roleFindFile resolves a relative src for a task in roles: the
// innermost role's KIND/ folder, then its tasks/ and own folder, then the
// play's folder, as Ansible does; else the playbook's (findFile).
func (r *runner) roleFindFile(pr *playRun, in inherit, kind, name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	var dirs []string
	for i := len(in.roles) - 1; i >= 0; i-- {
		p := in.roles[i].Path
		dirs = append(dirs, filepath.Join(p, kind), filepath.Join(p, "tasks"), p)
	}
	if pr.play.Dir != "" {
		dirs = append(dirs, filepath.Join(pr.play.Dir, kind), pr.play.Dir)
	}
	if f, err := findIn(name, dirs); err == nil {
		return f, nil
	}
	return r.findFile(pr.pb, kind, name)
}
