package playbooks

// A roles: entry (and a meta dependency): a role's name, the keywords that
// apply to all its tasks, and the parameters it is given.

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// roleEntryKeywords are the keys of a roles: entry that are keywords, not
// role parameters.
var roleEntryKeywords = map[string]bool{"role": true, "name": true, "when": true, "tags": true, "vars": true,
	"become": true, "become_user": true, "environment": true, "ignore_errors": true, "no_log": true,
	"check_mode": true, "diff": true, "delegate_to": true, "run_once": true, "ignore_unreachable": true}

// roleEntry reads a roles: entry, a name or a mapping, into a block of
// the role (after its dependencies) carrying the entry's keywords.
func (p *parser) roleEntry(n *yaml.Node) []*Task {
	n = resolveAlias(n)
	u := roleUse{at: n, params: map[string]any{}, dedup: true}
	wrap := &Task{Pos: p.pos(n), KeyPos: map[string]Pos{}}
	switch n.Kind {
	case yaml.ScalarNode:
		u.name = p.str(n, "role")
	case yaml.MappingNode:
		p.pairs(n, "role", func(k, v *yaml.Node) {
			switch {
			case k.Value == "role" || k.Value == "name":
				u.name = p.str(v, k.Value)
			case roleEntryKeywords[k.Value]:
				p.roleKeyword(wrap, k, v)
			default:
				u.params[k.Value] = p.value(v, k.Value)
			}
		})
	default:
		p.fail(n, "a role must be a name or a mapping with role:, got %s", kindName(n))
	}
	if p.err != nil {
		return nil
	}
	if strings.TrimSpace(u.name) == "" {
		p.fail(n, "role entry has no role: (or name:)")
		return nil
	}
	if len(u.params) == 0 {
		u.params = nil
	}
	before := len(p.load.handlers)
	ts := p.loadRole(u)
	p.handlersSee(before, wrap)
	if ts == nil {
		return nil
	}
	wrap.Block = ts
	return []*Task{wrap}
}

// roleKeyword reads a keyword of a roles: entry, an import_role or an
// include's apply: onto the block that holds the role's tasks.
func (p *parser) roleKeyword(t *Task, k, v *yaml.Node) {
	t.KeyPos[k.Value] = p.pos(v)
	switch k.Value {
	case "when":
		t.When = p.exprList(v, "when")
	case "tags":
		t.Tags = p.strList(v, "tags")
	case "vars":
		t.Vars = p.mapping(v, "vars")
	default:
		if !p.runKeyword(t, k, v) {
			p.fail(k, "unknown key %q here (tags, when, vars, become, ... are)", k.Value)
		}
	}
}

// playRoles reads a play's roles: list; the roles' handlers join the
// play's.
func (p *parser) playRoles(play *Play, v *yaml.Node) []*Task {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.fail(v, "roles must be a list, got %s", kindName(v))
		return nil
	}
	var out []*Task
	for _, e := range v.Content {
		out = append(out, p.roleEntry(e)...)
		if p.err != nil {
			return nil
		}
	}
	return out
}
