package playbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"

	"github.com/sshplay/sshplay/transport"
)

func TestParseKVDecodesEscapesAndFailIsKV(t *testing.T) {
	t.Parallel()
	mods := AllModules()
	args, err := ParseKV(`content="x\n" dest=/tmp/a tab='a\tb' uni="\u00e9" keep=a\d`, mods.FreeForm("copy"))
	if err != nil {
		t.Fatal(err)
	}
	if args["content"] != "x\n" || args["tab"] != "a\tb" || args["uni"] != "é" || args["keep"] != `a\d` {
		t.Errorf("got %#v", args)
	}
	args, err = ParseKV(`echo a\nb creates=/x\ny`, mods.FreeForm("command"))
	if err != nil || args["_raw_params"] != `echo a\nb` || args["creates"] != "/x\ny" {
		t.Errorf("command: %#v %v", args, err)
	}
	args, err = ParseKV("msg=boom", mods.FreeForm("fail"))
	if err != nil || args["msg"] != "boom" || args["_raw_params"] != nil {
		t.Errorf("fail msg=boom: %#v %v", args, err)
	}
	if _, err := ParseKV("boom", mods.FreeForm("fail")); err == nil {
		t.Error("fail with free text: want an error (fail takes no free form)")
	}
}

// parseErr parses src with mods and returns its *ParseError.
func parseErr(t *testing.T, mods *tasks.Registry, src string) *ParseError {
	t.Helper()
	_, err := Parse(mods, "site.yml", []byte(src))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *ParseError, got %v", err)
	}
	return pe
}

func TestFailShortFormRuns(t *testing.T) {
	t.Parallel()
	sum, out := runYAML(t, newFleet(1), "- hosts: dbservers\n  tasks:\n    - fail: msg=boom\n")
	if sum.Failed() == 0 || !strings.Contains(out, `"msg": "boom"`) {
		t.Errorf("%s:\n%s", outcome(sum), out)
	}
}

func TestTemplateModuleUsesTrimBlocks(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	f.hosts["db01"].files["/etc/.keep"] = nil
	tpl := "{% for x in ['a', 'b'] %}\n{{ x }}\n{% endfor %}\nend {{ 'y' }}\n"
	_, out := runDir(t, f, map[string]string{"templates/t.j2": tpl}, `
- hosts: dbservers
  tasks:
    - template: {src: t.j2, dest: /etc/t}
    - copy:
        content: "{% if true %}\nkept\n{% endif %}\n"
        dest: /etc/c
`, func(o *Options) { o.Local = transport.Local() })
	if got := string(f.hosts["db01"].files["/etc/t"]); got != "a\nb\nend y\n" {
		t.Errorf("template file rendered without trim_blocks: %q\n%s", got, out)
	}
	if got := string(f.hosts["db01"].files["/etc/c"]); got != "\nkept\n\n" {
		t.Errorf("arguments must keep Jinja's defaults: %q", got)
	}
}

func TestDiffFalseHidesDiff(t *testing.T) {
	t.Parallel()
	_, out := runYAML(t, newFleet(1), `
- hosts: dbservers
  tasks:
    - tput: {path: /etc/a, content: "shown-diff\n"}
    - tput: {path: /etc/b, content: "hidden-diff\n"}
      diff: false
`, func(o *Options) { o.Diff = true })
	if !strings.Contains(out, "+shown-diff") || strings.Contains(out, "hidden-diff") {
		t.Errorf("diff: false not honoured:\n%s", out)
	}
	_, out = runYAML(t, newFleet(1), `
- hosts: dbservers
  tasks:
    - tput: {path: /etc/b, content: "wanted-diff\n"}
      diff: true
`, func(o *Options) { o.Format = "json" })
	if !strings.Contains(out, "wanted-diff") {
		t.Errorf("diff: true without --diff:\n%s", out)
	}
}

func TestStartAtUnknownTaskIsBadInput(t *testing.T) {
	t.Parallel()
	mods := testModules()
	pb, err := Parse(mods, "site.yml", []byte("- hosts: dbservers\n  tasks:\n    - {name: restart postgres, trun: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(1)
	_, err = Run(t.Context(), []*Playbook{pb}, Options{Modules: mods, Inventory: f, Connector: f, Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}, StartAtTask: "restart postgre"})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `(did you mean "restart postgres"?)`) {
		t.Errorf("want a parse error with did-you-mean, got %v", err)
	}
	if len(f.ran("db01")) != 0 {
		t.Errorf("ran %v", f.ran("db01"))
	}
}

func TestShippedCheckPlaybookProbesRunInCheckMode(t *testing.T) {
	t.Parallel()
	mods := AllModules()
	pb, err := Load(mods, "check")
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(1)
	var out strings.Builder
	_, err = Run(t.Context(), []*Playbook{pb}, Options{Modules: mods, Inventory: f, Connector: f, Check: true, Out: &out,
		Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}})
	if err != nil {
		t.Fatal(err)
	}
	// The fake host answers "root" to id -u: the assertion fails, but on
	// the probe's real output, not on an undefined one.
	if strings.Contains(out.String(), "undefined") || !strings.Contains(out.String(), "id -u printed root") {
		t.Errorf("check.yml under --check:\n%s", out.String())
	}
}

