package transport_test

// Become with a sudo password against real OpenSSH sshd lab hosts: the lab's
// second login user (lab.Lab.BecomePasswordUser) may sudo only with its
// password, which transport feeds to sudo on stdin when sudo prompts.

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// labDialPW connects to h as the lab's password-sudo user.
func labDialPW(t *testing.T, l *lab.Lab, h lab.Host) *transport.SSHConn {
	t.Helper()
	vars := labVars(l, h, "")
	vars["ansible_user"] = l.BecomePasswordUser()
	tg, warns, err := transport.TargetFromVars(h.Name, vars, transport.Overrides{SSHConfigFile: "none"})
	if err != nil || len(warns) > 0 {
		t.Fatalf("target: %v %q", err, warns)
	}
	tg.AgentSocket = "/nonexistent"
	c, err := transport.Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", h.Name, l.BecomePasswordUser(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sudoCached reports whether sudo on c's connection has a cached credential
// (sudo -n succeeds as the login user).
func sudoCached(t *testing.T, c transport.Conn) bool {
	t.Helper()
	_, err := c.Run(context.Background(), "sudo -n true", transport.RunOptions{})
	var ee *transport.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sudo -n: %v", err)
	}
	return err == nil
}

// runAs runs cmd as user through sudo with password pw, streaming the output
// to writers of its own as well, and returns everything seen.
func runAs(c transport.Conn, user, pw, cmd string) (res *transport.Result, seen string, err error) {
	var out, errb bytes.Buffer
	v := c.Become(transport.Become{Enabled: true, User: user, Password: pw})
	res, err = v.Run(context.Background(), cmd, transport.RunOptions{Stdout: &out, Stderr: &errb})
	seen = out.String() + errb.String()
	if res != nil {
		seen += string(res.Stdout) + string(res.Stderr)
	}
	if err != nil {
		seen += err.Error()
	}
	return res, seen, err
}

