package args

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/internal/suggest"
)

// Error is a module argument (or job variable) that cannot be used: bad
// user input, exit code 5. Its text is "MODULE: ARG: what is wrong", the
// parts that are empty left out.
type Error struct {
	Module string // the module reading the argument
	Arg    string // the argument or variable; "" when not one argument's
	Err    error  // what is wrong
}

func (e *Error) Error() string {
	var parts []string
	for _, p := range []string{e.Module, e.Arg} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(append(parts, e.Err.Error()), ": ")
}

// Unwrap returns what is wrong (a *boolean.Error for a bad boolean).
func (e *Error) Unwrap() error { return e.Err }

// BadInput marks the error as the user's input (exit code 5).
func (e *Error) BadInput() bool { return true }

// Errorf returns a bad-argument error of module mod about argument arg
// ("" when the problem is not one argument's); format takes %w.
func Errorf(mod, arg, format string, v ...any) *Error {
	return &Error{Module: mod, Arg: arg, Err: fmt.Errorf(format, v...)}
}

// Options say where Parse's Args look parameters up and how blank text
// reads. The zero value is Ansible's: only the task's arguments, a blank
// string is a blank string.
type Options struct {
	// Vars are the host's variables. When not nil, a parameter the task
	// does not give (or gives as null) is looked up there under its
	// canonical name, and the module may read names it does not declare
	// as parameters, from Vars only (inventory_hostname, ansible_host).
	Vars map[string]any
	// TrimText trims blanks around text and counts blank text as not
	// given, so that the default applies (Str, Int, List). It suits
	// values typed as host variables, where `pg_tls_dir=` in an INI
	// inventory means "the default". A list given as text may then be
	// written as Python prints one ([a, 'b']). A blank boolean stays an
	// error: it is neither yes nor no.
	TrimText bool
}

// Parse checks raw against the declared parameters, each a list of names
// separated by | whose first is canonical ("path|dest|name"). An argument
// that no parameter declares, or two aliases of one parameter, fail here;
// names beginning with _ are internal and never suggested.
func Parse(mod string, raw map[string]any, params ...string) (*Args, error) {
	return Options{}.Parse(mod, raw, params...)
}

// Parse is the package's Parse with o's lookup rules.
func (o Options) Parse(mod string, raw map[string]any, params ...string) (*Args, error) {
	a := &Args{mod: mod, raw: raw, opts: o, params: map[string][]string{}}
	if _, ok := raw[staticKey]; ok {
		a.static = true
		a.raw = make(map[string]any, len(raw))
		for k, v := range raw {
			if k != staticKey {
				a.raw[k] = v
			}
		}
	}
	known := map[string]string{}
	for _, p := range params {
		names := strings.Split(p, "|")
		a.params[names[0]] = names
		for _, n := range names {
			known[n] = names[0]
		}
	}
	if err := a.checkNames(known); err != nil {
		return nil, err
	}
	return a, nil
}

