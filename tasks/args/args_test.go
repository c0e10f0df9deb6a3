package args

import (
	"errors"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/boolean"
)

// both are the two lookup rules modules use: Ansible's (core) and the
// PostgreSQL job's (host variables, blank text not given). A value means
// the same under either.
var both = map[string]Options{
	"core":     {},
	"postgres": {Vars: map[string]any{}, TrimText: true},
}

func TestUnknownArgumentSuggestsTheClosestName(t *testing.T) {
	t.Parallel()
	_, err := Parse("copy", map[string]any{"dset": "/x"}, "src", "dest", "mode")
	var ae *Error
	if !errors.As(err, &ae) || !ae.BadInput() || ae.Module != "copy" {
		t.Fatalf("got %#v", err)
	}
	want := `copy: unsupported argument "dset" (did you mean "dest"?); supported: dest, mode, src`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestInternalNamesAreNeverSuggested(t *testing.T) {
	t.Parallel()
	_, err := Parse("command", map[string]any{"_raw_param": "ls"}, "_raw_params", "cmd")
	if err == nil || strings.Contains(err.Error(), "did you mean") || strings.Contains(err.Error(), "supported: _") {
		t.Errorf("got %v", err)
	}
}

func TestTwoAliasesOfOneParameterAreRefused(t *testing.T) {
	t.Parallel()
	_, err := Parse("file", map[string]any{"path": "/a", "dest": "/b"}, "path|dest|name")
	if err == nil || err.Error() != `file: arguments "dest" and "path" are aliases of each other; give only one` {
		t.Errorf("got %v", err)
	}
	a, err := Parse("file", map[string]any{"name": "/a"}, "path|dest|name")
	if err != nil || a.Str("path", "") != "/a" {
		t.Errorf("alias: %v %q", err, a.Str("path", ""))
	}
}

// TestBooleansAreAnsibleStrictEverywhere pins every module's booleans to
// boolean.Parse: "t" was an error for the PostgreSQL modules, and "" (and
// "none" there) silently false for both.
func TestBooleansAreAnsibleStrictEverywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want any // true, false or "error"
	}{
		{true, true}, {false, false},
		{"yes", true}, {"Yes", true}, {" on ", true}, {"1", true}, {"true", true}, {"TRUE", true}, {"y", true}, {"t", true}, {"T", true},
		{"no", false}, {"off", false}, {"0", false}, {"false", false}, {"n", false}, {"f", false}, {"F", false},
		{1, true}, {0, false}, {1.0, true}, {0.0, false}, {int64(1), true},
		{"", "error"}, {" ", "error"}, {"none", "error"}, {"None", "error"}, {"1.0", "error"}, {"0.0", "error"},
		{"maybe", "error"}, {2, "error"}, {-1, "error"}, {0.5, "error"}, {[]any{true}, "error"},
	}
	for mode, o := range both {
		for _, tt := range tests {
			a, err := o.Parse("m", map[string]any{"b": tt.in}, "b")
			if err != nil {
				t.Fatal(err)
			}
			got := a.Bool("b", true)
			switch {
			case tt.want == "error":
				var be *boolean.Error
				if a.Err() == nil || !errors.As(a.Err(), &be) || !strings.HasPrefix(a.Err().Error(), "m: b: ") {
					t.Errorf("%s: %#v: got %v, %v; want an error naming m and b", mode, tt.in, got, a.Err())
				}
			case a.Err() != nil || got != tt.want:
				t.Errorf("%s: %#v: got %v, %v; want %v", mode, tt.in, got, a.Err(), tt.want)
			}
		}
	}
}

// TestIntegersRefuseFractionsEverywhere: 1.5 was truncated to 1 by the
// PostgreSQL modules and refused by the core ones; it is refused by both.
func TestIntegersRefuseFractionsEverywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want any // an int or "error"
	}{
		{12, 12}, {int64(-3), -3}, {uint8(7), 7}, {30.0, 30}, {"12", 12}, {" 12 ", 12}, {"-4", -4},
		{1.5, "error"}, {"1.5", "error"}, {"30.0", "error"}, {"abc", "error"}, {true, "error"}, {[]any{1}, "error"},
	}
	for mode, o := range both {
		for _, tt := range tests {
			a, err := o.Parse("m", map[string]any{"n": tt.in}, "n")
			if err != nil {
				t.Fatal(err)
			}
			got := a.Int("n", -99)
			switch {
			case tt.want == "error":
				if a.Err() == nil || !strings.Contains(a.Err().Error(), "m: n: want an integer, got ") {
					t.Errorf("%s: %#v: got %d, %v; want an error", mode, tt.in, got, a.Err())
				}
			case a.Err() != nil || got != tt.want:
				t.Errorf("%s: %#v: got %d, %v; want %v", mode, tt.in, got, a.Err(), tt.want)
			}
		}
	}
}

