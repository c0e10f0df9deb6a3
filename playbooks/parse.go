package playbooks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/internal/yamlx"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

var (
	playKeys = []string{"name", "hosts", "vars", "vars_files", "become", "become_user", "remote_user",
		"gather_facts", "serial", "max_fail_percentage", "any_errors_fatal", "force_handlers", "strategy",
		"pre_tasks", "tasks", "post_tasks", "handlers", "tags", "check_mode", "environment"}
	taskKeys = []string{"name", "args", "when", "register", "notify", "become", "become_user", "loop",
		"loop_control", "with_items", "with_list", "changed_when", "failed_when", "ignore_errors",
		"ignore_unreachable", "no_log", "tags", "delegate_to", "run_once", "check_mode", "diff", "vars",
		"environment", "until", "retries", "delay", "block", "rescue", "always", "listen"}
	blockKeys = map[string]bool{"name": true, "when": true, "become": true, "become_user": true,
		"tags": true, "vars": true, "ignore_errors": true, "ignore_unreachable": true, "no_log": true,
		"check_mode": true, "diff": true, "environment": true, "delegate_to": true, "run_once": true,
		"block": true, "rescue": true, "always": true}
	// Keys Ansible knows that sshplay does not implement: named so the error
	// says "not supported" rather than "unknown".
	unsupportedKeys = map[string]string{
		"roles":           "roles are not supported; put the tasks in the play",
		"import_playbook": "import_playbook is not supported; pass several playbooks to sshplay play",
		"include_tasks":   "include_tasks is not supported; use a block",
		"import_tasks":    "import_tasks is not supported; use a block",
		"include_role":    "include_role is not supported",
		"import_role":     "import_role is not supported",
		"module_defaults": "module_defaults is not supported",
		"vars_prompt":     "vars_prompt is not supported; pass -e",
		"collections":     "collections is not supported; modules are built in",
		"async":           "async is not supported",
		"poll":            "poll is not supported",
		"action":          "action: is not supported; name the module as the key",
		"local_action":    "local_action is not supported; use delegate_to: localhost",
		"delegate_facts":  "delegate_facts is not supported",
		"throttle":        "throttle is not supported; use -f",
		"become_method":   "become_method is not supported; sshplay always uses sudo",
		"connection":      "connection is not supported; every host is reached over SSH (or delegate_to: localhost)",
		"with_dict":       "with_dict is not supported; use loop: \"{{ x | dict2items }}\"",
	}
	// Modules whose short form has free text (_raw_params), as in Ansible:
	// command, shell, raw, script, meta and include_vars. Every other module
	// (fail, debug, copy, ...) takes only k=v.
	freeForm = map[string]map[string]bool{
		"command":      {"creates": true, "removes": true, "chdir": true, "executable": true, "stdin": true, "warn": true, "stdin_add_newline": true, "strip_empty_ends": true},
		"shell":        {"creates": true, "removes": true, "chdir": true, "executable": true, "stdin": true, "warn": true, "stdin_add_newline": true, "strip_empty_ends": true},
		"raw":          {"executable": true},
		"script":       {"creates": true, "removes": true, "chdir": true, "executable": true},
		"meta":         {},
		"include_vars": {"name": true},
	}
	reIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

var freeMu sync.RWMutex

// RegisterFreeForm declares that a module's short form takes free text
// (_raw_params) besides the listed k=v options, as command and shell do.
func RegisterFreeForm(module string, options ...string) {
	freeMu.Lock()
	defer freeMu.Unlock()
	m := map[string]bool{}
	for _, o := range options {
		m[o] = true
	}
	freeForm[module] = m
}

// CanonicalModule strips Ansible's collection prefixes.
func CanonicalModule(name string) string {
	for _, p := range []string{"ansible.builtin.", "ansible.legacy.", "ansible.posix.", "community.general.", "community.postgresql."} {
		if strings.HasPrefix(name, p) {
			return strings.TrimPrefix(name, p)
		}
	}
	return name
}

func lookupModule(name string) bool {
	if _, ok := tasks.Lookup(CanonicalModule(name)); ok {
		return true
	}
	_, ok := tasks.Lookup(name)
	return ok
}

// parser is the state of one Parse. err is the first *ParseError, or the
// context's error once ctx is cancelled; every walk loop stops when it is
// set.
type parser struct {
	ctx  context.Context
	file string
	tpl  *template.Engine
	err  error
	// walked holds the anchored nodes whose templates have been checked:
	// an alias to one of them is not walked again, so checking stays
	// linear in the text however often a value is aliased.
	walked map[*yaml.Node]bool
	steps  int
}

// stopped reports whether parsing must end: an error is recorded, or ctx
// has been cancelled (then its error becomes the parse's), looked at every
// few hundred calls so the check costs nothing.
func (p *parser) stopped() bool {
	if p.err != nil {
		return true
	}
	if p.steps++; p.steps%256 == 0 && p.ctx.Err() != nil {
		p.err = fmt.Errorf("%s: %w", p.file, p.ctx.Err())
	}
	return p.err != nil
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	if p.err != nil {
		return
	}
	e := &ParseError{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.err = e
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

// LoadFile reads and parses a playbook from the disk.
func LoadFile(path string) (*Playbook, error) {
	return loadFile(context.Background(), path)
}

// loadFile reads and parses a playbook from the disk, stopping when ctx is
// cancelled.
func loadFile(ctx context.Context, path string) (*Playbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ParseError{File: path, Msg: "playbook not found"}
		}
		return nil, fmt.Errorf("read playbook %s: %w", path, err)
	}
	pb, err := ParseContext(ctx, path, data)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("playbook %s: %w", path, err)
	}
	pb.Dir = abs
	if err := pb.checkVarsFiles(ctx); err != nil {
		return nil, err
	}
	return pb, nil
}

