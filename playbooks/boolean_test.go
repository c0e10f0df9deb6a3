package playbooks

// Every yes/no a playbook holds is read by one of Ansible's two rules
// (internal/boolean): play and task keywords and connection variables by
// the strict boolean() (boolean.Parse), the `bool` filter and result tests
// by to_bool (boolean.Filter). These tables pin where each rule applies.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/playbooks/template"
)

// keywordValues are YAML values of a boolean keyword and what Ansible's
// boolean() makes of them ("error": the keyword is refused).
var keywordValues = []struct {
	yaml string
	want any
}{
	{"true", true}, {"True", true}, {"yes", true}, {"YES", true}, {"y", true}, {"Y", true},
	{"t", true}, {"on", true}, {"1", true}, {"1.0", true}, {"'1'", true}, {"' yes '", true},
	{"false", false}, {"no", false}, {"n", false}, {"N", false}, {"f", false}, {"off", false},
	{"0", false}, {"0.0", false}, {"'0'", false}, {"' Off'", false},
	{"maybe", "error"}, {"2", "error"}, {"0.5", "error"}, {"'1.0'", "error"}, {"''", "error"},
	{"~", "error"}, {"[yes]", "error"}, {"{a: 1}", "error"}, {"enable", "error"},
}

// keywords are the boolean keywords of plays and tasks, with where they go
// in the YAML and how to read them back from the parse.
var keywords = []struct {
	name string
	play bool
	get  func(play *Play) bool
}{
	{"become", true, func(p *Play) bool { return *p.Become }},
	{"gather_facts", true, func(p *Play) bool { return *p.GatherFacts }},
	{"any_errors_fatal", true, func(p *Play) bool { return p.AnyErrorsFatal }},
	{"force_handlers", true, func(p *Play) bool { return p.ForceHandlers }},
	{"check_mode", true, func(p *Play) bool { return *p.CheckMode }},
	{"become", false, func(p *Play) bool { return *p.Tasks[0].Become }},
	{"ignore_errors", false, func(p *Play) bool { return p.Tasks[0].IgnoreErrors }},
	{"ignore_unreachable", false, func(p *Play) bool { return p.Tasks[0].IgnoreUnreachable }},
	{"no_log", false, func(p *Play) bool { return p.Tasks[0].NoLog }},
	{"run_once", false, func(p *Play) bool { return p.Tasks[0].RunOnce }},
	{"check_mode", false, func(p *Play) bool { return *p.Tasks[0].CheckMode }},
	{"diff", false, func(p *Play) bool { return *p.Tasks[0].Diff }},
}

// TestKeywordBooleansAreAnsiblesStrictBoolean: become: t, gather_facts: y,
// no_log: 1.0 are booleans as in Ansible; anything boolean() refuses
// ("maybe", 2, the string "1.0", null, a list) is a parse error naming the
// keyword and where it is written.
func TestKeywordBooleansAreAnsiblesStrictBoolean(t *testing.T) {
	t.Parallel()
	mods := testModules()
	for _, kw := range keywords {
		for _, v := range keywordValues {
			where := "task"
			src := fmt.Sprintf("- hosts: all\n  tasks:\n    - tmsg: {msg: x}\n      %s: %s\n", kw.name, v.yaml)
			if kw.play {
				where = "play"
				src = fmt.Sprintf("- hosts: all\n  %s: %s\n  tasks:\n    - tmsg: {msg: x}\n", kw.name, v.yaml)
			}
			pb, err := Parse(mods, "site.yml", []byte(src))
			if v.want == "error" {
				line := map[bool]string{true: "site.yml:2:", false: "site.yml:4:"}[kw.play]
				if err == nil || !strings.HasPrefix(err.Error(), line) || !strings.Contains(err.Error(), kw.name+" must be true or false") {
					t.Errorf("%s %s: %s: got %v, want an error at %s", where, kw.name, v.yaml, err, line)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %s: %v", where, kw.name, v.yaml, err)
				continue
			}
			if got := kw.get(pb.Plays[0]); got != v.want {
				t.Errorf("%s %s: %s = %v, want %v", where, kw.name, v.yaml, got, v.want)
			}
		}
	}
}

// TestBoolFilterIsAnsiblesToBool: `x | bool` is true only for yes, on, 1,
// true (any case, blanks not trimmed) and the number 1, as Ansible's
// to_bool; y, t and everything else are false, never an error. The
// registered-result tests (is changed, is failed, ...) read their key the
// same way.
func TestBoolFilterIsAnsiblesToBool(t *testing.T) {
	t.Parallel()
	scope := template.New().Scope(nil)
	for expr, want := range map[string]bool{
		"'yes' | bool": true, "'YES' | bool": true, "'on' | bool": true, "'1' | bool": true, "'True' | bool": true,
		"1 | bool": true, "1.0 | bool": true, "true | bool": true,
		"'y' | bool": false, "'t' | bool": false, "'Y' | bool": false, "' yes' | bool": false, "'yes ' | bool": false,
		"'no' | bool": false, "'maybe' | bool": false, "2 | bool": false, "0 | bool": false, "None | bool": false,
		"'' | bool": false, "false | bool": false,
		"{'changed': 'yes'} is changed": true, "{'changed': 'y'} is changed": false,
		"{'failed': 1} is failed": true, "{'failed': 't'} is failed": false,
	} {
		got, err := scope.Cond(expr)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", expr, got, err, want)
		}
	}
}

// TestBecomeVariableIsAStrictBoolean: ansible_become (or sshplay_become)
// from the inventory is read by boolean(): t and 1.0 turn become on, off
// turns it off, and a value that is no boolean fails the task, naming the
// variable, rather than running it without become.
func TestBecomeVariableIsAStrictBoolean(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want string // the user the command ran as, or the failure
	}{
		{"t", "root"}, {"Yes", "root"}, {1.0, "root"}, {true, "root"}, {"y", "root"},
		{"off", "login"}, {"n", "login"}, {0, "login"}, {false, "login"},
		{"maybe", `ansible_become: \"maybe\" is not a valid boolean`}, // as the JSON result shows it
		{2, "ansible_become: 2 (int) is not a valid boolean"},
	} {
		f := newFleet(1)
		f.vars["db01"]["ansible_become"] = tc.v
		sum, out := runYAML(t, f, "- hosts: dbservers\n  tasks:\n    - trun: id\n")
		ran := f.ran("db01")
		if strings.HasPrefix(tc.want, "ansible_become") {
			if sum.Failed() != 1 || len(ran) != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("ansible_become=%#v: ran %q, failed %d, want a failure saying %q:\n%s", tc.v, ran, sum.Failed(), tc.want, out)
			}
			continue
		}
		if len(ran) != 1 || ran[0] != tc.want+": id" {
			t.Errorf("ansible_become=%#v: ran %q, want as %s", tc.v, ran, tc.want)
		}
	}
}
