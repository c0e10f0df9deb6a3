package playbooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadErr loads a testdata playbook that must not load and returns its
// *ParseError.
func loadErr(t *testing.T, path string, lo LoadOptions) *ParseError {
	t.Helper()
	_, err := LoadWith(context.Background(), testModules(), path, lo)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want a parse error, got %v", err)
	}
	return pe
}

func TestMissingRoleNamesWhereItWasLookedFor(t *testing.T) {
	pe := loadErr(t, "testdata/include/errors/missing-role.yml", LoadOptions{RolesPath: []string{"/opt/myroles"}})
	if pe.File != "testdata/include/errors/missing-role.yml" || pe.Line != 3 || pe.Col != 7 {
		t.Errorf("error at %s:%d:%d, want the roles entry at 3:7", pe.File, pe.Line, pe.Col)
	}
	for _, dir := range []string{"testdata/include/errors/roles", "/opt/myroles"} {
		if !strings.Contains(pe.Msg, dir) {
			t.Errorf("error %q does not name %s", pe.Msg, dir)
		}
	}
	if strings.Contains(pe.Msg, "/etc/ansible/roles") {
		t.Errorf("a configured roles path replaces the default one, as in Ansible: %q", pe.Msg)
	}
}

func TestErrorInImportedFileNamesThatFileAndLine(t *testing.T) {
	pe := loadErr(t, "testdata/include/errors/bad-import.yml", LoadOptions{})
	if !strings.HasSuffix(pe.File, "bad-tasks.yml") || pe.Line != 6 || pe.Col != 3 {
		t.Errorf("error at %s:%d:%d (%s), want bad-tasks.yml:6:3", pe.File, pe.Line, pe.Col, pe.Msg)
	}
}

func TestErrorInIncludedFileFailsTheHostNamingThatFileAndLine(t *testing.T) {
	f := localFleet()
	sum, out := runFile(t, f, "testdata/include/errors/bad-include.yml")
	if st := stats(t, sum, "localhost"); st.Failed != 1 {
		t.Fatalf("want the host failed, got %+v\n%s", st, out)
	}
	if !strings.Contains(out, "bad-tasks.yml:6:3") || strings.Contains(out, "not reached") {
		t.Errorf("want the error at bad-tasks.yml:6:3 and nothing after it:\n%s", out)
	}
}

func TestMissingIncludedFileFailsOnlyWhenReached(t *testing.T) {
	dir := t.TempDir()
	pb := filepath.Join(dir, "site.yml")
	write(t, pb, `- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: nowhere.yml
      when: false
    - include_tasks: "{{ 'nowhere' }}.yml"
`)
	sum, out := runFile(t, localFleet(), pb)
	st := stats(t, sum, "localhost")
	if st.Skipped != 1 || st.Failed != 1 || !strings.Contains(out, `nowhere.yml\" not found in `+dir+`"`) {
		t.Errorf("want the first include skipped, the second failed naming where it looked; got %+v\n%s", st, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTagsOnARoleSelectAllItsTasks(t *testing.T) {
	_, out := runFile(t, localFleet(), "testdata/roles/site.yml", func(o *Options) { o.Tags = []string{"webtag"} })
	msgs := strings.Join(debugMsgs(out), "\n")
	for _, want := range []string{"web http_port=8080", "greet dependency", "common from-vars"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("-t webtag: want %q (the role and its dependencies), got\n%s", want, msgs)
		}
	}
	if strings.Contains(msgs, "greet world") || strings.Contains(msgs, "pre runs") {
		t.Errorf("-t webtag ran untagged tasks:\n%s", msgs)
	}
}

func TestRolesPathOptionFindsRoles(t *testing.T) {
	dir := t.TempDir()
	rolePath := filepath.Join(dir, "elsewhere", "r1")
	write(t, filepath.Join(rolePath, "tasks", "main.yml"), "- debug:\n    msg: \"r1 {{ x }} {{ role_name }} {{ role_path == '"+rolePath+"' }}\"\n")
	write(t, filepath.Join(dir, "elsewhere", "r1", "defaults", "main.yml"), "x: default\n")
	write(t, filepath.Join(dir, "pb", "site.yml"), "- hosts: all\n  gather_facts: false\n  roles:\n    - {role: r1, x: param, when: true}\n")
	_, out := runFile(t, localFleet(), filepath.Join(dir, "pb", "site.yml"), func(o *Options) {
		o.RolesPath = []string{filepath.Join(dir, "elsewhere")}
	})
	if got := strings.Join(debugMsgs(out), ","); got != `"r1 param r1 True"` {
		t.Errorf("got %s, want the role found in the roles path, with its parameter\n%s", got, out)
	}
}

func TestIncludeApplyAndWhenOnImports(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t.yml"), "- name: inner\n  debug:\n    msg: \"inner {{ v }}\"\n")
	write(t, filepath.Join(dir, "site.yml"), `- hosts: all
  gather_facts: false
  tasks:
    - import_tasks: t.yml
      when: false
      vars: {v: imported}
    - include_tasks:
        file: t.yml
        apply:
          tags: [applied]
      vars: {v: included}
      tags: [applied]
`)
	sum, out := runFile(t, localFleet(), filepath.Join(dir, "site.yml"), func(o *Options) { o.Tags = []string{"applied"} })
	if got := strings.Join(debugMsgs(out), ","); got != `"inner included"` {
		t.Errorf("got %s: want the import skipped and the include's task run under its applied tag\n%s", got, out)
	}
	if st := stats(t, sum, "localhost"); st.Skipped != 0 || st.OK != 2 {
		t.Errorf("got %+v (the import is not selected by -t applied)", st)
	}
}

func TestOldIncludeAndDynamicIncludeRoleInALoop(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t.yml"), "- debug:\n    msg: \"old {{ a }} {{ b }}\"\n")
	write(t, filepath.Join(dir, "roles", "r2", "tasks", "main.yml"), "- debug:\n    msg: \"r2 {{ who }}\"\n")
	write(t, filepath.Join(dir, "site.yml"), `- hosts: all
  gather_facts: false
  vars:
    rolename: r2
  tasks:
    - include: t.yml a=1 b=two
    - include_role:
        name: "{{ rolename }}"
      loop: [x, y]
      vars:
        who: "{{ item }}"
`)
	_, out := runFile(t, localFleet(), filepath.Join(dir, "site.yml"))
	if got := strings.Join(debugMsgs(out), ","); got != `"old 1 two","r2 x","r2 y"` {
		t.Errorf("got %s\n%s", got, out)
	}
}

