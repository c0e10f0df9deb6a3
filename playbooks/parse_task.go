package playbooks

// Reading a task, a handler or a block: its keywords, its module (one per
// task, known to the parse's registry) and arguments (checked by the module
// when it can), its loop; a block's sections.

import (
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

// taskKeys are the keys a task may have besides its module.
var taskKeys = []string{"name", "args", "when", "register", "notify", "become", "become_user", "become_method", "loop",
	"loop_control", "with_items", "with_list", "with_dict", "with_together", "with_nested", "with_sequence",
	"with_fileglob", "with_first_found", "local_action", "async", "poll", "changed_when", "failed_when", "ignore_errors",
	"ignore_unreachable", "no_log", "tags", "delegate_to", "delegate_facts", "run_once", "check_mode", "diff", "vars",
	"environment", "until", "retries", "delay", "block", "rescue", "always", "listen"}

// blockKeys are the keys a block may have.
var blockKeys = map[string]bool{"name": true, "when": true, "become": true, "become_user": true, "become_method": true,
	"tags": true, "vars": true, "ignore_errors": true, "ignore_unreachable": true, "no_log": true,
	"check_mode": true, "diff": true, "environment": true, "delegate_to": true, "run_once": true,
	"block": true, "rescue": true, "always": true}

// CanonicalModule strips Ansible's collection prefixes.
func CanonicalModule(name string) string {
	for _, p := range []string{"ansible.builtin.", "ansible.legacy.", "ansible.posix.", "community.general.", "community.postgresql."} {
		if strings.HasPrefix(name, p) {
			return strings.TrimPrefix(name, p)
		}
	}
	return name
}

// lookupModule reports whether name, with or without its collection
// prefix, is a module of the parse's registry.
func (p *parser) lookupModule(name string) bool {
	if _, ok := p.mods.Lookup(CanonicalModule(name)); ok {
		return true
	}
	_, ok := p.mods.Lookup(name)
	return ok
}

// taskList reads a list of tasks (a section, a block's block, rescue or
// always); null is an empty list.
func (p *parser) taskList(n *yaml.Node, what string, handlers bool) []*Task {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "%s must be a list of tasks, got %s", what, kindName(n))
		return nil
	}
	var out []*Task
	for _, e := range n.Content {
		if p.stopped() {
			return nil
		}
		t := p.task(resolveAlias(e), handlers)
		if p.err != nil {
			return nil
		}
		out = append(out, t)
	}
	return out
}

// taskParts are the keys of a task that are read once all its keys have
// been seen: its module, args: and its loop.
type taskParts struct {
	isBlock                 bool
	modKey, modVal, argsVal *yaml.Node
	loop                    *yaml.Node
	loopFrom                string // loop, with_items or with_list
	// incKey and incVal are an include or import (include.go), apply its
	// apply: keyword.
	incKey, incVal, apply *yaml.Node
}

// task reads a task, a handler (handler true) or a block. Its keys are
// read in order (keywords, block sections, the module); then a block's
// keys are checked, or a task's module, arguments and loop are read.
func (p *parser) task(n *yaml.Node, handler bool) *Task {
	t := &Task{Pos: p.pos(n), Handler: handler}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "a task must be a mapping, got %s", kindName(n))
		return nil
	}
	// Known before the keys are read: a block's keys are judged as a
	// block's, so that errors can say what is wrong.
	parts := &taskParts{isBlock: hasKey(n, "block")}
	t.KeyPos = map[string]Pos{}
	p.pairs(n, "task", func(k, v *yaml.Node) {
		t.KeyPos[k.Value] = p.pos(v)
		p.taskKey(t, parts, k, v)
	})
	switch {
	case p.err != nil:
		return nil
	case parts.isBlock && parts.incKey != nil:
		p.fail(parts.incKey, "%s is not valid on a block", parts.incKey.Value)
		return nil
	case parts.isBlock:
		return p.block(n, t)
	case parts.incKey != nil:
		return p.includeTask(n, t, parts)
	}
	return p.moduleTask(n, t, parts)
}

