package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An ignored failure counts in PLAY RECAP as Ansible's strategy counts it:
// ok and ignored, and changed when its result says changed (a failed
// command does); changed_when applies to a failed result too.
func TestIgnoredFailureCountsChangedAsAnsible(t *testing.T) {
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	pb := filepath.Join(dir, "p.yml")
	if err := os.WriteFile(pb, []byte(`- hosts: localhost
  gather_facts: false
  tasks:
    - shell: "false"
      register: r
      ignore_errors: true
    - assert: {that: [r.changed, r.failed]}
    - command: /bin/false
      register: q
      ignore_errors: true
      changed_when: false
    - assert: {that: [not q.changed, q.failed]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "play", pb, "-i", "localhost,", "-c", "local")
	// Recorded from ansible-playbook 2.14.18 (connection local).
	want := "localhost                  : ok=4    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=2"
	if code != exitOK || !strings.Contains(out, want) {
		t.Errorf("exit %d, want the recap line\n%s\ngot:\n%s\n%s", code, want, out, errs)
	}
}
