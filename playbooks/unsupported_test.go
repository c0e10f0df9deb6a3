package playbooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsupportedConstructsAreListedAllAtOnce: one parse names every
// construct sshplay lacks, each at its file:line:col, in file order, and a
// known Ansible module is "not supported yet", never a misspelling.
func TestUnsupportedConstructsAreListedAllAtOnce(t *testing.T) {
	t.Parallel()
	src := `- hosts: all
  tasks:
    - rpm_key: {key: k}
    - name: sync
      ansible.posix.synchronize: {src: a, dest: b}
    - block:
        - community.general.ufw: {rule: allow}
          when: ip | ansible.utils.ipaddr
    - debug: {msg: "{{ x | ansible.utils.ipv4 }}"}
    - assert: {that: ["x is community.general.foo"]}
    - throttle: 2
      command: "true"
`
	_, err := Parse(AllModules(), "site.yml", []byte(src))
	want := []string{
		`site.yml:3:7: not supported yet: module "rpm_key"`,
		`site.yml:5:7: not supported yet: module "ansible.posix.synchronize"`,
		`site.yml:7:11: not supported yet: module "community.general.ufw"`,
		`site.yml:8:17: not supported yet: filter "ansible.utils.ipaddr"`,
		`site.yml:9:20: not supported yet: filter "ansible.utils.ipv4"`,
		`site.yml:10:23: not supported yet: test "community.general.foo"`,
		`site.yml:11:7: throttle is not supported; use -f`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 {
		t.Errorf("errors.As finds the first *ParseError: %v", pe)
	}
	var bad interface{ BadInput() bool }
	if !errors.As(err, &bad) || !bad.BadInput() {
		t.Error("the errors are bad input (exit 5)")
	}
}

// TestKnownModuleIsNotAMisspelling: alone, an Ansible module sshplay
// lacks gets no "did you mean", while a real typo still does.
func TestKnownModuleIsNotAMisspelling(t *testing.T) {
	t.Parallel()
	mods := AllModules()
	pe := parseErr(t, mods, "- hosts: all\n  tasks:\n    - subversion: {repo: r}\n")
	if pe.Msg != `not supported yet: module "subversion"` {
		t.Errorf("subversion: %s", pe.Msg)
	}
	pe = parseErr(t, mods, "- hosts: all\n  tasks:\n    - ansible.builtin.comand: ls\n")
	if !strings.Contains(pe.Msg, `unknown key or module "ansible.builtin.comand"`) {
		t.Errorf("builtin typo: %s", pe.Msg)
	}
	pe = parseErr(t, mods, "- hosts: all\n  tasks:\n    - comand: ls\n")
	if !strings.Contains(pe.Msg, `unknown key or module "comand"`) || !strings.Contains(pe.Msg, "command") {
		t.Errorf("typo: %s", pe.Msg)
	}
}

// TestUnsupportedConstructsAreListedAcrossImportsAndRoles: the list
// covers every file the playbook loads statically (its imported tasks
// file, its role's tasks), sorted by file then position, however early
// the first refusal comes.
func TestUnsupportedConstructsAreListedAcrossImportsAndRoles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("site.yml", `- hosts: all
  roles: [web]
  tasks:
    - rpm_key: {key: k}
    - import_tasks: more.yml
    - ufw: {rule: allow}
`)
	write("more.yml", "- debug: {msg: hi}\n- cron: {name: x}\n- at: {command: ls}\n")
	write("roles/web/tasks/main.yml", "- git: {repo: r, dest: d}\n- debug: {msg: hi}\n- pip: {name: p}\n")
	write("roles/web/handlers/main.yml", "- name: h\n  debug: {msg: hi}\n")
	_, err := LoadFile(AllModules(), filepath.Join(dir, "site.yml"))
	want := []string{
		`more.yml:2:3: not supported yet: module "cron"`,
		`more.yml:3:3: not supported yet: module "at"`,
		`roles/web/tasks/main.yml:1:3: not supported yet: module "git"`,
		`roles/web/tasks/main.yml:3:3: not supported yet: module "pip"`,
		`site.yml:4:7: not supported yet: module "rpm_key"`,
		`site.yml:6:7: not supported yet: module "ufw"`,
	}
	if err == nil {
		t.Fatal("the playbook parsed")
	}
	if got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""); got != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	var bad interface{ BadInput() bool }
	if !errors.As(err, &bad) || !bad.BadInput() {
		t.Error("the errors are bad input (exit 5)")
	}
}

// TestUnsupportedConstructsAreListedAcrossImportedPlaybooks: an imported
// playbook's constructs, and those of a role it imports with
// import_role's tasks_from, join the importing playbook's.
func TestUnsupportedConstructsAreListedAcrossImportedPlaybooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"site.yml":                     "- import_playbook: sub/other.yml\n- hosts: all\n  tasks:\n    - rpm_key: {key: k}\n",
		"sub/other.yml":                "- hosts: all\n  tasks:\n    - cron: {name: x}\n    - import_role: {name: db, tasks_from: setup}\n",
		"sub/roles/db/tasks/setup.yml": "- pip: {name: p}\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadFile(AllModules(), filepath.Join(dir, "site.yml"))
	want := []string{
		`site.yml:4:7: not supported yet: module "rpm_key"`,
		`sub/other.yml:3:7: not supported yet: module "cron"`,
		`sub/roles/db/tasks/setup.yml:1:3: not supported yet: module "pip"`,
	}
	if err == nil {
		t.Fatal("the playbook parsed")
	}
	if got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""); got != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