// hasKey reports whether the mapping n has key.
func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// taskKey reads one key of a task: a keyword, a block section, or else
// the task's module.
func (p *parser) taskKey(t *Task, parts *taskParts, k, v *yaml.Node) {
	if p.taskKeyword(t, k, v) || p.runKeyword(t, k, v) {
		return
	}
	switch k.Value {
	case "args":
		parts.argsVal = v
	case "local_action":
		p.localAction(t, parts, k, v)
	case "async", "poll":
		p.asyncKeyword(t, k, v)
	case "loop", "with_items", "with_list", "with_dict", "with_together", "with_nested", "with_sequence",
		"with_fileglob", "with_first_found":
		if parts.loop != nil {
			p.fail(k, "%s: a task has one loop, already given by %s", k.Value, parts.loopFrom)
			return
		}
		parts.loop, parts.loopFrom = v, k.Value
	case "block", "rescue", "always":
		p.blockSection(t, k.Value, v)
	case "apply":
		parts.apply = v
	case "listen":
		if !t.Handler {
			p.fail(k, "listen is only valid on handlers")
			return
		}
		t.Listen = p.strList(v, "listen")
	default:
		if includeKind(k.Value) != "" {
			p.includeKey(parts, k, v)
			return
		}
		p.taskModule(parts, k, v)
	}
}

// taskKeyword reads a keyword that says what a task is called, when it
// runs, when it is done and what it leaves behind; it reports whether k
// is one.
func (p *parser) taskKeyword(t *Task, k, v *yaml.Node) bool {
	switch k.Value {
	case "name":
		t.Name = p.str(v, "name")
	case "when":
		t.When = p.exprList(v, "when")
	case "register":
		t.Register = p.str(v, "register")
		if !reIdent.MatchString(t.Register) {
			p.fail(v, "register: %q is not a valid variable name", t.Register)
		}
	case "notify":
		t.Notify = p.strList(v, "notify")
	case "tags":
		t.Tags = p.strList(v, "tags")
	case "vars":
		t.Vars = p.mapping(v, "vars")
	case "loop_control":
		p.loopControl(t, v)
	case "changed_when":
		t.ChangedWhen = p.exprList(v, "changed_when")
	case "failed_when":
		t.FailedWhen = p.exprList(v, "failed_when")
	case "until":
		t.Until = p.exprList(v, "until")
	case "retries":
		t.Retries = p.integer(v, "retries")
	case "delay":
		t.Delay = p.integer(v, "delay")
	default:
		return false
	}
	return true
}

// runKeyword reads a keyword that says how and where a task runs: become,
// delegation, check and diff mode, the errors it may ignore, what it may
// print, its environment; it reports whether k is one.
func (p *parser) runKeyword(t *Task, k, v *yaml.Node) bool {
	switch k.Value {
	case "become":
		t.Become = p.boolPtr(v, "become")
	case "become_user":
		t.BecomeUser = p.str(v, "become_user")
	case "become_method":
		p.becomeMethod(v)
	case "delegate_to":
		t.DelegateTo = p.str(v, "delegate_to")
		if strings.TrimSpace(t.DelegateTo) == "" {
			p.fail(v, "delegate_to: want a host name")
		}
	case "delegate_facts":
		t.DelegateFacts = p.boolean(v, "delegate_facts")
	case "run_once":
		t.RunOnce = p.boolean(v, "run_once")
	case "check_mode":
		t.CheckMode = p.boolPtr(v, "check_mode")
	case "diff":
		t.Diff = p.boolPtr(v, "diff")
	case "ignore_errors":
		t.IgnoreErrors = p.boolean(v, "ignore_errors")
	case "ignore_unreachable":
		t.IgnoreUnreachable = p.boolean(v, "ignore_unreachable")
	case "no_log":
		t.NoLog = p.boolean(v, "no_log")
	case "environment":
		t.Environment = p.mapping(v, "environment")
	default:
		return false
	}
	return true
}