// checkVarsFiles reads every vars_files entry without a template
// (relative to the playbook) as the run will, so a missing or malformed
// one, or one that breaks the YAML alias rule, stops the run before
// anything runs. Templated names are only known at run time.
func (pb *Playbook) checkVarsFiles(ctx context.Context) error {
	for _, play := range pb.Plays {
		for i, f := range play.VarsFiles {
			if template.IsTemplate(f) {
				continue
			}
			data, err := pb.readFile(f)
			if err != nil {
				pos := play.Pos
				if i < len(play.VarsFilesPos) {
					pos = play.VarsFilesPos[i]
				}
				msg := fmt.Sprintf("vars_files: %q not found", f)
				if !errors.Is(err, fs.ErrNotExist) {
					msg = fmt.Sprintf("vars_files: %v", err)
				}
				return &ParseError{File: pos.File, Line: pos.Line, Col: pos.Col, Msg: msg}
			}
			if _, err := readVars(ctx, f, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// Parse decodes a playbook. name is used in error positions. Modules must
// be registered (tasks.Register) before parsing.
func Parse(name string, data []byte) (*Playbook, error) {
	return ParseContext(context.Background(), name, data)
}

// ParseContext is Parse that stops, with ctx's error, once ctx is
// cancelled: a large playbook must not hold off Ctrl-C.
func ParseContext(ctx context.Context, name string, data []byte) (*Playbook, error) {
	p := &parser{ctx: ctx, file: name, tpl: template.New(), walked: map[*yaml.Node]bool{}}
	root, err := parseYAML(ctx, name, data)
	if err != nil {
		return nil, err
	}
	pb := &Playbook{Path: name, Dir: filepath.Dir(name)}
	if root == nil {
		return nil, &ParseError{File: name, Msg: "empty playbook: want a list of plays"}
	}
	if root.Kind != yaml.SequenceNode {
		p.fail(root, "a playbook is a list of plays, got %s", kindName(root))
		return nil, p.err
	}
	for _, n := range root.Content {
		if p.stopped() {
			return nil, p.err
		}
		if play := p.play(n); play != nil {
			pb.Plays = append(pb.Plays, play)
		}
		if p.err != nil {
			return nil, p.err
		}
	}
	if len(pb.Plays) == 0 {
		return nil, &ParseError{File: name, Line: root.Line, Col: root.Column, Msg: "playbook has no plays"}
	}
	return pb, nil
}

var reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlError(name string, err error) error {
	msg := err.Error()
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{File: name, Line: line, Col: 1, Msg: "YAML syntax: " + m[2]}
	}
	return &ParseError{File: name, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty document"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pairs iterates a mapping, rejecting duplicate keys.
func (p *parser) pairs(n *yaml.Node, what string, fn func(k, v *yaml.Node)) {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		p.fail(n, "%s must be a mapping, got %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content) && p.err == nil; i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Value == "<<" {
			p.fail(k, "YAML merge keys (<<) are not supported in %s", what)
			return
		}
		if seen[k.Value] {
			p.fail(k, "duplicate key %q in %s", k.Value, what)
			return
		}
		seen[k.Value] = true
		fn(k, v)
	}
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, "%s must be a string, got %s", key, kindName(n))
		return ""
	}
	p.checkTemplate(n, n.Value)
	return n.Value
}

func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on", "1":
			return true
		case "false", "no", "off", "0":
			return false
		}
	}
	p.fail(n, "%s must be true or false, got %s", key, kindName(n))
	return false
}

