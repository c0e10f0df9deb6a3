package core

// Argument decoding shared by every module: Ansible's names and aliases,
// Ansible's boolean spellings, unknown arguments rejected with a hint.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// argError is a bad module argument: bad user input (exit 5).
type argError struct{ msg string }

func (e *argError) Error() string  { return e.msg }
func (e *argError) BadInput() bool { return true }

// args reads a module's arguments. Each declared parameter is a list of
// names, the first canonical and the rest aliases ("path|dest|name").
// The first decoding error is kept in err; check it once with done.
type args struct {
	mod    string
	raw    map[string]any
	params map[string][]string // canonical → names
	err    error
	// static is set when the arguments are only checked (CheckArgs at
	// parse time): values holding a template are accepted unchecked, and
	// ready stops the module before it looks at the host.
	static bool
}

// staticArg marks a raw argument map given to a module's Plan by
// checkStatic: decode the arguments, then stop (see args.ready).
const staticArg = "\x00sshplay-static-check"

// errStatic is what ready returns in static mode once decoding succeeded.
var errStatic = errors.New("arguments checked")

func parseArgs(mod string, raw map[string]any, params ...string) (*args, error) {
	a := &args{mod: mod, raw: raw, params: map[string][]string{}}
	if _, ok := raw[staticArg]; ok {
		a.static = true
		a.raw = make(map[string]any, len(raw))
		for k, v := range raw {
			if k != staticArg {
				a.raw[k] = v
			}
		}
		raw = a.raw
	}
	known := map[string]string{}
	for _, p := range params {
		names := strings.Split(p, "|")
		a.params[names[0]] = names
		for _, n := range names {
			known[n] = names[0]
		}
	}
	var unknown []string
	seen := map[string]string{}
	for k := range raw {
		canon, ok := known[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if other, dup := seen[canon]; dup {
			return nil, &argError{fmt.Sprintf("%s: arguments %q and %q are aliases of each other; give only one", mod, other, k)}
		}
		seen[canon] = k
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(known))
		for n := range known {
			if !strings.HasPrefix(n, "_") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		msg := fmt.Sprintf("%s: unsupported argument %q", mod, unknown[0])
		if s := suggest.Closest(unknown[0], names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		msg += "; supported: " + strings.Join(names, ", ")
		return nil, &argError{msg}
	}
	return a, nil
}

// ready returns the first decoding error; in static mode it returns
// errStatic when there is none, so that the module stops before it uses
// the host. Modules call it once the arguments are decoded and checked,
// before their first use of env.
func (a *args) ready() error {
	if a.err != nil {
		return a.err
	}
	if a.static {
		return errStatic
	}
	return nil
}

// templated reports whether v (in static mode) still holds a template, so
// that its value is only known per host at run time.
func (a *args) templated(v any) bool {
	if !a.static {
		return false
	}
	s, ok := v.(string)
	return ok && (strings.Contains(s, "{{") || strings.Contains(s, "{%"))
}

// checkStatic runs plan on args in static mode: arguments are decoded and
// checked as Plan does, and nothing touches a host. It is CheckArgs for
// every core module. The env it passes is real but reaches nothing: every
// method of its Conns, and its Render and FindFile, return errStatic, so a
// module that uses the host before ready stops there. errStatic is success;
// errors other than bad arguments (there should be none before ready) are
// left for run time.
func checkStatic(plan func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error), raw map[string]any) error {
	m := make(map[string]any, len(raw)+1)
	for k, v := range raw {
		m[k] = v
	}
	m[staticArg] = true
	env := &tasks.Env{Conn: staticConn{}, Local: staticConn{}, Vars: map[string]any{},
		Render:   func(string) (string, error) { return "", errStatic },
		FindFile: func(string, string) (string, error) { return "", errStatic }}
	_, err := plan(context.Background(), env, m)
	var ae *argError
	switch {
	case errors.Is(err, errStatic):
		return nil // decoded and checked; stopped at ready or at the host
	case errors.As(err, &ae):
		return err
	}
	return nil
}

// staticConn is the host of a static check: it reaches nothing, and every
// method that can fail fails with errStatic.
type staticConn struct{}

var _ transport.Conn = staticConn{}

func (staticConn) Host() string { return "(arguments check)" }

func (staticConn) Run(context.Context, string, transport.RunOptions) (*transport.Result, error) {
	return nil, errStatic
}

func (staticConn) ReadFile(context.Context, string) ([]byte, error) { return nil, errStatic }

func (staticConn) Stat(context.Context, string) (*transport.FileInfo, error) { return nil, errStatic }

func (staticConn) WriteFile(context.Context, string, []byte, transport.WriteOptions) error {
	return errStatic
}

func (staticConn) Remove(context.Context, string) error { return errStatic }

func (c staticConn) Become(transport.Become) transport.Conn { return c }

func (staticConn) Close() error { return errStatic }

// checked is a core module that also checks its arguments at parse time.
type checked struct {
	plan func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error)
}