// blockSection reads a block's block, rescue or always list.
func (p *parser) blockSection(t *Task, key string, v *yaml.Node) {
	switch key {
	case "block":
		t.Block = p.taskList(v, "block", t.Handler)
		if t.Block == nil && p.err == nil {
			t.Block = []*Task{} // an empty block is still a block
		}
	case "rescue":
		t.Rescue = p.taskList(v, "rescue", t.Handler)
	case "always":
		t.Always = p.taskList(v, "always", t.Handler)
	}
}

// taskModule takes k, a key that is no keyword, as the task's module: it
// must name a module of the registry, be the task's only one, and not be
// on a block.
func (p *parser) taskModule(parts *taskParts, k, v *yaml.Node) {
	_, unsupported := unsupportedKeys[k.Value]
	switch {
	case unsupported:
		p.unknownKey(k, taskKeys, "task")
	case parts.isBlock:
		p.fail(k, "unknown key %q in block%s", k.Value, suggest.Hint(k.Value, blockList()))
	case !p.lookupModule(k.Value) && isAnsibleModule(k.Value):
		p.fail(k, "not supported yet: module %q", k.Value)
	case !p.lookupModule(k.Value):
		p.fail(k, "unknown key or module %q%s", k.Value, suggest.Hint(k.Value, append(append([]string(nil), taskKeys...), p.mods.Names()...)))
	case parts.modKey != nil:
		p.fail(k, "task has two modules, %q and %q: give each its own task", parts.modKey.Value, k.Value)
	case parts.incKey != nil:
		p.fail(k, "task has both %s and the module %s: give each its own task", parts.incKey.Value, k.Value)
	default:
		parts.modKey, parts.modVal = k, v
	}
}

// block checks that every key of a block is one a block may have (the
// others belong on its tasks).
func (p *parser) block(n *yaml.Node, t *Task) *Task {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !blockKeys[k.Value] {
			p.fail(k, "%q is not valid on a block (only on its tasks)", k.Value)
			return nil
		}
	}
	return t
}

// moduleTask finishes a task that is not a block: its module, its
// arguments (the module's own, then args:), checked by the module when it
// can, and its loop.
func (p *parser) moduleTask(n *yaml.Node, t *Task, parts *taskParts) *Task {
	if t.Rescue != nil || t.Always != nil {
		p.fail(n, "rescue/always without block")
		return nil
	}
	if parts.modKey == nil {
		p.fail(n, "task %s has no module (a key naming what to do: command, copy, template, ...)", quoteName(t.Name))
		return nil
	}
	t.Module = CanonicalModule(parts.modKey.Value)
	if _, ok := p.mods.Lookup(t.Module); !ok {
		t.Module = parts.modKey.Value
	}
	t.ModulePos = p.pos(parts.modKey)
	t.ModuleKey = parts.modKey.Value
	t.Args = p.moduleArgs(t.Module, parts.modVal)
	if parts.argsVal != nil && p.err == nil {
		p.addArgs(t, parts.argsVal)
	}
	t.ArgPos = p.argPositions(t, parts)
	if p.err == nil {
		p.checkArgs(t, parts.modKey, parts.modVal, parts.argsVal)
		p.checkBackground(t)
	}
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

// argPositions is where each of t's arguments is written: its key in the
// module's mapping or in args:, or else (the k=v short form, the free
// form) the module's string.
func (p *parser) argPositions(t *Task, parts *taskParts) map[string]Pos {
	at := make(map[string]Pos, len(t.Args))
	for k := range t.Args {
		at[k] = p.pos(parts.modVal)
	}
	for _, m := range []*yaml.Node{parts.modVal, parts.argsVal} {
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if _, ok := at[m.Content[i].Value]; ok {
				at[m.Content[i].Value] = p.pos(m.Content[i])
			}
		}
	}
	return at
}

// addArgs adds the args: keyword's mapping to the module's own
// arguments; a key given in both is an error.
func (p *parser) addArgs(t *Task, argsVal *yaml.Node) {
	for k, v := range p.mapping(argsVal, "args") {
		if _, dup := t.Args[k]; dup {
			p.fail(argsVal, "args: %q is also given in the module's own arguments", k)
			return
		}
		t.Args[k] = v
	}
}