func TestLabBecomePassword(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	pw, err := l.BecomePassword()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("right password: root and postgres, every command prompted", func(t *testing.T) {
		c := labDialPW(t, l, h)
		if res, err := c.Run(ctx, "id -un", transport.RunOptions{}); err != nil || string(res.Stdout) != l.BecomePasswordUser()+"\n" {
			t.Fatalf("login user: %v", err)
		}
		if sudoCached(t, c) {
			t.Fatal("fresh connection: sudo already has a cached credential, so the prompt is not tested")
		}
		// Prompted: sudo asks, transport answers.
		res, seen, err := runAs(c, "", pw, `id -un; echo "$HOME"`)
		if err != nil {
			t.Fatalf("become root: %v", err)
		}
		if string(res.Stdout) != "root\n/root\n" || len(res.Stderr) != 0 {
			t.Errorf("become root: stdout %q stderr %q", res.Stdout, res.Stderr)
		}
		if strings.Contains(seen, pw) || strings.Contains(seen, "BECOME") || strings.Contains(seen, "password") {
			t.Errorf("become root leaked sudo's dialogue: %q", seen)
		}
		// sudo caches a credential per session here (no tty: keyed on the
		// parent process), so the next command on this connection is
		// prompted again; the cached case is the next subtest.
		if sudoCached(t, c) {
			t.Error("sudo cached the credential across SSH sessions for root")
		}
		res, _, err = runAs(c, "postgres", pw, `id -un; psql -XAtc "SELECT current_user"`)
		if err != nil || string(res.Stdout) != "postgres\npostgres\n" {
			t.Fatalf("become postgres (second command, prompted): %v: %q", err, res.Stdout)
		}
		// SFTP as postgres into a 0700 dir it owns: owner and mode.
		root := c.Become(transport.Become{Enabled: true, Password: pw})
		pg := c.Become(transport.Become{Enabled: true, User: "postgres", Password: pw})
		res, err = root.Run(ctx, `d=$(mktemp -d /tmp/sshplay-pwdir.XXXXXX) && chown postgres:postgres "$d" && chmod 0700 "$d" && echo "$d"`, transport.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dir := strings.TrimSpace(string(res.Stdout))
		t.Cleanup(func() { root.Run(context.Background(), "rm -rf "+dir, transport.RunOptions{}) })
		p := dir + "/server.key"
		if err := pg.WriteFile(ctx, p, []byte("secret key\n"), transport.WriteOptions{Mode: 0o600}); err != nil {
			t.Fatalf("write as postgres: %v", err)
		}
		fi, err := pg.Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Owner != "postgres" || fi.Group != "postgres" || fi.Mode.Perm() != 0o600 || fi.Size != 11 {
			t.Errorf("stat = %+v", fi)
		}
		res, err = root.Run(ctx, "stat -c '%U:%G %a' "+p+" && cat "+p, transport.RunOptions{})
		if err != nil || string(res.Stdout) != "postgres:postgres 600\nsecret key\n" {
			t.Errorf("as root: %v: %q", err, res.Stdout)
		}
		// Prompted again on the same connection after sudo -K dropped the
		// cached credential.
		if _, err := c.Run(ctx, "sudo -K", transport.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if sudoCached(t, c) {
			t.Fatal("sudo -K left a cached credential")
		}
		if res, _, err = runAs(c, "postgres", pw, "id -un"); err != nil || string(res.Stdout) != "postgres\n" {
			t.Fatalf("become postgres (prompted again): %v", err)
		}
		// The command's own stderr and exit code come through.
		_, _, err = runAs(c, "", pw, "echo oops >&2; exit 3")
		var ee *transport.ExitError
		if !errors.As(err, &ee) || ee.Code != 3 || ee.Stderr != "oops\n" {
			t.Errorf("exit 3 under become: %v", err)
		}
	})

	t.Run("cached credential: no prompt, still detected", func(t *testing.T) {
		// sudo caches the credential across sessions only for become
		// lab.CachedBecomeUser (timestamp_type=global in the lab sudoers).
		c := labDialPW(t, l, h)
		u := lab.CachedBecomeUser
		if _, err := c.Run(ctx, "sudo -K", transport.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Run(context.Background(), "sudo -K", transport.RunOptions{}) })
		cached := func() bool {
			_, err := c.Run(ctx, "sudo -n -u "+u+" true", transport.RunOptions{})
			return err == nil
		}
		if cached() {
			t.Fatal("credential cached after sudo -K")
		}
		if res, _, err := runAs(c, u, pw, "id -un"); err != nil || string(res.Stdout) != u+"\n" {
			t.Fatalf("become %s (prompted): %v", u, err)
		}
		if !cached() {
			t.Fatalf("sudo did not cache the credential for %s", u)
		}
		// sudo prints no prompt now: the marker alone must start the
		// command, and stdin must reach it, not be eaten as a password.
		v := c.Become(transport.Become{Enabled: true, User: u, Password: pw})
		res, err := v.Run(ctx, "id -un; cat", transport.RunOptions{Stdin: strings.NewReader("stdin data")})
		if err != nil || string(res.Stdout) != u+"\nstdin data" || len(res.Stderr) != 0 {
			t.Fatalf("become %s (cached): %v: %q %q", u, err, res.Stdout, res.Stderr)
		}
		// Without a password too (sudo -n accepts the cached credential).
		if res, _, err := runAs(c, u, "", "id -un"); err != nil || string(res.Stdout) != u+"\n" {
			t.Errorf("become %s (cached, no password): %v", u, err)
		}
		// Other become users are not cached and still prompt.
		if res, _, err := runAs(c, "postgres", pw, "id -un"); err != nil || string(res.Stdout) != "postgres\n" {
			t.Errorf("become postgres next to a cached %s: %v", u, err)
		}
		if _, _, err := runAs(c, "postgres", "", "id -un"); err == nil {
			t.Errorf("become postgres without a password worked: its credential should not be cached")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		c := labDialPW(t, l, h)
		wrong := "not-" + pw
		for _, u := range []string{"", "postgres"} {
			res, seen, err := runAs(c, u, wrong, "echo RAN")
			var be *transport.BecomeError
			if !errors.As(err, &be) || be.Reason != transport.BecomeWrongPassword || be.Host != h.Name {
				t.Fatalf("become %q with a wrong password: want BecomeWrongPassword, got %#v", u, err)
			}
			if strings.Contains(seen, wrong) || strings.Contains(seen, pw) || strings.Contains(be.Detail, wrong) {
				t.Errorf("the password shows in the error or output: %q", seen)
			}
			if res != nil && strings.Contains(string(res.Stdout), "RAN") {
				t.Errorf("the command ran: %q", res.Stdout)
			}
		}
		// File operations under become fail the same way.
		pg := c.Become(transport.Become{Enabled: true, User: "postgres", Password: wrong})
		err := pg.WriteFile(ctx, "/tmp/sshplay-never-written", []byte("x"), transport.WriteOptions{})
		var be *transport.BecomeError
		if !errors.As(err, &be) || be.Reason != transport.BecomeWrongPassword || strings.Contains(err.Error(), wrong) {
			t.Errorf("write as postgres with a wrong password: %v", err)
		}
		// The connection is still fine, and the right password works on it.
		if res, _, err := runAs(c, "", pw, "id -un"); err != nil || string(res.Stdout) != "root\n" {
			t.Errorf("right password after wrong ones: %v", err)
		}
	})

	t.Run("no password", func(t *testing.T) {
		c := labDialPW(t, l, h)
		for _, u := range []string{"", "postgres"} {
			_, _, err := runAs(c, u, "", "echo RAN")
			var be *transport.BecomeError
			if !errors.As(err, &be) || be.Reason != transport.BecomePasswordRequired {
				t.Fatalf("become %q without a password: want BecomePasswordRequired, got %v", u, err)
			}
		}
		_, err := c.Become(transport.Become{Enabled: true, User: "postgres"}).Stat(ctx, "/tmp")
		var be *transport.BecomeError
		if !errors.As(err, &be) || be.Reason != transport.BecomePasswordRequired {
			t.Errorf("stat as postgres without a password: %v", err)
		}
		// Still usable afterwards.
		if res, _, err := runAs(c, "", pw, "id -un"); err != nil || string(res.Stdout) != "root\n" {
			t.Errorf("right password after none: %v", err)
		}
	})
}