func (p *parser) boolPtr(n *yaml.Node, key string) *bool {
	b := p.boolean(n, key)
	return &b
}

func (p *parser) integer(n *yaml.Node, key string) int {
	if n.Kind == yaml.ScalarNode {
		if i, err := strconv.Atoi(n.Value); err == nil && i >= 0 {
			return i
		}
	}
	p.fail(n, "%s must be a non-negative integer, got %s", key, kindName(n))
	return 0
}

// strList accepts a string or a list of strings (tags, notify, listen).
func (p *parser) strList(n *yaml.Node, key string) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		if key == "tags" && strings.Contains(n.Value, ",") {
			var out []string
			for _, s := range strings.Split(n.Value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			return out
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, e := range n.Content {
			e = resolveAlias(e)
			if e.Kind != yaml.ScalarNode {
				p.fail(e, "%s entries must be strings, got %s", key, kindName(e))
				return nil
			}
			out = append(out, e.Value)
		}
		return out
	}
	p.fail(n, "%s must be a string or a list of strings, got %s", key, kindName(n))
	return nil
}

// exprList reads when/changed_when/failed_when/until: a bare expression,
// a boolean, or a list of them (ANDed).
func (p *parser) exprList(n *yaml.Node, key string) []string {
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
	default:
		p.fail(n, "%s must be an expression or a list of expressions, got %s", key, kindName(n))
		return nil
	}
	var out []string
	for _, e := range nodes {
		e = resolveAlias(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			p.fail(e, "%s must be an expression, got %s", key, kindName(e))
			return nil
		}
		expr := e.Value
		if e.Tag == "!!bool" {
			expr = strconv.FormatBool(p.boolean(e, key))
			if expr == "true" {
				expr = "True"
			} else {
				expr = "False"
			}
		}
		if err := p.tpl.CheckExpr(expr); err != nil {
			p.fail(e, "%s: %v", key, err)
			return nil
		}
		bare := strings.TrimSpace(expr)
		if strings.HasPrefix(bare, "{{") && strings.HasSuffix(bare, "}}") {
			p.checkNames(e, p.tpl.CheckNames(bare, false))
		} else {
			p.checkNames(e, p.tpl.CheckNames(bare, true))
		}
		if p.err != nil {
			return nil
		}
		out = append(out, expr)
	}
	return out
}

// value decodes any YAML value into Go (maps, lists, scalars), checking the
// syntax of every template string on the way.
func (p *parser) value(n *yaml.Node, what string) any {
	p.walkTemplates(n)
	if p.err != nil {
		return nil
	}
	v, err := yamlx.Value(p.ctx, p.file, n)
	var ye *yamlx.Error
	switch {
	case errors.As(err, &ye):
		p.err = &ParseError{File: ye.File, Line: ye.Line, Col: ye.Col, Msg: what + ": " + ye.Msg}
	case err != nil:
		p.err = err
	}
	return v
}

func (p *parser) mapping(n *yaml.Node, what string) map[string]any {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return map[string]any{}
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "%s must be a mapping, got %s", what, kindName(n))
		return nil
	}
	m, _ := p.value(n, what).(map[string]any)
	return m
}

