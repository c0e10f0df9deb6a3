package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sshplay/sshplay/internal/suggest"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Literal wraps a value that must never be rendered again: registered
// results and facts may contain "{{" in command output.
type Literal struct{ V any }

// Omit is the value of the magic variable omit: a module argument that
// renders to it is dropped, as in Ansible.
const Omit = "__omit_place_holder__sshplay"

// Scope is one host's variables for one task. Values are rendered on first
// use and remembered. A Scope is not safe for concurrent use: the engine
// makes one per host and task.
type Scope struct {
	e    *Engine
	raw  map[string]any
	memo map[string]any
	errs map[string]error
	busy map[string]bool
}

// Scope returns a scope over raw variables (which may hold templates).
func (e *Engine) Scope(raw map[string]any) *Scope {
	return &Scope{e: e, raw: raw, memo: map[string]any{}, errs: map[string]error{}, busy: map[string]bool{}}
}

// Engine returns the engine the scope renders with.
func (s *Scope) Engine() *Engine { return s.e }

// Raw returns the unrendered value of a variable.
func (s *Scope) Raw(name string) (any, bool) {
	v, ok := s.raw[name]
	return v, ok
}

// Get returns a variable's rendered value; ok is false when it is not
// defined.
func (s *Scope) Get(name string) (v any, ok bool, err error) {
	if v, ok := s.memo[name]; ok {
		return v, true, nil
	}
	if err, ok := s.errs[name]; ok {
		return nil, true, err
	}
	raw, ok := s.raw[name]
	if !ok {
		return nil, false, nil
	}
	if s.busy[name] {
		return nil, true, fmt.Errorf("variable %q refers to itself (recursive loop in its template)", name)
	}
	s.busy[name] = true
	v, err = s.Template(raw)
	delete(s.busy, name)
	if err != nil {
		err = fmt.Errorf("in variable %q: %w", name, err)
		s.errs[name] = err
		return nil, true, err
	}
	s.memo[name] = v
	return v, true, nil
}

// All returns every variable rendered; variables that fail to render are
// left out (using them in a template reports the error).
func (s *Scope) All() map[string]any {
	out := make(map[string]any, len(s.raw))
	for k := range s.raw {
		if v, ok, err := s.Get(k); ok && err == nil {
			out[k] = v
		}
	}
	return out
}

