package playbooks

// Reading one YAML value of a playbook as what its key wants: a string, a
// boolean (Ansible's strict rule, internal/boolean), an integer, a list of
// strings, an expression, a mapping or any value; every template met on the
// way is checked.

import (
	"errors"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/internal/yamlx"
	"github.com/sshplay/sshplay/playbooks/template"
)

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

// boolean reads a keyword (become, gather_facts, no_log, ...) as Ansible
// does, with its strict boolean() (boolean.Parse) of the scalar's YAML
// value: yes, y, t, on, 1 and 1.0 are true; the string "1.0", 2, null or
// a list are errors.
func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n.Kind == yaml.ScalarNode {
		if v, err := yamlx.Value(p.ctx, p.file, n); err == nil {
			if b, err := boolean.Parse(v); err == nil {
				return b
			}
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
	} else if err != nil {
		p.fail(n, "%v", err)
	}
}
