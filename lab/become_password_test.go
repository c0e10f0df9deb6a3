package lab_test

// The lab's second login user, whose sudo rule requires a password.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// sudoAsPWUser runs `sudo -S -k` as the password user on this machine, with
// stdin fed to sudo.
func sudoAsPWUser(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", lab.BecomePasswordUser, "--", "sudo", "-S", "-k", "-p", "PROMPT:"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestBecomePasswordUser(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	if l.BecomePasswordUser() != "sshplay-pw" {
		t.Fatalf("BecomePasswordUser() = %q", l.BecomePasswordUser())
	}
	fi, err := os.Stat(l.BecomePasswordFile())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %04o, want 0600", l.BecomePasswordFile(), fi.Mode().Perm())
	}
	pw, err := l.BecomePassword()
	if err != nil || len(pw) < 16 {
		t.Fatalf("become password: %d characters, %v", len(pw), err)
	}
	for _, f := range []string{l.InventoryINI(), l.InventoryYAML()} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), lab.BecomePasswordUser) || strings.Contains(string(b), pw) {
			t.Errorf("%s mentions the password user or its password", f)
		}
	}

	// sudo authenticates through PAM (pam_unix): the shadow password works
	// although sshd has UsePAM no, a wrong one and none do not.
	if out, err := sudoAsPWUser(t, pw+"\n", "id", "-un"); err != nil || !strings.HasSuffix(out, "root\n") {
		t.Errorf("sudo with the right password: %v: %q", err, out)
	}
	if out, err := sudoAsPWUser(t, "not-"+pw+"\n", "id", "-un"); err == nil || strings.Contains(out, "root\n") {
		t.Errorf("sudo with a wrong password ran the command: %q", out)
	}
	if out, err := sudoAsPWUser(t, "", "id", "-un"); err == nil || strings.Contains(out, "root\n") {
		t.Errorf("sudo without a password ran the command: %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "runuser", "-u", lab.BecomePasswordUser, "--", "sudo", "-n", "true").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "password is required") {
		t.Errorf("sudo -n as %s: want 'a password is required', got %v: %q", lab.BecomePasswordUser, err, out)
	}
	if out, err := exec.CommandContext(ctx, "visudo", "-cf", "/etc/sudoers.d/sshplay-lab-pw").CombinedOutput(); err != nil {
		t.Errorf("visudo -cf: %v: %s", err, out)
	}

	// The same client key logs the password user in.
	cmd := exec.CommandContext(ctx, "ssh", "-i", l.KeyFile(),
		"-o", "UserKnownHostsFile="+l.KnownHostsFile(), "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-F", "/dev/null",
		lab.BecomePasswordUser+"@"+h.Addr, "id -un")
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != lab.BecomePasswordUser {
		t.Errorf("ssh as %s: %v: %q", lab.BecomePasswordUser, err, out)
	}

	// A second up is fast and keeps the password.
	t0 := time.Now()
	if _, err := lab.Up(ctx, lab.Config{Dir: l.Dir, N: 1}); err != nil {
		t.Fatalf("second up: %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("second up took %s", d)
	}
	if pw2, err := l.BecomePassword(); err != nil || pw2 != pw {
		t.Errorf("password changed on a second up (%v)", err)
	}
	if out, err := sudoAsPWUser(t, pw+"\n", "true"); err != nil {
		t.Errorf("sudo after a second up: %v: %q", err, out)
	}
}