func TestVarsDirReadsFilesAsAnsible(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "web.json"), `{"a": "json", "b": "json"}`)
	write(t, filepath.Join(dir, "db"), "a: bare\n")
	write(t, filepath.Join(dir, "db.yml"), "a: not-read\n") // the bare name comes first
	write(t, filepath.Join(dir, "all", "10.yaml"), "a: first\nb: first\n")
	write(t, filepath.Join(dir, "all", "20.yml"), "a: second\n")
	write(t, filepath.Join(dir, "all", ".hidden.yml"), "a: hidden\n")
	write(t, filepath.Join(dir, "all", "30.yml~"), "a: backup\n")
	got, err := readVarsDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"web": {"a": "json", "b": "json"},
		"db":  {"a": "bare"},
		"all": {"a": "second", "b": "first"},
	}
	for g, vars := range want {
		for k, v := range vars {
			if got[g][k] != v {
				t.Errorf("%s.%s = %v, want %v", g, k, got[g][k], v)
			}
		}
	}
}

func TestIncludeAndImportMistakesAreRefusedWhereWritten(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"templated import_playbook", "- import_playbook: \"{{ x }}.yml\"\n", "site.yml:1:20: import_playbook: the file name cannot be a template"},
		{"import_tasks loops", "- hosts: all\n  tasks:\n    - import_tasks: t.yml\n      loop: [1]\n", "site.yml:4:13: import_tasks cannot loop (use include_tasks)"},
		{"missing import", "- hosts: all\n  tasks:\n    - import_tasks: nope.yml\n", `site.yml:3:21: import_tasks: "nope.yml" not found in `},
		{"include and module", "- hosts: all\n  tasks:\n    - include_tasks: t.yml\n      debug: msg=x\n", "site.yml:4:7: task has both include_tasks and the module debug"},
		{"unknown apply key", "- hosts: all\n  tasks:\n    - include_tasks: {file: t.yml, apply: {colour: red}}\n", `site.yml:3:44: unknown key "colour" here`},
		{"import cycle", "- hosts: all\n  tasks:\n    - import_tasks: site-tasks.yml\n", "site-tasks.yml:1:17: import_tasks: \"site-tasks.yml\" imported too deep"},
		{"role without name", "- hosts: all\n  roles:\n    - {tags: [x]}\n", "site.yml:3:7: role entry has no role: (or name:)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "t.yml"), "- debug: msg=x\n")
			write(t, filepath.Join(dir, "site-tasks.yml"), "- import_tasks: site-tasks.yml\n")
			write(t, filepath.Join(dir, "site.yml"), c.src)
			pe := loadErr(t, filepath.Join(dir, "site.yml"), LoadOptions{})
			got := strings.TrimPrefix(pe.Error(), dir+"/")
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("got  %s\nwant %s...", got, c.want)
			}
		})
	}
}

func TestOldPlayLevelIncludeImportsThePlaybook(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "other.yml"), "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"other {{ v }}\"\n")
	write(t, filepath.Join(dir, "site.yml"), "- include: other.yml\n  vars: {v: given}\n")
	_, out := runFile(t, localFleet(), filepath.Join(dir, "site.yml"))
	if got := strings.Join(debugMsgs(out), ","); got != `"other given"` {
		t.Errorf("got %s\n%s", got, out)
	}
}
