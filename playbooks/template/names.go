package template

import (
	"fmt"
	"sort"

	"github.com/nikolalohinski/gonja/v2/tokens"
)

// jinjaFilters are gonja's builtin filter names (candidates for "did you
// mean"; the engine's FilterSet cannot list its names).
var jinjaFilters = []string{"abs", "attr", "batch", "capitalize", "center", "default", "d", "dictsort",
	"e", "escape", "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int",
	"join", "items", "last", "length", "count", "list", "lower", "map", "max", "min", "pprint", "random",
	"rejectattr", "reject", "replace", "reverse", "round", "safe", "selectattr", "select", "slice", "sort",
	"string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode",
	"urlize", "wordcount", "wordwrap", "xmlattr"}

var jinjaTests = []string{"boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped",
	"even", "false", "filter", "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le",
	"lower", "lt", "lessthan", "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string",
	"test", "true", "undefined", "upper"}

// UnknownNameError is a template that uses a filter or test that does not
// exist. Suggest is the closest known name, or "".
type UnknownNameError struct {
	Kind, Name string // Kind is "filter" or "test"
	Known      []string
}

func (e *UnknownNameError) Error() string {
	return fmt.Sprintf("no %s named %q", e.Kind, e.Name)
}

// UnsupportedNameError is a filter or test of an Ansible collection
// (ansible.utils.ipaddr, community.general.json_query) that sshplay does
// not implement: named as such, never as a misspelling.
type UnsupportedNameError struct {
	Kind, Name string
}

func (e *UnsupportedNameError) Error() string {
	return fmt.Sprintf("not supported yet: %s %q", e.Kind, e.Name)
}

// CheckNames reports the first filter or test name in a template text (or,
// with expr, a bare expression) that the engine does not know, so that a
// misspelt `| defualt` is a parse error before anything runs.
func (e *Engine) CheckNames(text string, expr bool) error {
	if expr {
		text = "{{ " + text + " }}"
	} else if !IsTemplate(text) {
		return nil
	}
	text, err := rewriteSource(text, varsMode)
	if err != nil {
		return nil // a syntax error: Check reports it
	}
	var toks []*tokens.Token
	for st := tokens.LexAll(text, e.cfg); !st.End(); st.Next() {
		toks = append(toks, st.Current())
	}
	next := func(i int) *tokens.Token {
		for j := i + 1; j < len(toks); j++ {
			if toks[j].Type != tokens.Whitespace {
				return toks[j]
			}
		}
		return nil
	}
	for i, t := range toks {
		switch t.Type {
		case tokens.Pipe:
			n := next(i)
			if n == nil || n.Type != tokens.Name {
				continue
			}
			if full := dotted(toks, n, next); full != n.Val {
				return &UnsupportedNameError{Kind: "filter", Name: full}
			}
			if !e.env.Filters.Exists(n.Val) {
				return &UnknownNameError{Kind: "filter", Name: n.Val, Known: e.filterNames()}
			}
		case tokens.Is:
			n := next(i)
			if n != nil && n.Type == tokens.Not {
				n = next(indexOf(toks, n))
			}
			if n == nil || n.Type != tokens.Name {
				continue
			}
			if full := dotted(toks, n, next); full != n.Val {
				return &UnsupportedNameError{Kind: "test", Name: full}
			}
			if !e.env.Tests.Exists(n.Val) {
				return &UnknownNameError{Kind: "test", Name: n.Val, Known: e.testNames()}
			}
		}
	}
	return nil
}

// dotted is the whole name starting at token n: "x", or a collection's
// "ns.coll.x" (ansible.builtin names of ours are already shortened).
func dotted(toks []*tokens.Token, n *tokens.Token, next func(int) *tokens.Token) string {
	name := n.Val
	for {
		d := next(indexOf(toks, n))
		if d == nil || d.Type != tokens.Dot {
			return name
		}
		m := next(indexOf(toks, d))
		if m == nil || m.Type != tokens.Name {
			return name
		}
		name, n = name+"."+m.Val, m
	}
}

func indexOf(toks []*tokens.Token, t *tokens.Token) int {
	for i, x := range toks {
		if x == t {
			return i
		}
	}
	return len(toks)
}

func (e *Engine) filterNames() []string {
	out := append([]string(nil), jinjaFilters...)
	for n := range ansibleFilters {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (e *Engine) testNames() []string {
	out := append([]string(nil), jinjaTests...)
	for n := range ansibleTests {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