func TestIntegerErrorQuotesText(t *testing.T) {
	t.Parallel()
	a, _ := Options{Vars: map[string]any{"pg_port": "abc"}}.Parse("pg_facts", nil)
	a.Int("pg_port", 5432)
	if a.Err() == nil || a.Err().Error() != `pg_facts: pg_port: want an integer, got "abc"` {
		t.Errorf("got %v", a.Err())
	}
}

// TestBlankText: Ansible keeps a blank string as given; the PostgreSQL
// job's TrimText reads blank text as not given, except for a boolean.
func TestBlankText(t *testing.T) {
	t.Parallel()
	raw := map[string]any{"s": "  ", "n": "", "b": "", "l": " "}
	core, _ := Parse("m", raw, "s", "n", "b", "l")
	if got := core.Str("s", "def"); got != "  " {
		t.Errorf("core: Str = %q", got)
	}
	if core.Int("n", 7); core.Err() == nil {
		t.Error("core: blank integer accepted")
	}
	pg, _ := both["postgres"].Parse("m", raw, "s", "n", "b", "l")
	if got := pg.Str("s", "def"); got != "def" {
		t.Errorf("postgres: Str = %q", got)
	}
	if got := pg.Int("n", 7); got != 7 || pg.OptStr("s") != nil || pg.List("l") != nil || pg.Err() != nil {
		t.Errorf("postgres: Int = %d, err %v", got, pg.Err())
	}
	if pg.Bool("b", true); pg.Err() == nil {
		t.Error("postgres: blank boolean accepted")
	}
}

func TestStringsFormatScalarsAsPython(t *testing.T) {
	t.Parallel()
	a, _ := Parse("m", map[string]any{"i": 5, "f": 1.5, "t": true, "l": []any{"x"}, "m": map[string]any{}}, "i", "f", "t", "l", "m")
	if a.Str("i", "") != "5" || a.Str("f", "") != "1.5" || a.Str("t", "") != "True" || a.Err() != nil {
		t.Errorf("scalars: %q %q %q %v", a.Str("i", ""), a.Str("f", ""), a.Str("t", ""), a.Err())
	}
	a.Str("l", "")
	if a.Err() == nil || a.Err().Error() != "m: l: want a string, got a list" {
		t.Errorf("list: %v", a.Err())
	}
}

func TestLists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in             any
		core, postgres string // joined with |, or "error"
	}{
		{[]any{"a", 2, true}, "a|2|True", "a|2|True"},
		{[]string{"a", " b"}, "a| b", "a|b"},
		{"a,b", "a|b", "a|b"},
		{"a, b,", "a| b|", "a|b"},
		{"[a, 'b', \"c\"]", "[a| 'b'| \"c\"]", "a|b|c"},
		{5, "5", "5"},
		{true, "error", "error"},
		{[]any{map[string]any{}}, "error", "error"},
		{map[string]any{"a": 1}, "error", "error"},
	}
	for _, tt := range tests {
		for mode, want := range map[string]string{"core": tt.core, "postgres": tt.postgres} {
			a, _ := both[mode].Parse("m", map[string]any{"l": tt.in}, "l")
			got := strings.Join(a.List("l"), "|")
			if want == "error" {
				if a.Err() == nil {
					t.Errorf("%s: %#v: got %q, want an error", mode, tt.in, got)
				}
			} else if got != want || a.Err() != nil {
				t.Errorf("%s: %#v: got %q %v, want %q", mode, tt.in, got, a.Err(), want)
			}
		}
	}
}

func TestVarsAreLookedUpAfterArguments(t *testing.T) {
	t.Parallel()
	o := Options{Vars: map[string]any{"a": false, "b": "x", "n": 3, "only_var": "v"}}
	a, err := o.Parse("m", map[string]any{"a": "True", "n": nil}, "a", "n")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Bool("a", false) || a.Str("b", "") != "x" || a.Int("n", 0) != 3 || a.Str("only_var", "") != "v" || a.Str("missing", "d") != "d" {
		t.Error("arguments must beat variables, variables beat defaults")
	}
}

