package transport

import (
	"strings"
	"testing"
)

// FuzzSSHArgs: any ansible_ssh_*_args text is read without a panic into
// options and warnings, or refused with an error; option names are stored
// lower-case, as ssh matches them.
func FuzzSSHArgs(f *testing.F) {
	for _, s := range []string{"-o ControlMaster=auto -o ControlPersist=60s", "-p2222 -tA", "-o 'ProxyCommand=ssh -W %h:%p jump'", "-i ~/.ssh/id -o IdentitiesOnly=yes", "-o", "-o StrictHostKeyChecking no", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := &sshArgs{opts: map[string]string{}}
		if err := a.parse("db1", s); err != nil {
			return
		}
		for k := range a.opts {
			if k != strings.ToLower(k) {
				t.Fatalf("option %q stored with upper case", k)
			}
		}
	})
}
