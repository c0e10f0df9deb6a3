package inventory

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sshplay/sshplay/internal/shlex"
)

// This file follows ansible/plugins/inventory/ini.py.

// pySpace is the white space of Python's str.isspace and of \s in its
// regular expressions: Go's unicode.IsSpace and the separators \x1c to \x1f.
const pySpace = `\t\n\v\f\r \x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

var (
	reSection   = regexp.MustCompile(`^\[([^:\]` + pySpace + `]+)(?::([\p{L}\p{N}_]+))?\][` + pySpace + `]*(?:#.*)?$`)
	reGroupName = regexp.MustCompile(`^([^:\]` + pySpace + `]+)[` + pySpace + `]*(?:#.*)?$`)
)

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyLines splits text as Python's str.splitlines, which Ansible reads an
// INI inventory with: at "\n", "\r\n" and "\r", and also at \v, \f, \x1c,
// \x1d, \x1e, U+0085, U+2028 and U+2029. A final line break ends the last
// line rather than starting an empty one.
func pyLines(text string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '\r':
			if strings.HasPrefix(text[i+1:], "\n") {
				n = 2
			}
			fallthrough
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, text[start:i])
			start = i + n
		}
		i += n
	}
	if start < len(text) {
		lines = append(lines, text[start:])
	}
	return lines
}

type pendingDecl struct {
	pos     Pos
	state   string // "vars" or "children"
	parents []string
}

// parseINI reads one INI inventory file into inv. Lines are Python's
// (pyLines) and are stripped of Python's white space, as Ansible reads
// them: line numbers in errors count the same lines.
func (inv *Inventory) parseINI(file string, data []byte) error {
	lines := pyLines(string(data))

	pending := map[string]*pendingDecl{}
	var pendingOrder []string
	group := inv.groupByName["ungrouped"]
	state := "hosts"
	for i, raw := range lines {
		pos := Pos{File: file, Line: i + 1}
		line := pyStrip(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if m := reSection.FindStringSubmatch(line); m != nil {
			name, st := m[1], m[2]
			if st == "" {
				st = "hosts"
			}
			if st != "hosts" && st != "children" && st != "vars" {
				return errorf(pos, "unknown section type %q", "["+m[1]+":"+m[2]+"]")
			}
			if _, ok := inv.groupByName[name]; !ok {
				// [x:vars] alone does not declare x: remember to check.
				if st == "vars" && pending[name] == nil {
					pending[name] = &pendingDecl{pos: pos, state: "vars"}
					pendingOrder = append(pendingOrder, name)
				}
				inv.addGroup(name, pos)
			}
			if d := pending[name]; d != nil && st != "vars" {
				if err := inv.resolvePending(name, pending); err != nil {
					return err
				}
			}
			group, state = inv.groupByName[name], st
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			return errorf(pos, "invalid section %q: a section is [name], [name:vars] or [name:children], with no spaces in the name", line)
		}
		switch state {
		case "hosts":
			if err := inv.iniHostLine(group, line, pos); err != nil {
				return err
			}
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return errorf(pos, "expected key=value, got %q", line)
			}
			if err := inv.setGroupVar(group, pyStrip(k), iniValue(pyStrip(v)), pos); err != nil {
				return err
			}
		case "children":
			m := reGroupName.FindStringSubmatch(line)
			if m == nil {
				return errorf(pos, "expected a group name, got %q", line)
			}
			child := m[1]
			if c, ok := inv.groupByName[child]; ok {
				if err := inv.addChild(group, c, pos); err != nil {
					return err
				}
				continue
			}
			if d := pending[child]; d != nil {
				d.parents = append(d.parents, group.Name)
			} else {
				pending[child] = &pendingDecl{pos: pos, state: "children", parents: []string{group.Name}}
				pendingOrder = append(pendingOrder, child)
			}
		}
	}
	for _, name := range pendingOrder {
		d := pending[name]
		if d == nil {
			continue
		}
		switch d.state {
		case "vars":
			return errorf(d.pos, "section [%s:vars] names undefined group %q", name, name)
		case "children":
			// Ansible refuses a child group that is never declared; we
			// create it empty, so the documentation's own examples load.
			inv.addGroup(name, d.pos)
			if err := inv.resolvePending(name, pending); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolvePending links a now-declared group to the parents that named it
// in [parent:children] sections before it was declared.
func (inv *Inventory) resolvePending(name string, pending map[string]*pendingDecl) error {
	d := pending[name]
	delete(pending, name)
	if d == nil || d.state != "children" {
		return nil
	}
	child := inv.groupByName[name]
	for _, pn := range d.parents {
		if err := inv.addChild(inv.groupByName[pn], child, d.pos); err != nil {
			return err
		}
	}
	return nil
}

func (inv *Inventory) iniHostLine(group *Group, line string, pos Pos) error {
	tokens, err := shlex.SplitComments(line)
	if err != nil {
		return errorf(pos, "host line %q: %v", line, err)
	}
	if len(tokens) == 0 || tokens[0] == "" {
		return errorf(pos, "expected a host name, got %q", line)
	}
	pattern := tokens[0]
	names, port, err := expandHostPattern(pattern)
	if err != nil {
		return errorf(pos, "%v", err)
	}
	if strings.HasSuffix(strings.TrimSpace(pattern), ":") && port == 0 {
		return errorf(pos, "invalid host %q: a trailing ':' must be followed by a port", pattern)
	}
	type kv struct {
		k string
		v any
	}
	var vars []kv
	for _, t := range tokens[1:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return errorf(pos, "expected key=value host variable, got %q", t)
		}
		vars = append(vars, kv{k, iniValue(v)})
	}
	for _, n := range names {
		h := inv.addHost(n, pos, group, port)
		for _, x := range vars {
			h.vars[x.k] = x.v
		}
	}
	return nil
}
