package template

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func testScope() *Scope {
	return New().Scope(map[string]any{
		"pg_version": "15",
		"name":       "db01",
		"port":       5432,
		"ports":      []any{1, 2, 2, 3},
		"ref":        "{{ name }}-x",
		"ref2":       "{{ ref }}-y",
		"list_ref":   "{{ ports }}",
		"loop_a":     "{{ loop_b }}",
		"loop_b":     "{{ loop_a }}",
		"bad":        "{{ nope }}",
		"nested":     map[string]any{"a": "{{ port + 1 }}", "b": []any{"{{ name | upper }}"}},
		"res":        Literal{V: map[string]any{"changed": true, "failed": false, "stdout": "{{ not rendered }}"}},
		"lit":        Literal{V: "{{ raw }}"},
		"empty":      nil,
		"hostvars": map[string]any{"db02": NewLazyVars(func() *Scope {
			return New().Scope(map[string]any{"x": "{{ y }}!", "y": "why"})
		})},
	})
}

func TestRender(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want any
	}{
		{"plain", "plain"},
		{"{{ name }}", "db01"},
		{"{{ port }}", 5432},
		{"{{ ports }}", []any{1, 2, 2, 3}},
		{"{{ ports | unique }}", []any{1, 2, 3}},
		{"{{ ref2 }}", "db01-x-y"},
		{"{{ list_ref | length }}", 4},
		{"port={{ port }}", "port=5432"},
		{"{{ pg_version | int >= 12 }}", true},
		{"{{ 'yes' | bool }}", true},
		{"{{ missing | default('d') }}", "d"},
		{"{{ nested }}", map[string]any{"a": 5433, "b": []any{"DB01"}}},
		{"{{ {'a': 1} | combine({'b': 2}) }}", map[string]any{"a": 1, "b": 2}},
		{"{{ {'a': 1} | to_json }}", `{"a":1}`},
		{`{{ '{"a": [1]}' | from_json }}`, map[string]any{"a": []any{1}}},
		// Inside {{ }} Ansible keeps a literal's backslashes as written:
		// one escapes the dot, two are a literal backslash (recorded).
		{"{{ 'a.b.c' | regex_replace('\\.', '-') }}", "a-b-c"},
		{"{{ 'a.b.c' | regex_replace('\\\\.', '-') }}", "a.b.c"},
		{"{{ 'ver 15.4' | regex_search('[0-9.]+') }}", "15.4"},
		{"{{ '/etc/x/y.conf' | basename }}", "y.conf"},
		{"{{ '/etc/x/y.conf' | dirname }}", "/etc/x"},
		{"{{ 'hi' | b64encode | b64decode }}", "hi"},
		{"{{ true | ternary('a', 'b') }}", "a"},
		{"{{ [[1, [2]], 3] | flatten }}", []any{1, 2, 3}},
		{"{{ {'k': 'v'} | dict2items }}", []any{map[string]any{"key": "k", "value": "v"}}},
		{"{{ res is changed }}", true},
		{"{{ res is failed }}", false},
		{"{{ res is succeeded }}", true},
		{"{{ res.stdout }}", "{{ not rendered }}"},
		{"{{ lit }}", "{{ raw }}"},
		{"{{ '15.2' is version('9.6', '>') }}", true},
		{"{{ empty is defined }}", true},
		{"{{ missing is defined }}", false},
		{"{{ missing.attr is defined }}", false},
		{"{{ hostvars['db02'].x }}", "why!"},
		{"{{ hostvars.db02['y'] }}", "why"},
		{"{{ 'db02' in hostvars }}", true},
		{"{% for p in ports %}{{ p }}{% endfor %}", "1223"},
		{"{{ bad | default('fallback') }}", "fallback"},
	}
	for _, c := range cases {
		s := testScope()
		got, err := s.Template(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"{{ nope }}", `undefined variable "nope"`},
		{"x {{ nope.y }}", `undefined variable "nope"`},
		{"{{ loop_a }}", "refers to itself"},
		{"{{ bad }}", `undefined variable "nope"`},
		{"{{ name.nope }}", `nope`},
		{"{{ port | nofilter }}", "nofilter"},
	}
	for _, c := range cases {
		_, err := testScope().Template(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want error containing %q", c.in, err, c.want)
		}
	}
	var ue *UndefinedError
	if _, err := testScope().Render("{{ nope }}"); !errors.As(err, &ue) || ue.Name != "nope" {
		t.Errorf("want *UndefinedError for nope, got %v", err)
	}
}