func TestUndeclaredParameterWithoutVarsPanics(t *testing.T) {
	t.Parallel()
	a, _ := Parse("m", nil, "a")
	defer func() {
		if recover() == nil {
			t.Error("reading an undeclared parameter did not panic")
		}
	}()
	a.Str("b", "")
}

func TestChoiceSuggests(t *testing.T) {
	t.Parallel()
	a, _ := Parse("service", map[string]any{"state": "start"}, "state")
	if got := a.Choice("state", "", "started", "stopped"); got != "" {
		t.Errorf("got %q", got)
	}
	want := `service: state: want one of started, stopped; got "start" (did you mean "started"?)`
	if a.Err() == nil || a.Err().Error() != want {
		t.Errorf("got  %v\nwant %s", a.Err(), want)
	}
}

func TestFirstErrorWins(t *testing.T) {
	t.Parallel()
	a, _ := Parse("m", map[string]any{"b": "maybe", "n": "x"}, "b", "n")
	a.Bool("b", false)
	a.Int("n", 0)
	a.Exclusive("b", "n")
	if a.Err() == nil || !strings.HasPrefix(a.Err().Error(), "m: b: ") {
		t.Errorf("got %v", a.Err())
	}
}

func TestExclusiveAndRequired(t *testing.T) {
	t.Parallel()
	a, _ := Parse("lineinfile", map[string]any{"insertafter": "a", "insertbefore": "b"}, "path", "insertafter", "insertbefore")
	a.Exclusive("insertbefore", "insertafter")
	if a.Err() == nil || a.Err().Error() != "lineinfile: parameters are mutually exclusive: insertbefore|insertafter" {
		t.Errorf("exclusive: %v", a.Err())
	}
	a, _ = Parse("replace", map[string]any{}, "regexp")
	a.Required("regexp")
	if a.Err() == nil || a.Err().Error() != "replace: missing required argument: regexp" {
		t.Errorf("required: %v", a.Err())
	}
}

func TestContentSerialisesData(t *testing.T) {
	t.Parallel()
	a, _ := Parse("copy", map[string]any{"content": map[string]any{"k": []any{1}}}, "content")
	if got, ok := a.Content("content"); !ok || got != `{"k":[1]}` {
		t.Errorf("got %q %v", got, ok)
	}
}

// TestStaticModeAcceptsTemplates: at parse time a template is accepted as
// it is, a literal value is still checked, and Ready stops the module.
func TestStaticModeAcceptsTemplates(t *testing.T) {
	t.Parallel()
	raw := Static(map[string]any{"b": "{{ x }}", "n": "{% if y %}1{% endif %}", "c": "{{ s }}"})
	a, err := Parse("m", raw, "b", "n", "c")
	if err != nil {
		t.Fatal(err)
	}
	if a.Bool("b", true) != true || a.Int("n", 3) != 3 || a.Choice("c", "x", "x", "y") != "x" {
		t.Error("template not taken as its default")
	}
	if err := a.Ready(); !errors.Is(err, ErrStatic) {
		t.Errorf("Ready = %v, want ErrStatic", err)
	}
	a, _ = Parse("m", Static(map[string]any{"b": "maybe"}), "b")
	a.Bool("b", false)
	if err := a.Ready(); err == nil || errors.Is(err, ErrStatic) {
		t.Errorf("Ready = %v, want the boolean error", err)
	}
	a, _ = Parse("m", map[string]any{"b": "{{ x }}"}, "b")
	if a.Bool("b", false); a.Ready() == nil {
		t.Error("outside static mode a template must be decoded (and fail)")
	}
}

func TestErrorWrapsAndOmitsEmptyParts(t *testing.T) {
	t.Parallel()
	inner := errors.New("no such thing")
	for _, tt := range []struct {
		e    *Error
		want string
	}{
		{&Error{Module: "m", Arg: "a", Err: inner}, "m: a: no such thing"},
		{&Error{Module: "m", Err: inner}, "m: no such thing"},
		{&Error{Err: inner}, "no such thing"},
		{Errorf("m", "a", "read: %w", inner), "m: a: read: no such thing"},
	} {
		if tt.e.Error() != tt.want || !errors.Is(tt.e, inner) {
			t.Errorf("%#v: %q", tt.e, tt.e.Error())
		}
	}
}
