package playbooks

import (
	"errors"
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
