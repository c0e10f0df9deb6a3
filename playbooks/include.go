package playbooks

// Reading includes and imports as Ansible does: import_tasks and
// import_role are read when the playbook is loaded and become blocks (their
// when, tags and vars handed down to every task); include_tasks, the old
// include: and include_role are tasks that read their file on each host
// when reached (include_run.go). import_playbook brings another
// playbook's plays in.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/playbooks/template"
)

// includeKind is the include or import a task key names ("" for none):
// include_tasks (also for the old include:), import_tasks, include_role or
// import_role.
func includeKind(key string) string {
	switch strings.TrimPrefix(strings.TrimPrefix(key, "ansible.builtin."), "ansible.legacy.") {
	case "include_tasks", "include":
		return "include_tasks"
	case "import_tasks":
		return "import_tasks"
	case "include_role":
		return "include_role"
	case "import_role":
		return "import_role"
	}
	return ""
}

// includeKey records a task's include or import key: one per task, and no
// module beside it.
func (p *parser) includeKey(parts *taskParts, k, v *yaml.Node) {
	switch {
	case parts.incKey != nil:
		p.fail(k, "task has both %s and %s: give each its own task", parts.incKey.Value, k.Value)
	case parts.modKey != nil:
		p.fail(k, "task has both %s and the module %s: give each its own task", k.Value, parts.modKey.Value)
	default:
		parts.incKey, parts.incVal = k, v
	}
}

// includeArgs reads an include's or import's arguments: a name given as
// a string (the old include: may add k=v variables), or a mapping of
// which keys may be used; apply: is read onto a keywords-only task.
func (p *parser) includeArgs(k, v *yaml.Node, keys ...string) (args map[string]string, apply *yaml.Node) {
	args = map[string]string{}
	first := keys[0]
	switch v.Kind {
	case yaml.ScalarNode:
		args[first] = strings.TrimSpace(v.Value)
		return args, nil
	case yaml.MappingNode:
	default:
		p.fail(v, "%s: want a file name or a mapping, got %s", k.Value, kindName(v))
		return nil, nil
	}
	known := map[string]bool{}
	for _, x := range keys {
		known[x] = true
	}
	p.pairs(v, k.Value, func(kk, vv *yaml.Node) {
		switch {
		case kk.Value == "apply":
			apply = vv
		case known[kk.Value]:
			args[kk.Value] = p.str(vv, kk.Value)
		case kk.Value == "public" || kk.Value == "allow_duplicates" || kk.Value == "rolespec_validate":
			args[kk.Value] = fmt.Sprint(p.boolean(vv, kk.Value))
		default:
			p.fail(kk, "unknown argument %q of %s (known: %s)", kk.Value, k.Value, strings.Join(keys, ", "))
		}
	})
	if first == "file" && args["file"] == "" && args["_raw_params"] != "" {
		args["file"] = args["_raw_params"]
	}
	return args, apply
}

// includeTask finishes a task that includes or imports: an import
// becomes a block of the tasks it reads; an include keeps what to read on
// each host.
func (p *parser) includeTask(n *yaml.Node, t *Task, parts *taskParts) *Task {
	kind := includeKind(parts.incKey.Value)
	fileKeys := []string{"file", "_raw_params"}
	if strings.HasSuffix(kind, "_role") {
		fileKeys = []string{"name", "tasks_from", "vars_from", "defaults_from", "handlers_from"}
	}
	args, apply := p.includeArgs(parts.incKey, parts.incVal, fileKeys...)
	if parts.apply != nil {
		apply = parts.apply
	}
	if p.err != nil {
		return nil
	}
	if args[fileKeys[0]] == "" {
		p.fail(parts.incVal, "%s: no %s given", parts.incKey.Value, fileKeys[0])
		return nil
	}
	if kind == "include_tasks" && parts.incVal.Kind == yaml.ScalarNode {
		p.oldIncludeParams(t, parts.incVal, args)
	}
	if p.staticInclude(parts, args["file"]) {
		kind = "import_tasks"
	}
	if strings.HasPrefix(kind, "import_") {
		return p.importTask(t, parts, kind, args, apply)
	}
	t.Module = strings.TrimPrefix(strings.TrimPrefix(parts.incKey.Value, "ansible.builtin."), "ansible.legacy.")
	t.ModuleKey, t.ModulePos = parts.incKey.Value, p.pos(parts.incKey)
	inc := &Include{Kind: kind, File: args[fileKeys[0]], Dirs: p.includeDirs(), From: args, Public: args["public"] == "true"}
	if apply != nil {
		inc.Apply = &Task{Pos: p.pos(apply), KeyPos: map[string]Pos{}}
		p.pairs(apply, "apply", func(k, v *yaml.Node) { p.roleKeyword(inc.Apply, k, v) })
	}
	if kind == "include_role" && !template.IsTemplate(inc.File) {
		inc.Role = p.includedRole(parts.incVal, args)
	}
	t.Include = inc
	if parts.loop != nil && p.err == nil {
		p.taskLoop(t, parts.loop, parts.loopFrom)
	}
	if t.LoopVar == "" {
		t.LoopVar = "item"
	}
	if p.err != nil {
		return nil
	}
	return t
}