// walkTemplates checks every template string of a value. A node reached
// again through an alias has been checked already and is skipped.
func (p *parser) walkTemplates(n *yaml.Node) {
	n = resolveAlias(n)
	if n.Anchor != "" {
		if p.walked[n] {
			return
		}
		p.walked[n] = true
	}
	switch n.Kind {
	case yaml.ScalarNode:
		p.checkTemplate(n, n.Value)
	case yaml.MappingNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if p.stopped() {
				return
			}
			p.walkTemplates(c)
		}
	}
}

func (p *parser) checkTemplate(n *yaml.Node, s string) {
	if err := p.tpl.Check(s); err != nil {
		p.fail(n, "%v", err)
		return
	}
	p.checkNames(n, p.tpl.CheckNames(s, false))
}

// checkNames turns an unknown filter or test into a parse error.
func (p *parser) checkNames(n *yaml.Node, err error) {
	var ue *template.UnknownNameError
	if errors.As(err, &ue) {
		p.fail(n, "unknown %s %q%s", ue.Kind, ue.Name, suggest.Hint(ue.Name, ue.Known))
	}
}

func (p *parser) play(n *yaml.Node) *Play {
	n = resolveAlias(n)
	play := &Play{Pos: p.pos(n), Strategy: "linear"}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "a play must be a mapping, got %s", kindName(n))
		return nil
	}
	var hostsSeen bool
	var sections []*yaml.Node
	p.pairs(n, "play", func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			play.Name = p.str(v, "name")
		case "hosts":
			hostsSeen = true
			if v.Kind == yaml.SequenceNode {
				play.Hosts = strings.Join(p.strList(v, "hosts"), ",")
			} else {
				play.Hosts = p.str(v, "hosts")
			}
		case "vars":
			play.Vars = p.mapping(v, "vars")
		case "vars_files":
			play.VarsFiles = p.strList(v, "vars_files")
			if v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					play.VarsFilesPos = append(play.VarsFilesPos, p.pos(e))
				}
			} else {
				play.VarsFilesPos = append(play.VarsFilesPos, p.pos(v))
			}
		case "become":
			play.Become = p.boolPtr(v, "become")
		case "become_user":
			play.BecomeUser = p.str(v, "become_user")
		case "remote_user":
			play.RemoteUser = p.str(v, "remote_user")
		case "gather_facts":
			play.GatherFacts = p.boolPtr(v, "gather_facts")
		case "serial":
			play.Serial = p.serial(v)
		case "max_fail_percentage":
			f, err := strconv.ParseFloat(strings.TrimSuffix(v.Value, "%"), 64)
			if v.Kind != yaml.ScalarNode || err != nil || f < 0 || f > 100 {
				p.fail(v, "max_fail_percentage must be a number from 0 to 100, got %s", kindName(v))
				return
			}
			play.MaxFailPercentage = &f
		case "any_errors_fatal":
			play.AnyErrorsFatal = p.boolean(v, "any_errors_fatal")
		case "force_handlers":
			play.ForceHandlers = p.boolean(v, "force_handlers")
		case "strategy":
			play.Strategy = p.str(v, "strategy")
			if play.Strategy != "linear" && play.Strategy != "free" {
				p.fail(v, "strategy must be linear or free, got %q", play.Strategy)
			}
		case "pre_tasks", "tasks", "post_tasks", "handlers":
			sections = append(sections, k, v)
		case "tags":
			play.Tags = p.strList(v, "tags")
		case "check_mode":
			play.CheckMode = p.boolPtr(v, "check_mode")
		case "environment":
			play.Environment = p.mapping(v, "environment")
		default:
			p.unknownKey(k, playKeys, "play")
		}
	})
	if p.err != nil {
		return nil
	}
	if !hostsSeen || strings.TrimSpace(play.Hosts) == "" {
		p.fail(n, "play %q has no hosts", play.Name)
		return nil
	}
	// Handlers first, so notify can be checked against them.
	for i := 0; i < len(sections); i += 2 {
		if sections[i].Value == "handlers" {
			play.Handlers = p.taskList(sections[i+1], "handlers", true)
		}
	}
	for i := 0; i < len(sections) && p.err == nil; i += 2 {
		k, v := sections[i], sections[i+1]
		switch k.Value {
		case "pre_tasks":
			play.PreTasks = p.taskList(v, "pre_tasks", false)
		case "tasks":
			play.Tasks = p.taskList(v, "tasks", false)
		case "post_tasks":
			play.PostTasks = p.taskList(v, "post_tasks", false)
		}
	}
	if p.err != nil {
		return nil
	}
	p.checkNotify(play)
	return play
}

