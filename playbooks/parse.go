package playbooks

// Parse and LoadFile: a playbook's YAML to a Playbook, strictly (unknown
// keys refused, file:line:col kept on every play, task and key) and checked
// before anything runs (modules, arguments, templates, handlers). Plays are
// read in parse_play.go, tasks in parse_task.go, values in parse_values.go,
// the k=v short form in kv.go.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/internal/yamlx"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

// Parse decodes a playbook whose tasks may use the modules of mods (a
// task naming any other module is a parse error). name is used in error
// positions.
func Parse(mods *tasks.Registry, name string, data []byte) (*Playbook, error) {
	return ParseContext(context.Background(), mods, name, data)
}

// ParseContext is Parse that stops, with ctx's error, once ctx is
// cancelled: a large playbook must not hold off Ctrl-C.
func ParseContext(ctx context.Context, mods *tasks.Registry, name string, data []byte) (*Playbook, error) {
	return parseWith(ctx, mods, name, data, LoadOptions{})
}

// parseWith is ParseContext with the options roles and includes are
// found with.
func parseWith(ctx context.Context, mods *tasks.Registry, name string, data []byte, lo LoadOptions) (*Playbook, error) {
	if mods == nil {
		return nil, errors.New("playbooks: Parse needs the module registry")
	}
	p := &parser{ctx: ctx, mods: mods, file: name, tpl: template.New(), walked: map[*yaml.Node]bool{}, load: newLoadState(name, lo)}
	root, err := parseYAML(ctx, name, data)
	if err != nil {
		return nil, err
	}
	pb := &Playbook{Path: name, Dir: filepath.Dir(name)}
	if root == nil {
		return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: "empty playbook: want a list of plays"}
	}
	if root.Kind != yaml.SequenceNode {
		p.fail(root, "a playbook is a list of plays, got %s", kindName(root))
		return nil, p.err
	}
	for _, n := range root.Content {
		if p.stopped() {
			return nil, p.err
		}
		pb.Plays = append(pb.Plays, p.plays(n)...)
		if p.err != nil {
			return nil, p.withUnsupported(root)
		}
	}
	if len(pb.Plays) == 0 {
		return nil, &ParseError{File: name, Line: root.Line, Col: root.Column, Msg: "playbook has no plays"}
	}
	return pb, nil
}

// LoadFile reads and parses a playbook from the disk; its tasks may use
// the modules of mods.
func LoadFile(mods *tasks.Registry, path string) (*Playbook, error) {
	return loadFile(context.Background(), mods, path)
}

// loadFile reads and parses a playbook from the disk, stopping when ctx is
// cancelled (see loadFileWith).
func loadFile(ctx context.Context, mods *tasks.Registry, path string) (*Playbook, error) {
	return loadFileWith(ctx, mods, path, LoadOptions{})
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

// parser is the state of one Parse. err is the first *ParseError, or the
// context's error once ctx is cancelled; every walk loop stops when it is
// set.
type parser struct {
	ctx  context.Context
	mods *tasks.Registry
	file string
	tpl  *template.Engine
	err  error
	// walked holds the anchored nodes whose templates have been checked:
	// an alias to one of them is not walked again, so checking stays
	// linear in the text however often a value is aliased.
	walked map[*yaml.Node]bool
	steps  int
	// load is where roles and included files are found (roles.go).
	load *loadState
	// scan collects unsupported constructs across files (unsupported.go).
	scan *unsupportedScan
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

// fail records the parse's first error, at n's position.
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

// yamlError turns a yaml.v3 syntax error into a *ParseError at the
// offending token (yamlx.SyntaxError: yaml.v3 itself often names the
// line where the enclosing block began, or none).
func yamlError(ctx context.Context, name string, data []byte, err error) error {
	e := yamlx.SyntaxError(ctx, name, data, err)
	return &ParseError{File: e.File, Line: e.Line, Col: e.Col, Msg: "YAML syntax: " + e.Msg + yamlHints[e.Msg]}
}

// yamlHints say what usually causes the YAML errors users meet most, in
// words a playbook author knows.
var yamlHints = map[string]string{
	"did not find expected key":                       " (is this line indented like the keys above it?)",
	"did not find expected '-' indicator":             " (is this line indented like the list items above it?)",
	"mapping values are not allowed in this context":  " (indented too far, or a value holding \": \" that needs quotes?)",
	"found a tab character that violates indentation": " (indent with spaces, not tabs)",
}

// kindName names what a node is, for errors ("a mapping", a quoted
// scalar).
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

// reIdent is a valid variable name (register, loop_var, set_fact, environment).
var reIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// unsupportedKeys are keys Ansible knows that sshplay does not implement:
// named so the error says "not supported" rather than "unknown".
var unsupportedKeys = map[string]string{
	"module_defaults": "module_defaults is not supported",
	"collections":     "collections is not supported; modules are built in",
	"action":          "action: is not supported; name the module as the key",
	"delegate_facts":  "delegate_facts is supported on tasks only",
	"throttle":        "throttle is not supported; use -f",
	"connection":      "connection is not supported; every host is reached over SSH (or delegate_to: localhost)",
}

// unknownKey fails on a key nothing reads: "not supported" for keys of
// Ansible's that sshplay lacks, else "unknown" with the closest known key.
func (p *parser) unknownKey(k *yaml.Node, known []string, where string) {
	if why, ok := unsupportedKeys[k.Value]; ok {
		p.fail(k, "%s", why)
		return
	}
	p.fail(k, "unknown key %q in %s%s", k.Value, where, suggest.Hint(k.Value, known))
}
