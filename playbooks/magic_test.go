package playbooks

import (
	"strings"
	"testing"
)

// TestRunMagicVariablesAsAnsible: the run-wide magic variables have
// Ansible's shapes (recorded with ansible-core 2.14.18 under --check:
// "{'string': '2.14.18', 'full': '2.14.18', 'major': 2, 'minor': 14,
// 'revision': 18} ['all'] [] /usr/bin/python3 5 0 True False").
func TestRunMagicVariablesAsAnsible(t *testing.T) {
	t.Parallel()
	src := `- hosts: db01
  tasks:
    - debug:
        msg: "{{ ansible_version.full }} {{ ansible_version.major }}.{{ ansible_version.minor }}.{{ ansible_version.revision }} {{ ansible_run_tags }} {{ ansible_skip_tags }} {{ ansible_forks }} {{ ansible_verbosity }} {{ ansible_check_mode }} {{ ansible_diff_mode }} {{ ansible_playbook_python is string }}"
    - debug: {msg: "tagged {{ ansible_run_tags }} {{ ansible_skip_tags }}"}
      tags: [a]
`
	_, out := runYAML(t, newFleet(1), src, func(o *Options) { o.Check = true; o.Forks = 5 })
	want := AnsibleVersion + " 2.14.18 ['all'] [] 5 0 True False True"
	if !strings.Contains(out, want) {
		t.Errorf("want %q in:\n%s", want, out)
	}
	_, out = runYAML(t, newFleet(1), src, func(o *Options) { o.Tags = []string{"a"}; o.SkipTags = []string{"b"} })
	if !strings.Contains(out, "tagged ['a'] ['b']") {
		t.Errorf("tags:\n%s", out)
	}
}