func (p *parser) unknownKey(k *yaml.Node, known []string, where string) {
	if why, ok := unsupportedKeys[k.Value]; ok {
		p.fail(k, "%s", why)
		return
	}
	p.fail(k, "unknown key %q in %s%s", k.Value, where, suggest.Hint(k.Value, known))
}

func (p *parser) serial(v *yaml.Node) []string {
	var items []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	} else {
		items = []*yaml.Node{v}
	}
	if len(items) == 0 {
		p.fail(v, "serial must not be an empty list")
		return nil
	}
	var out []string
	for _, e := range items {
		e = resolveAlias(e)
		s := strings.TrimSpace(e.Value)
		num := strings.TrimSuffix(s, "%")
		f, err := strconv.ParseFloat(num, 64)
		if e.Kind != yaml.ScalarNode || err != nil || f <= 0 || (!strings.HasSuffix(s, "%") && f != float64(int(f))) {
			p.fail(e, "serial must be a positive number, a percentage or a list of them, got %s", kindName(e))
			return nil
		}
		out = append(out, s)
	}
	return out
}

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

func (p *parser) task(n *yaml.Node, handler bool) *Task {
	t := &Task{Pos: p.pos(n), Handler: handler}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "a task must be a mapping, got %s", kindName(n))
		return nil
	}
	// Find the module (or block) first, so errors can say what is wrong.
	var modKey, modVal, argsVal *yaml.Node
	isBlock := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "block" {
			isBlock = true
		}
	}
	var loopNode *yaml.Node
	var loopFrom string
	p.pairs(n, "task", func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			t.Name = p.str(v, "name")
		case "args":
			argsVal = v
		case "when":
			t.When = p.exprList(v, "when")
		case "register":
			t.Register = p.str(v, "register")
			if !reIdent.MatchString(t.Register) {
				p.fail(v, "register: %q is not a valid variable name", t.Register)
			}
		case "notify":
			t.Notify = p.strList(v, "notify")
		case "become":
			t.Become = p.boolPtr(v, "become")
		case "become_user":
			t.BecomeUser = p.str(v, "become_user")
		case "loop", "with_items", "with_list":
			if loopNode != nil {
				p.fail(k, "%s: a task has one loop, already given by %s", k.Value, loopFrom)
				return
			}
			loopNode, loopFrom = v, k.Value
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
		case "ignore_errors":
			t.IgnoreErrors = p.boolean(v, "ignore_errors")
		case "ignore_unreachable":
			t.IgnoreUnreachable = p.boolean(v, "ignore_unreachable")
		case "no_log":
			t.NoLog = p.boolean(v, "no_log")
		case "tags":
			t.Tags = p.strList(v, "tags")
		case "delegate_to":
			t.DelegateTo = p.str(v, "delegate_to")
			if t.DelegateTo != "localhost" && t.DelegateTo != "127.0.0.1" {
				p.fail(v, "delegate_to: only localhost (or 127.0.0.1) is supported, got %q", t.DelegateTo)
			}
		case "run_once":
			t.RunOnce = p.boolean(v, "run_once")
		case "check_mode":
			t.CheckMode = p.boolPtr(v, "check_mode")
		case "diff":
			t.Diff = p.boolPtr(v, "diff")
		case "vars":
			t.Vars = p.mapping(v, "vars")
		case "environment":
			t.Environment = p.mapping(v, "environment")
		case "block":
			t.Block = p.taskList(v, "block", handler)
			if t.Block == nil && p.err == nil {
				t.Block = []*Task{}
			}
		case "rescue":
			t.Rescue = p.taskList(v, "rescue", handler)
		case "always":
			t.Always = p.taskList(v, "always", handler)
		case "listen":
			if !handler {
				p.fail(k, "listen is only valid on handlers")
				return
			}
			t.Listen = p.strList(v, "listen")
		default:
			if _, bad := unsupportedKeys[k.Value]; bad {
				p.unknownKey(k, taskKeys, "task")
				return
			}
			if isBlock {
				p.fail(k, "unknown key %q in block%s", k.Value, suggest.Hint(k.Value, blockList()))
				return
			}
			if !lookupModule(k.Value) {
				p.fail(k, "unknown key or module %q%s", k.Value, suggest.Hint(k.Value, append(append([]string(nil), taskKeys...), tasks.Names()...)))
				return
			}
			if modKey != nil {
				p.fail(k, "task has two modules, %q and %q: give each its own task", modKey.Value, k.Value)
				return
			}
			modKey, modVal = k, v
		}
	})
	if p.err != nil {
		return nil
	}
	if isBlock {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !blockKeys[k.Value] {
				p.fail(k, "%q is not valid on a block (only on its tasks)", k.Value)
				return nil
			}
		}
		return t
	}
	if t.Rescue != nil || t.Always != nil {
		p.fail(n, "rescue/always without block")
		return nil
	}
	if modKey == nil {
		p.fail(n, "task %s has no module (a key naming what to do: command, copy, template, ...)", quoteName(t.Name))
		return nil
	}
	t.Module = CanonicalModule(modKey.Value)
	if _, ok := tasks.Lookup(t.Module); !ok {
		t.Module = modKey.Value
	}
	t.ModulePos = p.pos(modKey)
	t.Args = p.moduleArgs(t.Module, modVal)
	if argsVal != nil && p.err == nil {
		for k, v := range p.mapping(argsVal, "args") {
			if _, dup := t.Args[k]; dup {
				p.fail(argsVal, "args: %q is also given in the module's own arguments", k)
				return nil
			}
			t.Args[k] = v
		}
	}
	if p.err == nil {
		p.checkArgs(t, modKey, modVal, argsVal)
	}
	if loopNode != nil && p.err == nil {
		t.HasLoop = true
		switch loopNode.Kind {
		case yaml.ScalarNode:
			t.Loop = p.str(loopNode, loopFrom)
			if loopFrom == "loop" && p.err == nil && !template.IsTemplate(loopNode.Value) {
				p.fail(loopNode, "loop must be a list or a template giving one, got %s", kindName(loopNode))
			}
		case yaml.SequenceNode:
			l, _ := p.value(loopNode, loopFrom).([]any)
			if loopFrom == "with_items" {
				l = flattenOnce(l)
			}
			t.Loop = l
		default:
			p.fail(loopNode, "%s must be a list or a template, got %s", loopFrom, kindName(loopNode))
		}
	}
	if t.LoopVar == "" {
		t.LoopVar = "item"
	}
	if p.err != nil {
		return nil
	}
	return t
}