// includedRole reads include_role's role when the playbook is loaded.
func (p *parser) includedRole(at *yaml.Node, args map[string]string) *Task {
	ts := p.loadRole(roleUse{name: args["name"], at: at, from: args, private: args["public"] != "true"})
	if ts == nil {
		return nil
	}
	return &Task{Pos: p.pos(at), Block: ts}
}

// importTask reads import_tasks or import_role now, into a block that
// carries the task's keywords.
func (p *parser) importTask(t *Task, parts *taskParts, kind string, args map[string]string, apply *yaml.Node) *Task {
	switch {
	case parts.loop != nil:
		p.fail(parts.loop, "%s cannot loop (use %s)", parts.incKey.Value, strings.Replace(kind, "import_", "include_", 1))
		return nil
	case apply != nil:
		p.fail(apply, "apply is only valid on include_tasks and include_role")
		return nil
	case t.Register != "" || len(t.Notify) > 0:
		p.fail(parts.incKey, "%s: register and notify are not valid on an import", parts.incKey.Value)
		return nil
	}
	name := args[map[bool]string{true: "name", false: "file"}[kind == "import_role"]]
	if template.IsTemplate(name) {
		p.fail(parts.incVal, "%s: a templated name is not supported here (use %s)", parts.incKey.Value, strings.Replace(kind, "import_", "include_", 1))
		return nil
	}
	var ts []*Task
	if kind == "import_role" {
		before := len(p.load.handlers)
		ts = p.loadRole(roleUse{name: name, at: parts.incVal, from: args})
		p.handlersSee(before, t)
	} else {
		path, err := findIn(name, p.includeDirs())
		if err != nil {
			p.fail(parts.incVal, "import_tasks: %v", err)
			return nil
		}
		if p.load.depth > maxIncludeDepth {
			p.fail(parts.incVal, "import_tasks: %q imported too deep (does it import itself?)", name)
			return nil
		}
		ts = p.tasksFile(path, p.load.role, t.Handler)
	}
	if p.err != nil {
		return nil
	}
	if ts == nil {
		ts = []*Task{}
	}
	t.Block = ts
	p.load.imported[t] = true
	return t
}

// includeDirs are the folders a relative tasks file is looked for in: the
// including file's, the role's tasks/, the playbook's.
func (p *parser) includeDirs() []string {
	dirs := []string{filepath.Dir(p.file)}
	if p.load.role != nil {
		dirs = append(dirs, filepath.Join(p.load.role.Path, "tasks"))
	}
	if p.load.pbDir != "" && filepath.Clean(p.load.pbDir) != filepath.Clean(dirs[0]) {
		dirs = append(dirs, p.load.pbDir)
	}
	return dirs
}

// findIn is name (absolute, or in the first of dirs that has it), or an
// error naming where it was looked for.
func findIn(name string, dirs []string) (string, error) {
	if filepath.IsAbs(name) {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("%q not found", name)
		}
		return name, nil
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name), nil
		}
	}
	return "", fmt.Errorf("%q not found in %s", name, strings.Join(dirs, ", "))
}

// flattenHandlers lifts the tasks of import_tasks blocks among handlers
// into the list, each with the import's when and vars, so that each can be
// notified by its own name as in Ansible.
func (p *parser) flattenHandlers(hs []*Task) []*Task {
	var out []*Task
	for _, h := range hs {
		if !p.load.imported[h] {
			out = append(out, h)
			continue
		}
		for _, c := range p.flattenHandlers(h.Block) {
			c.When = append(append([]string(nil), h.When...), c.When...)
			if len(h.Vars) > 0 {
				c.Vars = mergeMaps(h.Vars, c.Vars)
			}
			c.Tags = append(append([]string(nil), h.Tags...), c.Tags...)
			out = append(out, c)
		}
	}
	return out
}

// handlersSee makes the handlers collected since the before'th see the
// variables of b (a roles: entry or an import_role task), as the role's
// tasks do.
func (p *parser) handlersSee(before int, b *Task) {
	if len(b.Vars) == 0 {
		return
	}
	for _, h := range p.load.handlers[before:] {
		h.parents = append([]*Task{{Vars: b.Vars}}, h.parents...)
	}
}

// oldIncludeParams reads the variables the old include: may give after
// the file name ("include: x.yml a=1 b=2") into the task's vars.
func (p *parser) oldIncludeParams(t *Task, v *yaml.Node, args map[string]string) {
	name, rest, ok := strings.Cut(args["file"], " ")
	if !ok || !strings.Contains(rest, "=") {
		return
	}
	kv, err := ParseKV(rest, nil)
	if err != nil {
		p.fail(v, "%s: %v", "include", err)
		return
	}
	args["file"] = name
	if t.Vars == nil {
		t.Vars = map[string]any{}
	}
	for k, x := range kv {
		if _, set := t.Vars[k]; !set {
			t.Vars[k] = x
		}
	}
}

// staticInclude reports whether an old include: is read when the
// playbook is loaded, as Ansible 2.14 decides: its file is no template, it
// has no loop, and it is not itself in a file included at run time.
func (p *parser) staticInclude(parts *taskParts, file string) bool {
	key := strings.TrimPrefix(strings.TrimPrefix(parts.incKey.Value, "ansible.builtin."), "ansible.legacy.")
	return key == "include" && !template.IsTemplate(file) && parts.loop == nil && !p.load.dynamic
}
