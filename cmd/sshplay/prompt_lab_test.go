package main

import (
	"os/exec"
	"path/filepath"
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

// TestAskPassLogsInOnLabHost: -k's answer is the SSH password, for real:
// a lab host's sshd lets sshplay-pw in by password, and with a key the
// host does not know, only the right password gets a command run (a wrong
// one leaves the host unreachable).
func TestAskPassLogsInOnLabHost(t *testing.T) {
	l := labtest.New(t, 1)
	pw, err := l.BecomePassword()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	key := filepath.Join(dir, "unknown_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	args := []string{"exec", "all", "-i", l.InventoryINI(), "-u", l.BecomePasswordUser(), "--private-key", key, "-k", "-o", "--", "id", "-un"}
	_, code, stdout, stderr := runCLITerminal(t, pw+"\n", args...)
	if want := l.Hosts[0].Name + " | CHANGED | rc=0 | (stdout) " + l.BecomePasswordUser() + "\n"; code != exitOK || stdout != want {
		t.Errorf("right password: exit %d, stdout %q, want %q (stderr %q)", code, stdout, want, stderr)
	}
	_, code, stdout, _ = runCLITerminal(t, "not-"+pw+"\n", args...)
	if code != exitUnreachable {
		t.Errorf("wrong password: exit %d, want %d (unreachable); stdout %q", code, exitUnreachable, stdout)
	}
}
