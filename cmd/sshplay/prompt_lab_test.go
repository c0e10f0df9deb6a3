package main

import (
	"strings"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
)

// TestAskBecomePassOnLabHost: -K's answer is the sudo password of a lab
// host's login user whose sudo requires one (sshplay-pw), for real: with
// it the command runs as root; with a wrong one the host fails.
func TestAskBecomePassOnLabHost(t *testing.T) {
	l := labtest.New(t, 1)
	pw, err := l.BecomePassword()
	if err != nil {
		t.Fatal(err)
	}
	hermeticAnsible(t, t.TempDir())
	args := []string{"exec", "all", "-i", l.InventoryINI(), "-u", l.BecomePasswordUser(), "-b", "-K", "-o", "--", "id", "-un"}
	_, code, stdout, stderr := runCLITerminal(t, pw+"\n", args...)
	if want := l.Hosts[0].Name + " | CHANGED | rc=0 | (stdout) root\n"; code != exitOK || stdout != want {
		t.Errorf("right password: exit %d, stdout %q, want %q (stderr %q)", code, stdout, want, stderr)
	}
	_, code, stdout, _ = runCLITerminal(t, "not-"+pw+"\n", args...)
	if code != exitHostFailed || strings.Contains(stdout, "(stdout) root") {
		t.Errorf("wrong password: exit %d, stdout %q", code, stdout)
	}
}