func TestUntilNotEvaluatedOnCheckModeSkip(t *testing.T) {
	t.Parallel()
	sum, out := runYAML(t, newFleet(1), `
- hosts: dbservers
  tasks:
    - command: pg_isready
      register: r
      until: r.rc == 0
      retries: 2
      delay: 0
`, func(o *Options) { o.Check = true })
	if !clean(sum) || !strings.Contains(out, "would run") {
		t.Errorf("%s:\n%s", outcome(sum), out)
	}
}

func TestOutputLikeAnsible(t *testing.T) {
	t.Parallel()
	src := `
- name: rolling
  hosts: dbservers
  serial: 1
  tasks:
    - tput: {path: /etc/a, content: "x\n"}
    - meta: flush_handlers
`
	_, out := runYAML(t, newFleet(2), src, func(o *Options) { o.Diff = true })
	if strings.Count(out, "PLAY [rolling] ***") != 2 {
		t.Errorf("PLAY banner not repeated per batch:\n%s", out)
	}
	if strings.Contains(out, "(write /etc/a)") {
		t.Errorf("plan note in a real run:\n%s", out)
	}
	if strings.Contains(out, "TASK [meta]") {
		t.Errorf("banner for a meta task:\n%s", out)
	}
	if !strings.Contains(out, "--- before: /etc/a\n+++ after: /etc/a\n") {
		t.Errorf("diff headers:\n%s", out)
	}
	_, out = runYAML(t, newFleet(2), src, func(o *Options) { o.Check = true })
	if !strings.Contains(out, "changed: [db01] (write /etc/a)") {
		t.Errorf("plan note under --check:\n%s", out)
	}
	_, out = runYAML(t, newFleet(1), `
- hosts: dbservers
  tasks:
    - trun: x
      failed_when: true
- hosts: dbservers
  tasks:
    - trun: y
`)
	if !strings.Contains(out, "\nNO MORE HOSTS LEFT ****") {
		t.Errorf("NO MORE HOSTS LEFT banner:\n%s", out)
	}
}

// checkedModule is a test module whose arguments are checked at parse.
type checkedModule struct{}

func (checkedModule) Plan(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	return &tasks.Change{Action: tasks.None}, nil
}

func (checkedModule) CheckArgs(args map[string]any) error {
	for k := range args {
		if k != "path" && k != "state" {
			return fmt.Errorf("unknown argument %q", k)
		}
	}
	if s, ok := args["state"].(string); ok && s != "present" && !template.IsTemplate(s) {
		return fmt.Errorf("state: want present, got %q", s)
	}
	return nil
}

func TestParseTimeChecks(t *testing.T) {
	t.Parallel()
	mods := testModules()
	mods.Add(checkedModule{}, "tchecked")
	for _, tc := range []struct {
		name, src, want string
	}{
		{"module argument", "- hosts: all\n  tasks:\n    - tchecked:\n        path: /x\n        stat: present\n",
			`site.yml:5:9: tchecked: unknown argument "stat"`},
		{"module argument via args", "- hosts: all\n  tasks:\n    - tchecked: path=/x\n      args:\n        state: absent\n",
			`site.yml:5:9: tchecked: state: want present, got "absent"`},
		{"module argument short form", "- hosts: all\n  tasks:\n    - tchecked: path=/x sate=present\n",
			`site.yml:3:7: tchecked: unknown argument "sate"`},
		{"unknown filter", "- hosts: all\n  tasks:\n    - tmsg: {msg: \"{{ x | defualt('y') }}\"}\n",
			`site.yml:3:19: unknown filter "defualt" (did you mean "default"?)`},
		{"unknown test in when", "- hosts: all\n  tasks:\n    - tmsg: {msg: x}\n      when: x is defind\n",
			`site.yml:4:13: unknown test "defind" (did you mean "defined"?)`},
		{"unknown filter in when", "- hosts: all\n  tasks:\n    - tmsg: {msg: x}\n      when: x | lenght >= 3\n",
			`site.yml:4:13: unknown filter "lenght" (did you mean "length"?)`},
		{"loop literal", "- hosts: all\n  tasks:\n    - tmsg: {msg: x}\n      loop: not-a-list\n",
			`site.yml:4:13: loop must be a list or a template giving one, got "not-a-list"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := parseErr(t, mods, tc.src)
			if !strings.Contains(pe.Error(), tc.want) {
				t.Errorf("got %q, want %q", pe.Error(), tc.want)
			}
		})
	}
	for _, ok := range []string{
		"- hosts: all\n  tasks:\n    - tchecked: {path: /x, state: \"{{ s }}\"}\n      when: x is not none and (y | default(1) | int) > 0\n",
		"- hosts: all\n  tasks:\n    - tmsg: {msg: \"{{ x | to_json }}\"}\n      loop: \"{{ items | default([]) }}\"\n      when: v is version('1.0', '>=')\n",
	} {
		if _, err := Parse(mods, "site.yml", []byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestMissingStaticVarsFileIsParseError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yml")
	src := "- hosts: all\n  vars_files:\n    - vars/missing.yml\n    - \"vars/{{ env }}.yml\"\n  tasks:\n    - tmsg: {msg: x}\n"
	if err := os.WriteFile(site, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(testModules(), site)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || !strings.Contains(err.Error(), `vars_files: "vars/missing.yml" not found`) {
		t.Errorf("got %v", err)
	}
}