// checkArgs lets a module that implements tasks.ArgChecker check the
// task's arguments now, so a misspelt argument stops the run before
// anything runs. The error points at the argument it names, when it names
// one of the task's keys, or else at the module.
func (p *parser) checkArgs(t *Task, modKey, modVal, argsVal *yaml.Node) {
	mod, ok := tasks.Lookup(t.Module)
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
			p.fail(k, "unknown key %q in loop_control%s", k.Value, suggest.Hint(k.Value, []string{"loop_var", "label"}))
		}
	})
}

// moduleArgs reads the module's arguments: a mapping, or the short form
// "k=v k2='a b'" (with free text for command, shell, raw, script, meta).
func (p *parser) moduleArgs(module string, v *yaml.Node) map[string]any {
	switch v.Kind {
	case yaml.MappingNode:
		return p.mapping(v, module)
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return map[string]any{}
		}
		p.checkTemplate(v, v.Value)
		args, err := ParseKV(module, v.Value)
		if err != nil {
			p.fail(v, "%s: %v", module, err)
			return nil
		}
		return args
	}
	p.fail(v, "%s: arguments must be a mapping or a k=v string, got %s", module, kindName(v))
	return nil
}

// ParseKV parses Ansible's short form "k=v k2='a b' free text". For
// free-form modules (command, shell, raw, script, meta, include_vars)
// everything that is not one of their own options becomes _raw_params.
func ParseKV(module, s string) (map[string]any, error) {
	toks, err := splitArgs(s)
	if err != nil {
		return nil, err
	}
	args := map[string]any{}
	freeMu.RLock()
	opts, free := freeForm[module]
	freeMu.RUnlock()
	var raw []string
	for _, tk := range toks {
		k, v, isKV := strings.Cut(tk.text, "=")
		if isKV && reIdent.MatchString(k) && (!free || opts[k]) {
			// Ansible's parse_kv decodes escapes (\n, \t, \", \xHH,
			// \uHHHH) in k=v values; free text is kept as written.
			args[k] = unquote(decodeEscapes(v))
			continue
		}
		if !free {
			return nil, fmt.Errorf("%q is not key=value (this module takes no free-form text)", tk.text)
		}
		raw = append(raw, s[tk.start:tk.end])
	}
	if len(raw) > 0 {
		args["_raw_params"] = strings.Join(raw, " ")
	}
	return args, nil
}

