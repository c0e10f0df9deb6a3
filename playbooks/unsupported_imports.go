package playbooks

// The scan for unsupported constructs follows what a playbook loads
// statically (import_tasks, import_role, roles: and their meta
// dependencies, import_playbook), so one refusal lists every construct of
// the whole load rather than stopping at the first imported file.

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/playbooks/template"
)

// unsupportedScan is what scanUnsupported collects across files; seen
// keeps each file to one visit (a role used twice, a file that imports
// itself).
type unsupportedScan struct {
	found []*ParseError
	seen  map[string]bool
}

// adder records a construct of p's file.
func (p *parser) adder() func(*yaml.Node, string, ...any) {
	return func(n *yaml.Node, format string, args ...any) {
		p.scan.found = append(p.scan.found, &ParseError{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
	}
}

// scanFollow scans the file a play's or task's key loads statically, if
// it names one; files that cannot be read or found are left to the parse,
// which reports them.
func (p *parser) scanFollow(k, v *yaml.Node, keywords []string) {
	if p.scan == nil || p.load.depth > maxIncludeDepth {
		return
	}
	play := slices.Equal(keywords, playKeys)
	switch name := strings.TrimPrefix(strings.TrimPrefix(k.Value, "ansible.builtin."), "ansible.legacy."); {
	case play && name == "roles" && v.Kind == yaml.SequenceNode:
		for _, e := range v.Content {
			p.scanRole(resolveAlias(e), "role")
		}
	case play && (name == "import_playbook" || name == "include"):
		if path, err := findIn(staticName(v, ""), []string{filepath.Dir(p.file)}); err == nil {
			p.scanFile(path, nil, true)
		}
	case !play && name == "import_tasks":
		if path, err := findIn(staticName(v, "file"), p.includeDirs()); err == nil {
			p.scanFile(path, p.load.role, false)
		}
	case !play && name == "import_role":
		p.scanRole(v, "name")
	}
}

// staticName is a file or role name given as a string, or under key of
// a mapping; "" when it is a template (the parse refuses it) or absent.
func staticName(v *yaml.Node, key string) string {
	v = resolveAlias(v)
	if v.Kind == yaml.MappingNode {
		return mapScalar(v, key)
	}
	if v.Kind != yaml.ScalarNode || template.IsTemplate(v.Value) {
		return ""
	}
	return strings.Fields(v.Value + " ")[0] // the old include's k=v follow
}

// mapScalar is the string value of key in a mapping, "" when absent.
func mapScalar(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := resolveAlias(m.Content[i+1]); m.Content[i].Value == key && v.Kind == yaml.ScalarNode && !template.IsTemplate(v.Value) {
			return v.Value
		}
	}
	return ""
}

// scanRole scans a role's tasks and handlers (tasks_from, handlers_from
// honoured) and its meta dependencies; n is a roles: entry or
// import_role's arguments, the role named by key (or role/name).
func (p *parser) scanRole(n *yaml.Node, key string) {
	name := staticName(n, key)
	if name == "" && n.Kind == yaml.MappingNode {
		name = cmp.Or(mapScalar(n, "role"), mapScalar(n, "name"))
	}
	path, err := p.load.findRole(name)
	if name == "" || err != nil {
		return
	}
	role := &Role{Name: filepath.Base(name), Path: path}
	from := func(k string) string {
		if n.Kind == yaml.MappingNode {
			return mapScalar(n, k)
		}
		return ""
	}
	if f := roleFile(role, "meta", ""); f != "" && !p.scan.seen[f] {
		p.scan.seen[f] = true
		if root := p.scanYAML(f); root != nil && root.Kind == yaml.MappingNode {
			q := p.sub(f, role)
			q.scan = p.scan
			if deps := resolveAlias(mapValue(root, "dependencies")); deps != nil && deps.Kind == yaml.SequenceNode {
				for _, e := range deps.Content {
					q.scanRole(resolveAlias(e), "role")
				}
			}
		}
	}
	for _, sub := range []string{"tasks", "handlers"} {
		if f := roleFile(role, sub, from(sub+"_from")); f != "" && !isDir(f) {
			p.scanFile(f, role, false)
		}
	}
}

// mapValue is the value of key in a mapping, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scanYAML reads a file for the scan; nil when it cannot be read.
func (p *parser) scanYAML(path string) *yaml.Node {
	data, err := readSource(p.ctx, path)
	if err != nil {
		return nil
	}
	root, err := parseYAML(p.ctx, path, data)
	if err != nil {
		return nil
	}
	return resolveAlias(root)
}

// scanFile scans a file of tasks (or, playbook, of plays) once, as a
// parser of that file (so errors name it) inside role.
func (p *parser) scanFile(path string, role *Role, playbook bool) {
	if p.scan.seen[path] {
		return
	}
	p.scan.seen[path] = true
	root := p.scanYAML(path)
	if root == nil || root.Kind != yaml.SequenceNode {
		return
	}
	q := p.sub(path, role)
	q.scan = p.scan
	keys := taskKeys
	if playbook {
		q.load.pbDir = filepath.Dir(path)
		keys = playKeys
	}
	for _, n := range root.Content {
		q.scanMapping(resolveAlias(n), keys, q.adder())
	}
}