func TestCond(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want bool
	}{
		{"pg_version | int >= 12", true},
		{"pg_version | int < 12", false},
		{"name == 'db01'", true},
		{"missing is not defined", true},
		{"res is changed and port > 1", true},
		{"'false'", false},
		{"ports", true},
		{"{{ port == 5432 }}", true},
	}
	for _, c := range cases {
		got, err := testScope().Cond(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %v want %v", c.expr, got, c.want)
		}
	}
	if _, err := testScope().Cond("nope > 1"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("undefined in condition: got %v", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	e := New()
	if err := e.Check("{{ x "); err == nil {
		t.Error("unterminated expression: want syntax error")
	}
	if err := e.Check("{% if x %}y"); err == nil {
		t.Error("unterminated if: want syntax error")
	}
	if err := e.CheckExpr("x ==="); err == nil {
		t.Error("bad expression: want error")
	}
	if err := e.CheckExpr("x is defined and y | int > 1"); err != nil {
		t.Error(err)
	}
}

func TestOmit(t *testing.T) {
	t.Parallel()
	s := New().Scope(map[string]any{"omit": Omit})
	got, err := s.Template(map[string]any{"a": "{{ omit }}", "b": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]any{"b": "x"}) {
		t.Errorf("got %v", got)
	}
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	if CompareVersions("9.6", "12") >= 0 || CompareVersions("15.10", "15.2") <= 0 || CompareVersions("1.0", "1") != 0 {
		t.Error("version ordering wrong")
	}
}

// countingMapper counts how often a template made it build its map.
type countingMapper struct{ n int }

func (c *countingMapper) Map() map[string]any {
	c.n++
	return map[string]any{"data_directory": "/pg/data", "ssl": true}
}

func TestMapperVariables(t *testing.T) {
	t.Parallel()
	e := New()
	m := &countingMapper{}
	s := e.Scope(map[string]any{
		"pg":  Literal{V: m},
		"reg": Literal{V: map[string]any{"changed": true, "ansible_facts": map[string]any{"pg": m}}},
	})
	if got, err := s.Render("{{ reg.changed }}"); err != nil || got != "True" || m.n != 0 {
		t.Fatalf("reg.changed = %q, %v; Map calls %d, want True and none", got, err, m.n)
	}
	if got, err := s.Render("{{ pg.data_directory }}"); err != nil || got != "/pg/data" {
		t.Fatalf("pg.data_directory = %q, %v", got, err)
	}
	if got, err := s.Render("{{ reg.ansible_facts.pg.data_directory }}|{{ reg['ansible_facts']['pg']['ssl'] }}"); err != nil || got != "/pg/data|True" {
		t.Fatalf("nested = %q, %v", got, err)
	}
	if v, ok, err := s.Get("pg"); err != nil || !ok || v != Mapper(m) {
		t.Fatalf("Get(pg) = %v, %v, %v: want the value itself for modules", v, ok, err)
	}
}

func TestUndefinedVariableHint(t *testing.T) {
	t.Parallel()
	s := New().Scope(map[string]any{"inventory_hostname": "db01"})
	_, err := s.Render("{{ inventory_hostnam }}")
	if err == nil || !strings.Contains(err.Error(), `undefined variable "inventory_hostnam" (did you mean "inventory_hostname"?)`) {
		t.Errorf("err = %v", err)
	}
}

// TestMalformedTemplatesAreSyntaxErrors: texts on which gonja's parser
// itself breaks (a test name that is no name, "x is !0") are syntax
// errors like any other, never a crash of the run.
func TestMalformedTemplatesAreSyntaxErrors(t *testing.T) {
	t.Parallel()
	e := New()
	for _, text := range []string{"{{ A is !000000 }}", "{% if x is !0 %}y{% endif %}"} {
		if err := e.Check(text); err == nil || !strings.Contains(err.Error(), "template syntax error") {
			t.Errorf("Check(%q) = %v, want a template syntax error", text, err)
		}
	}
	if err := e.CheckExpr("A is !000000"); err == nil || !strings.Contains(err.Error(), "template syntax error") {
		t.Errorf("CheckExpr: %v, want a template syntax error", err)
	}
}