// checkNames refuses arguments no parameter declares and two aliases of
// one parameter given together.
func (a *Args) checkNames(known map[string]string) error {
	var unknown []string
	seen := map[string]string{}
	for k := range a.raw {
		canon, ok := known[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if other, dup := seen[canon]; dup {
			first, second := min(other, k), max(other, k)
			return Errorf(a.mod, "", "arguments %q and %q are aliases of each other; give only one", first, second)
		}
		seen[canon] = k
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	names := make([]string, 0, len(known))
	for n := range known {
		if !strings.HasPrefix(n, "_") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("unsupported argument %q", unknown[0])
	if s := suggest.Closest(unknown[0], names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return Errorf(a.mod, "", "%s; supported: %s", msg, strings.Join(names, ", "))
}

// Args are a module's arguments, decoded on demand. The first decoding
// error is kept; a module checks it once with Err (or Ready) after reading
// every argument, so that the user sees the first problem.
type Args struct {
	mod    string
	raw    map[string]any
	opts   Options
	params map[string][]string // canonical → names
	err    error
	// static is set when the arguments are only checked (at parse time,
	// see Static): values holding a template are accepted unchecked, and
	// Ready stops the module before it looks at the host.
	static bool
}

// Module is the name of the module whose arguments these are.
func (a *Args) Module() string { return a.mod }

// Err returns the first decoding error, or nil.
func (a *Args) Err() error { return a.err }

// Fail records a bad-argument error about arg ("" for the arguments as a
// whole), unless an earlier one is recorded.
func (a *Args) Fail(arg, format string, v ...any) {
	if a.err == nil {
		a.err = Errorf(a.mod, arg, format, v...)
	}
}

// Get returns the value of a parameter under any of its names (then, with
// Options.Vars, from the host's variables); a null value counts as not
// given. A name the module does not declare is a programming error unless
// Options.Vars is set, when it is read from the variables alone.
func (a *Args) Get(name string) (any, bool) {
	names, declared := a.params[name]
	if !declared && a.opts.Vars == nil {
		panic("args: " + a.mod + " reads undeclared parameter " + name)
	}
	for _, n := range names {
		if v := a.raw[n]; v != nil {
			return v, true
		}
	}
	if v := a.opts.Vars[name]; v != nil {
		return v, true
	}
	return nil, false
}

// GivenNull reports whether a parameter is written with a null value
// (msg: ~, or a template that rendered to None): Get counts that as not
// given, but a module whose result echoes the value (debug's msg) must
// tell it from an absent parameter, as Ansible does.
func (a *Args) GivenNull(name string) bool {
	for _, n := range a.params[name] {
		if v, ok := a.raw[n]; ok && v == nil {
			return true
		}
	}
	return false
}

// Has reports whether a parameter is given (and not null).
func (a *Args) Has(name string) bool {
	_, ok := a.Get(name)
	return ok
}

// value is Get with Options.TrimText applied: blank text is not given.
func (a *Args) value(name string) (any, bool) {
	v, ok := a.Get(name)
	if s, isText := v.(string); ok && isText && a.opts.TrimText && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, ok
}

// Str returns a string parameter, or def when it is not given. Numbers and
// booleans are formatted as Python's str() formats them (True, False);
// a list or a mapping is an error.
func (a *Args) Str(name, def string) string {
	v, ok := a.value(name)
	if !ok {
		return def
	}
	s, ok := text(v)
	if !ok {
		a.Fail(name, "want a string, got %s", describe(v))
		return def
	}
	if a.opts.TrimText {
		s = strings.TrimSpace(s)
	}
	return s
}

// OptStr is Str with "not given" told apart from "": nil when not given.
func (a *Args) OptStr(name string) *string {
	if _, ok := a.value(name); !ok {
		return nil
	}
	s := a.Str(name, "")
	return &s
}

// Required returns a string parameter that must be given and not empty.
func (a *Args) Required(name string) string {
	s := a.Str(name, "")
	if s == "" {
		a.Fail("", "missing required argument: %s", name)
	}
	return s
}

// Bool returns a boolean parameter read by boolean.Parse (Ansible's strict
// boolean()), or def when it is not given; in static mode a template is
// def.
func (a *Args) Bool(name string, def bool) bool {
	v, ok := a.Get(name)
	if !ok || a.Templated(v) {
		return def
	}
	b, err := boolean.Parse(v)
	if err != nil {
		a.Fail(name, "%w", err)
		return def
	}
	return b
}

// Int returns an integer parameter: an integer, an integral float (30.0)
// or a decimal string, blanks around it ignored; 1.5 and "1.5" are errors.
// def is returned when it is not given; in static mode a template is def.
func (a *Args) Int(name string, def int) int {
	v, ok := a.value(name)
	if !ok || a.Templated(v) {
		return def
	}
	if n, ok := integer(v); ok {
		return n
	}
	a.Fail(name, "want an integer, got %s", describe(v))
	return def
}

// Choice returns a string parameter that must be one of choices, or def
// when it is not given; in static mode a template is def.
func (a *Args) Choice(name, def string, choices ...string) string {
	if v, _ := a.Get(name); a.Templated(v) {
		return def
	}
	s := a.Str(name, def)
	for _, c := range choices {
		if s == c {
			return s
		}
	}
	msg := fmt.Sprintf("want one of %s; got %q", strings.Join(choices, ", "), s)
	if sug := suggest.Closest(s, choices); sug != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", sug)
	}
	a.Fail(name, "%s", msg)
	return def
}

// List returns a list of strings, or nil when it is not given. A list's
// elements must be strings, numbers or booleans (formatted as Str does); a
// string is split at commas and a number is a one-element list, as
// Ansible's list type reads them. With Options.TrimText each element is
// trimmed of blanks (and of quotes, for a list written as text), blank
// ones are dropped, and brackets around a list written as text go.
func (a *Args) List(name string) []string {
	v, ok := a.value(name)
	if !ok {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case []string:
		out = append(out, x...)
	case []any:
		out = make([]string, 0, len(x))
		for _, e := range x {
			s, ok := text(e)
			if !ok {
				a.Fail(name, "want a list of strings, got an element %s", describe(e))
				return nil
			}
			out = append(out, s)
		}
	case string:
		if a.opts.TrimText {
			x = strings.Trim(strings.TrimSpace(x), "[]")
		}
		out = strings.Split(x, ",")
	default:
		s, isNumber := text(v)
		if _, isBool := v.(bool); !isNumber || isBool {
			a.Fail(name, "want a list, got %s", describe(v))
			return nil
		}
		out = []string{s}
	}
	if !a.opts.TrimText {
		return out
	}
	kept := out[:0]
	for _, e := range out {
		if e = strings.Trim(strings.TrimSpace(e), `'"`); e != "" {
			kept = append(kept, e)
		}
	}
	return kept
}

// Content returns a text parameter that may also be given as a mapping or
// a list, which is serialised as JSON (as copy's content is).
func (a *Args) Content(name string) (string, bool) {
	v, ok := a.Get(name)
	if !ok {
		return "", false
	}
	switch v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			a.Fail(name, "%w", err)
		}
		return string(b), true
	}
	return a.Str(name, ""), true
}

// Exclusive records an error when more than one of names is given.
func (a *Args) Exclusive(names ...string) {
	var got []string
	for _, n := range names {
		if a.Has(n) {
			got = append(got, n)
		}
	}
	if len(got) > 1 {
		a.Fail("", "parameters are mutually exclusive: %s", strings.Join(got, "|"))
	}
}

// text formats a scalar as Python's str() would; ok is false for anything
// else (a list, a mapping).
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		if x {
			return "True", true
		}
		return "False", true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}