var reEscape = regexp.MustCompile(`\\U[0-9A-Fa-f]{8}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\[0-7]{1,3}|\\[\\'"abfnrtv]`)

// decodeEscapes decodes the escape sequences Ansible's parse_kv decodes
// (Python's unicode_escape of each matched sequence).
func decodeEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return reEscape.ReplaceAllStringFunc(s, func(m string) string {
		switch m[1] {
		case 'U', 'u', 'x':
			n, err := strconv.ParseUint(m[2:], 16, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, err := strconv.ParseUint(m[1:], 8, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		}
		return map[byte]string{'\\': `\`, '\'': "'", '"': `"`, 'a': "\a", 'b': "\b", 'f': "\f",
			'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}[m[1]]
	})
}

type argToken struct {
	text       string
	start, end int
}

// splitArgs splits on whitespace outside quotes and outside {{ }} / {% %}.
func splitArgs(s string) ([]argToken, error) {
	var out []argToken
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		var quote byte
		depth := 0
		for i < len(s) {
			c := s[i]
			switch {
			case quote != 0:
				if c == '\\' && quote == '"' && i+1 < len(s) {
					i++
				} else if c == quote {
					quote = 0
				}
			case strings.HasPrefix(s[i:], "{{") || strings.HasPrefix(s[i:], "{%"):
				depth++
				i++
			case depth > 0 && (strings.HasPrefix(s[i:], "}}") || strings.HasPrefix(s[i:], "%}")):
				depth--
				i++
			case c == '\'' || c == '"':
				if depth == 0 {
					quote = c
				}
			case depth == 0 && (c == ' ' || c == '\t' || c == '\n'):
				goto done
			}
			i++
		}
	done:
		if quote != 0 {
			return nil, fmt.Errorf("unterminated quote in %q", s[start:])
		}
		out = append(out, argToken{text: s[start:i], start: start, end: i})
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		inner := v[1 : len(v)-1]
		if v[0] == '"' {
			inner = strings.ReplaceAll(inner, `\"`, `"`)
		}
		return inner
	}
	return v
}

// checkNotify makes sure every notify names a handler (or a listen topic).
func (p *parser) checkNotify(play *Play) {
	known := map[string]bool{}
	var names []string
	for _, h := range allTasks(play.Handlers) {
		if h.Name != "" {
			known[h.Name] = true
			names = append(names, h.Name)
		}
		for _, l := range h.Listen {
			known[l] = true
			names = append(names, l)
		}
	}
	var walk func(ts []*Task)
	walk = func(ts []*Task) {
		for _, t := range ts {
			for _, n := range t.Notify {
				if !known[n] && !template.IsTemplate(n) && p.err == nil {
					p.err = &ParseError{File: t.File, Line: t.Line, Col: t.Col,
						Msg: fmt.Sprintf("notify: no handler named %q in this play%s", n, suggest.Hint(n, names))}
				}
			}
		}
	}
	walk(allTasks(play.PreTasks))
	walk(allTasks(play.Tasks))
	walk(allTasks(play.PostTasks))
	walk(allTasks(play.Handlers))
}

// allTasks lists tasks depth-first, blocks included.
func allTasks(ts []*Task) []*Task {
	var out []*Task
	for _, t := range ts {
		out = append(out, t)
		out = append(out, allTasks(t.Block)...)
		out = append(out, allTasks(t.Rescue)...)
		out = append(out, allTasks(t.Always)...)
	}
	return out
}
