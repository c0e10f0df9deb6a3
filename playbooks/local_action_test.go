package playbooks

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLocalActionRunsOnTheControlMachine: both forms of local_action run
// their module on the local connection, not on the play's host, with the
// host's variables.
func TestLocalActionRunsOnTheControlMachine(t *testing.T) {
	t.Parallel()
	src := `- hosts: db01
  tasks:
    - local_action: tput path=/short content={{ inventory_hostname }}
    - name: long form
      local_action:
        module: tput
        path: /long
        content: "{{ idx }}"
`
	f := newFleet(1)
	local := &memHost{name: "localhost", files: map[string][]byte{}}
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Forks: 1, Out: &out, Local: &memConn{h: local}}
	pb, err := Parse(opts.Modules, "site.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), []*Playbook{pb}, opts); err != nil {
		t.Fatal(err)
	}
	if string(local.files["/short"]) != "db01" || string(local.files["/long"]) != "1" {
		t.Errorf("local files %q\n%s", local.files, out.String())
	}
	if len(f.hosts["db01"].files) != 0 {
		t.Errorf("the host was written: %q", f.hosts["db01"].files)
	}
}

// TestLocalActionWithAModuleToo is a task with two modules: an error at
// local_action, as for any two modules.
func TestLocalActionWithAModuleToo(t *testing.T) {
	t.Parallel()
	pe := parseErr(t, testModules(), "- hosts: all\n  tasks:\n    - tmsg: {msg: x}\n      local_action: tmsg msg=y\n")
	if pe.Line != 4 || !strings.Contains(pe.Msg, "two modules") {
		t.Errorf("%d: %s", pe.Line, pe.Msg)
	}
}

// TestImplicitLocalhostPlay: hosts: localhost with no localhost in the
// inventory runs on the control machine's connection, as Ansible's
// implicit localhost does, and is not part of all.
func TestImplicitLocalhostPlay(t *testing.T) {
	t.Parallel()
	src := `- hosts: localhost
  tasks:
    - tput: {path: /l, content: "{{ inventory_hostname }} {{ groups['all'] | length }}"}
`
	f := newFleet(1)
	local := &memHost{name: "localhost", files: map[string][]byte{}}
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Forks: 1, Out: &out, Local: &memConn{h: local}}
	pb, err := Parse(opts.Modules, "site.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), []*Playbook{pb}, opts); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := string(local.files["/l"]); got != "localhost 1" {
		t.Errorf("control machine /l = %q\n%s", got, out.String())
	}
}