// integer reads v as an integer: see Int.
func integer(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		n, err := strconv.Atoi(fmt.Sprint(x))
		return n, err == nil
	case float32:
		return integer(float64(x))
	case float64:
		n := int(x)
		return n, float64(n) == x
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

// describe names a value in an error: text quoted, a list or a mapping by
// its kind, anything else as it prints.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case []any, []string:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprint(v)
}

// staticKey marks a raw argument map built by Static.
const staticKey = "\x00sshplay-static-check"

// ErrStatic is what Ready returns in static mode once the arguments are
// decoded without error: the check is over, and the module must stop
// before it uses the host.
var ErrStatic = errors.New("arguments checked")

// Static returns a copy of raw that Parse reads in static mode: the
// arguments are only checked, at parse time, before any host is known.
// Values that hold a template are then accepted as they are (Templated),
// and Ready returns ErrStatic.
func Static(raw map[string]any) map[string]any {
	m := make(map[string]any, len(raw)+1)
	for k, v := range raw {
		m[k] = v
	}
	m[staticKey] = true
	return m
}

// Ready returns the first decoding error; in static mode it returns
// ErrStatic when there is none, so that the module stops before it uses
// the host. Modules call it once the arguments are decoded and checked,
// before their first use of the host.
func (a *Args) Ready() error {
	if a.err != nil {
		return a.err
	}
	if a.static {
		return ErrStatic
	}
	return nil
}

// Templated reports whether v, in static mode, still holds a template, so
// that its value is known only per host at run time.
func (a *Args) Templated(v any) bool {
	if !a.static {
		return false
	}
	s, ok := v.(string)
	return ok && (strings.Contains(s, "{{") || strings.Contains(s, "{%"))
}
