package template

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ansibleRow is one expression Ansible's templar rendered (record-exprs.py).
type ansibleRow struct {
	Template string `json:"template"`
	Cond     string `json:"cond"`
	Result   any    `json:"result"`
	Error    string `json:"error"`
}

// TestExpressionsRenderAsAnsibleDoes renders every recorded template and
// condition and compares with what Ansible gave: string methods, backslashes
// in literals, ansible.builtin names, the newer filters and YAML layout.
func TestExpressionsRenderAsAnsibleDoes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/ansible-exprs.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Vars map[string]any `json:"vars"`
		Rows []ansibleRow   `json:"rows"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	rec.Vars = normalizeJSON(rec.Vars).(map[string]any) // whole numbers as Ansible read them from YAML
	_, offset := time.Now().Zone()
	for _, row := range rec.Rows {
		name := row.Template + row.Cond
		if strings.Contains(name, "strftime") && offset != 0 {
			continue // recorded with TZ=UTC; strftime uses local time
		}
		t.Run(name, func(t *testing.T) {
			s := New().Scope(rec.Vars)
			var got any
			var err error
			if row.Cond != "" {
				got, err = s.Cond(row.Cond)
			} else {
				got, err = s.Template(row.Template)
			}
			if row.Error != "" {
				if err == nil {
					t.Fatalf("Ansible fails (%s); got %#v", row.Error, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ansible gives %#v; got error %v", row.Result, err)
			}
			if !sameAsAnsible(got, row.Result) {
				t.Errorf("got %#v, Ansible gives %#v", got, row.Result)
			}
		})
	}
}

// sameAsAnsible compares a native result with a recorded one: Ansible
// renders a lone number as its text, so numbers compare by text.
func sameAsAnsible(got, want any) bool {
	if ws, ok := want.(string); ok {
		return fmt.Sprint(got) == ws
	}
	gb, _ := json.Marshal(jsonable(got))
	var g any
	_ = json.Unmarshal(gb, &g)
	return reflect.DeepEqual(g, want)
}

// TestCollectionFiltersAreNamedNotSupported: a filter or test of another
// collection is reported as not supported yet, never as a misspelling,
// while ansible.builtin names of Ansible's own plugins are accepted.
func TestCollectionFiltersAreNamedNotSupported(t *testing.T) {
	t.Parallel()
	e := New()
	cases := map[string]string{
		"{{ ip | ansible.utils.ipaddr('address') }}":   `not supported yet: filter "ansible.utils.ipaddr"`,
		"{{ x is community.general.a_module }}":        `not supported yet: test "community.general.a_module"`,
		"{{ x | ansible.builtin.to_json }}":            "",
		"{{ x is ansible.builtin.version('1', '>') }}": "",
		"{{ x | ansible.builtin.regex_replace('a') }}": "",
		"{{ 'ansible.utils.ipaddr' | default('x') }}":  "",
		"{{ x | defualt('x') }}":                       `no filter named "defualt"`,
	}
	for text, want := range cases {
		err := e.CheckNames(text, false)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", text, got, want)
		}
	}
}
