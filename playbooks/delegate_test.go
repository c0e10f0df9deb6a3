package playbooks

import (
	"strings"
	"testing"
)

// TestDelegateToAnotherInventoryHost: the task runs on the delegated
// host's connection (its name may be a template) with the current host's
// variables; a name the inventory lacks fails the task, naming it.
func TestDelegateToAnotherInventoryHost(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	src := `- hosts: db01
  tasks:
    - tput: {path: /from, content: "{{ inventory_hostname }}"}
      delegate_to: "{{ groups['all'][1] }}"
    - tput: {path: /x, content: x}
      delegate_to: db09
      ignore_errors: true
`
	sum, out := runYAML(t, f, src)
	if got := string(f.hosts["db02"].files["/from"]); got != "db01" {
		t.Errorf("db02:/from = %q, want db01's name\n%s", got, out)
	}
	if len(f.hosts["db01"].files) != 0 {
		t.Errorf("db01 was written: %q", f.hosts["db01"].files)
	}
	if !strings.Contains(out, `delegate_to: host \"db09\" is not in the inventory`) || stats(t, sum, "db01").Ignored != 1 {
		t.Errorf("unknown delegate:\n%s", out)
	}
}