var _ tasks.ArgChecker = checked{}

func (c checked) Plan(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	return c.plan(ctx, env, raw)
}

// CheckArgs implements tasks.ArgChecker.
func (c checked) CheckArgs(raw map[string]any) error { return checkStatic(c.plan, raw) }

func (a *args) fail(format string, v ...any) {
	if a.err == nil {
		a.err = &argError{a.mod + ": " + fmt.Sprintf(format, v...)}
	}
}

// get returns the raw value of a parameter under any of its names.
func (a *args) get(name string) (any, bool) {
	names, ok := a.params[name]
	if !ok {
		panic("core: undeclared parameter " + name) // programming error
	}
	for _, n := range names {
		if v, ok := a.raw[n]; ok {
			return v, true
		}
	}
	return nil, false
}

func (a *args) has(name string) bool {
	v, ok := a.get(name)
	return ok && v != nil
}

// str returns a string parameter; numbers and booleans are formatted as
// Ansible's type coercion would. def is returned when the argument is absent
// or null.
func (a *args) str(name, def string) string {
	v, ok := a.get(name)
	if !ok || v == nil {
		return def
	}
	switch x := v.(type) {
	case string:
		return x
	case int, int64, int32, uint64, uint32, uint, float64, float32:
		return fmt.Sprint(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	a.fail("argument %s must be a string, not %T", name, v)
	return def
}

// optStr is str with "absent" distinguishable from "".
func (a *args) optStr(name string) *string {
	if !a.has(name) {
		return nil
	}
	s := a.str(name, "")
	return &s
}

// required returns a string parameter that must be present and non-empty.
func (a *args) required(name string) string {
	s := a.str(name, "")
	if s == "" && a.err == nil {
		a.fail("missing required argument: %s", name)
	}
	return s
}

// boolean accepts Ansible's spellings: yes/no, true/false, on/off, y/n,
// t/f, 1/0 (any case) and real booleans and integers.
func (a *args) boolean(name string, def bool) bool {
	v, ok := a.get(name)
	if !ok || v == nil || a.templated(v) {
		return def
	}
	b, err := toBool(v)
	if err != nil {
		a.fail("argument %s: %v", name, err)
		return def
	}
	return b
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case int64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "yes", "on", "1", "true", "y", "t", "1.0":
			return true, nil
		case "no", "off", "0", "false", "n", "f", "0.0", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("%v (%T) is not a valid boolean; use true or false", v, v)
}

// integer accepts ints, integral floats and numeric strings.
func (a *args) integer(name string, def int) int {
	v, ok := a.get(name)
	if !ok || v == nil || a.templated(v) {
		return def
	}
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case uint64:
		return int(x)
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n
		}
	}
	a.fail("argument %s must be an integer, not %v", name, v)
	return def
}

// choice returns a string parameter that must be one of choices.
func (a *args) choice(name, def string, choices ...string) string {
	if v, _ := a.get(name); a.templated(v) {
		return def
	}
	s := a.str(name, def)
	for _, c := range choices {
		if s == c {
			return s
		}
	}
	msg := fmt.Sprintf("argument %s must be one of %s, got %q", name, strings.Join(choices, ", "), s)
	if sug := suggest.Closest(s, choices); sug != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", sug)
	}
	a.fail("%s", msg)
	return def
}

// list returns a list of strings; a plain string is a one-element list (or
// comma-separated, as Ansible's list type accepts).
func (a *args) list(name string) []string {
	v, ok := a.get(name)
	if !ok || v == nil {
		return nil
	}
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			switch s := e.(type) {
			case string:
				out = append(out, s)
			case int, int64, float64, bool:
				out = append(out, fmt.Sprint(s))
			default:
				a.fail("argument %s: element %v is not a string", name, e)
				return nil
			}
		}
		return out
	case string:
		return strings.Split(x, ",")
	}
	a.fail("argument %s must be a list, not %T", name, v)
	return nil
}

// content returns a string, serializing maps and lists as JSON (as copy's
// content does).
func (a *args) content(name string) (string, bool) {
	v, ok := a.get(name)
	if !ok || v == nil {
		return "", false
	}
	switch v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			a.fail("argument %s: %v", name, err)
		}
		return string(b), true
	}
	return a.str(name, ""), true
}

// exclusive fails when more than one of names is given.
func (a *args) exclusive(names ...string) {
	var got []string
	for _, n := range names {
		if a.has(n) {
			got = append(got, n)
		}
	}
	if len(got) > 1 {
		a.fail("parameters are mutually exclusive: %s", strings.Join(got, "|"))
	}
}