// taskLoop reads a task's loop, with_items or with_list: a list
// (with_items flattened once), or a template that gives one at run time.
func (p *parser) taskLoop(t *Task, n *yaml.Node, from string) {
	if lookupLoops[from] != nil {
		p.lookupLoop(t, n, from)
		return
	}
	t.HasLoop = true
	switch n.Kind {
	case yaml.ScalarNode:
		t.Loop = p.str(n, from)
		if from == "loop" && p.err == nil && !template.IsTemplate(n.Value) {
			p.fail(n, "loop must be a list or a template giving one, got %s", kindName(n))
		}
	case yaml.SequenceNode:
		l, _ := p.value(n, from).([]any)
		if from == "with_items" {
			l = flattenOnce(l)
		}
		t.Loop = l
	default:
		p.fail(n, "%s must be a list or a template, got %s", from, kindName(n))
	}
}

// checkArgs lets a module that implements tasks.ArgChecker check the
// task's arguments now, so a misspelt argument stops the run before
// anything runs. The error points at the argument it names, when it names
// one of the task's keys, or else at the module.
func (p *parser) checkArgs(t *Task, modKey, modVal, argsVal *yaml.Node) {
	mod, ok := p.mods.Lookup(t.Module)
	if !ok {
		return
	}
	ac, ok := mod.(tasks.ArgChecker)
	if !ok {
		return
	}
	err := ac.CheckArgs(t.Args)
	if err == nil {
		return
	}
	at := modKey
	best := 0
	for _, m := range []*yaml.Node{modVal, argsVal} {
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if len(k.Value) > best && mentions(err.Error(), k.Value) {
				at, best = k, len(k.Value)
			}
		}
	}
	if msg := err.Error(); strings.HasPrefix(msg, t.Module+":") {
		p.fail(at, "%s", msg) // the module named itself already
	} else {
		p.fail(at, "%s: %s", t.Module, msg)
	}
}

// mentions reports whether msg names key as a word.
func mentions(msg, key string) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordByte(msg[j-1])
		after := j+len(key) == len(msg) || !isWordByte(msg[j+len(key)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func quoteName(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return strconv.Quote(s)
}

func blockList() []string {
	out := make([]string, 0, len(blockKeys))
	for k := range blockKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func flattenOnce(l []any) []any {
	var out []any
	for _, e := range l {
		if sub, ok := e.([]any); ok {
			out = append(out, sub...)
		} else {
			out = append(out, e)
		}
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// loopControl reads loop_control: loop_var and label.
func (p *parser) loopControl(t *Task, v *yaml.Node) {
	p.pairs(v, "loop_control", func(k, v *yaml.Node) {
		switch k.Value {
		case "loop_var":
			t.LoopVar = p.str(v, "loop_var")
			if !reIdent.MatchString(t.LoopVar) {
				p.fail(v, "loop_var: %q is not a valid variable name", t.LoopVar)
			}
		case "label":
			t.LoopLabel = p.str(v, "label")
		default:
			if !p.moreLoopControl(t, k, v) {
				p.fail(k, "unknown key %q in loop_control%s", k.Value, unknownLoopControl(k.Value))
			}
		}
	})
}

// moduleArgs reads the module's arguments: a mapping, or the short form
// "k=v k2='a b'" (with free text for command, shell, meta, include_vars).
func (p *parser) moduleArgs(module string, v *yaml.Node) map[string]any {
	switch v.Kind {
	case yaml.MappingNode:
		return p.mapping(v, module)
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return map[string]any{}
		}
		p.checkTemplate(v, v.Value)
		args, err := ParseKV(v.Value, p.mods.FreeForm(module))
		if err != nil {
			p.fail(v, "%s: %v", module, err)
			return nil
		}
		return args
	}
	p.fail(v, "%s: arguments must be a mapping or a k=v string, got %s", module, kindName(v))
	return nil
}