// Names returns the defined variable names, sorted.
func (s *Scope) Names() []string {
	out := make([]string, 0, len(s.raw))
	for k := range s.raw {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Scope) context(names []string) *exec.Context {
	data := make(map[string]any, len(names))
	for _, n := range names {
		v, ok, err := s.Get(n)
		switch {
		case !ok:
			continue
		case err != nil:
			data[n] = exec.AsValue(err)
		default:
			data[n], _ = expand(v)
		}
	}
	data[scopeKey] = s // for lookup('template'), which renders with all of s
	return exec.NewContext(data)
}

// Mapper is a value that variables hold as it is (facts a module keeps
// for the modules after it) and that templates see as a map: Map is called
// only when a template uses it.
type Mapper interface {
	Map() map[string]any
}

// expand turns a Mapper variable into its map, and a Mapper deeper in a
// variable into a lazyMap (registered results carry the facts: a template
// reading reg.changed must not pay for them), copying only the maps and
// lists on the way to one; changed is false when v is returned as is.
func expand(v any) (out any, changed bool) {
	if m, ok := v.(Mapper); ok {
		if _, lazy := v.(*LazyVars); !lazy {
			return m.Map(), true
		}
	}
	return expandDeep(v)
}

func expandDeep(v any) (out any, changed bool) {
	switch x := v.(type) {
	case *LazyVars, *lazyMap:
		return x, false
	case Mapper:
		return &lazyMap{m: x}, true
	case map[string]any:
		var m map[string]any
		for k, e := range x {
			if n, ch := expandDeep(e); ch {
				if m == nil {
					m = maps.Clone(x)
				}
				m[k] = n
			}
		}
		if m != nil {
			return m, true
		}
	case []any:
		var l []any
		for i, e := range x {
			if n, ch := expandDeep(e); ch {
				if l == nil {
					l = slices.Clone(x)
				}
				l[i] = n
			}
		}
		if l != nil {
			return l, true
		}
	}
	return v, false
}

// Template renders v: strings are rendered (a single whole expression keeps
// its native type), maps and lists recursively; map entries rendering to
// omit are dropped.
func (s *Scope) Template(v any) (any, error) {
	switch x := v.(type) {
	case Literal:
		return x.V, nil
	case string:
		return s.renderNative(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := s.Template(e)
			if err != nil {
				return nil, err
			}
			if r == Omit {
				continue
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := s.Template(e)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case []string:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := s.renderNative(e)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	return v, nil
}

func (s *Scope) renderNative(text string) (any, error) {
	if !IsTemplate(text) {
		return text, nil
	}
	p := s.e.parse(text)
	if p.err != nil {
		return nil, p.err
	}
	if single(p) != nil {
		return s.eval(p)
	}
	return s.execute(p)
}

// Render renders a template text to a string.
func (s *Scope) Render(text string) (string, error) {
	if !IsTemplate(text) {
		return text, nil
	}
	p := s.e.parse(text)
	if p.err != nil {
		return "", p.err
	}
	return s.execute(p)
}

// RenderFile renders the text of a template module's file as Ansible
// does: with trim_blocks (see fileEngine). Variables are those of s.
func (s *Scope) RenderFile(text string) (string, error) {
	if !IsTemplate(text) {
		return text, nil
	}
	p := s.e.fileEngine().parse(text)
	if p.err != nil {
		return "", p.err
	}
	return s.execute(p)
}

func (s *Scope) execute(p *parsed) (string, error) {
	out, err := p.tpl.ExecuteToString(s.context(p.names))
	if err != nil {
		return "", s.hint(cleanRenderError(err))
	}
	return out, nil
}

func (s *Scope) eval(p *parsed) (any, error) {
	env := s.e.env
	ev := &exec.Evaluator{
		Config: s.e.cfg,
		Environment: &exec.Environment{
			Context:           env.Context.Inherit().Update(s.context(p.names)),
			Filters:           env.Filters,
			Tests:             env.Tests,
			ControlStructures: env.ControlStructures,
			Methods:           env.Methods,
		},
		Loader: sourceLoader{},
	}
	v := ev.Eval(single(p))
	if v.IsError() {
		return nil, s.hint(cleanRenderError(errors.New(v.Error())))
	}
	return toGo(v)
}

func toGo(v *exec.Value) (any, error) {
	if v.IsNil() {
		return nil, nil
	}
	if lv, ok := v.Interface().(*LazyVars); ok {
		return lv, nil
	}
	g := v.ToGoSimpleType(false)
	if err, ok := g.(error); ok {
		return nil, err
	}
	return g, nil
}

// Eval evaluates a bare expression (no braces) to a native value.
func (s *Scope) Eval(expr string) (any, error) {
	p, err := s.e.exprTemplate(expr)
	if err != nil {
		return nil, err
	}
	return s.eval(p)
}

// Cond evaluates a bare condition as Ansible's when: does.
func (s *Scope) Cond(expr string) (bool, error) {
	v, err := s.Eval(expr)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}

// Truthy is Jinja truthiness, except that the strings Ansible reads as
// booleans ("false", "no", "off", "0") are false.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "", "false", "no", "off", "0", "n", "f":
			return false
		}
		return true
	}
	return exec.ToValue(v).IsTrue()
}

// LazyVars is another host's variables as hostvars[name] shows them: each
// variable is rendered in that host's own scope when first read.
type LazyVars struct {
	build func() *Scope
	s     *Scope
}

// NewLazyVars returns hostvars' view of one host; build is called on the
// first access.
func NewLazyVars(build func() *Scope) *LazyVars { return &LazyVars{build: build} }

func (l *LazyVars) scope() *Scope {
	if l.s == nil {
		l.s = l.build()
	}
	return l.s
}

// GetItem implements gonja's item access (hostvars[h]['x']).
func (l *LazyVars) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(nil), false
	}
	v, ok, err := l.scope().Get(name)
	if err != nil {
		return exec.AsValue(err), false
	}
	if !ok {
		return exec.AsValue(nil), false
	}
	return exec.ToValue(v), true
}

// GetAttribute implements gonja's attribute access (hostvars[h].x).
func (l *LazyVars) GetAttribute(name string) (*exec.Value, bool) { return l.GetItem(name) }

// Map renders every variable of the host (for printing hostvars).
func (l *LazyVars) Map() map[string]any { return l.scope().All() }

// String is what {{ hostvars[h] }} prints.
func (l *LazyVars) String() string { return fmt.Sprint(l.Map()) }

// lazyMap shows a Mapper to templates; Map is called on first access.
type lazyMap struct {
	m    Mapper
	memo map[string]any
}

// Map returns the underlying map (made once).
func (l *lazyMap) Map() map[string]any {
	if l.memo == nil {
		l.memo = l.m.Map()
	}
	return l.memo
}

// GetItem implements gonja's item access (x['k']).
func (l *lazyMap) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(nil), false
	}
	v, ok := l.Map()[name]
	if !ok {
		return exec.AsValue(nil), false
	}
	v, _ = expandDeep(v)
	return exec.ToValue(v), true
}

// GetAttribute implements gonja's attribute access (x.k).
func (l *lazyMap) GetAttribute(name string) (*exec.Value, bool) { return l.GetItem(name) }

// String is what {{ x }} prints.
func (l *lazyMap) String() string { return fmt.Sprint(l.Map()) }

// MarshalJSON encodes the map.
func (l *lazyMap) MarshalJSON() ([]byte, error) { return json.Marshal(l.Map()) }

// hint adds a did-you-mean to an undefined variable error, from the names
// this scope defines.
func (s *Scope) hint(err error) error {
	var ue *UndefinedError
	if errors.As(err, &ue) && !ue.Attr && ue.Hint == "" {
		ue.Hint = suggest.Hint(ue.Name, s.Names())
	}
	return err
}
