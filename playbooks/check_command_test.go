package playbooks

import (
	"strings"
	"testing"
)

// TestCheckModeCommandRegistersAnsiblesResult: under --check a command
// that is not run registers rc 0 and empty output, as Ansible's command
// module does (recorded with ansible-core 2.14), so a later
// `when: result.rc == 0` runs its task rather than failing.
func TestCheckModeCommandRegistersAnsiblesResult(t *testing.T) {
	t.Parallel()
	src := `- hosts: db01
  tasks:
    - command: echo hi
      register: result
    - debug: {msg: "rc={{ result.rc }} out=[{{ result.stdout }}] lines={{ result.stdout_lines }}"}
    - debug: {msg: "rc is zero"}
      when: result.rc == 0
`
	sum, out := runYAML(t, newFleet(1), src, func(o *Options) { o.Check = true })
	if sum.Failed() != 0 || !strings.Contains(out, "rc=0 out=[] lines=[]") || !strings.Contains(out, "rc is zero") {
		t.Errorf("%s\n%s", outcome(sum), out)
	}
}
