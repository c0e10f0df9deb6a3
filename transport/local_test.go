package transport

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sshplay/sshplay/internal/shlex"
)

// testFileOps checks the file operations of c on this machine's file system
// (c is a LocalConn or an SSHConn to an in-process server).
func testFileOps(t *testing.T, c Conn) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "app.conf")

	if _, err := c.ReadFile(ctx, p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read missing: %v", err)
	}
	if _, err := c.Stat(ctx, p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat missing: %v", err)
	}
	if err := c.Remove(ctx, p); err != nil {
		t.Errorf("remove missing: %v", err)
	}

	// New file: default mode 0644.
	if err := c.WriteFile(ctx, p, []byte("one\n"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadFile(ctx, p); err != nil || string(b) != "one\n" {
		t.Fatalf("read back = %q, %v", b, err)
	}
	fi, err := c.Stat(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode.Perm() != 0o644 || fi.Size != 4 || fi.IsDir() || fi.Owner == "" || fi.Group == "" {
		t.Errorf("stat new file = %+v", fi)
	}

	// Explicit mode, then a rewrite with zero options keeps it.
	if err := c.WriteFile(ctx, p, []byte("two\n"), WriteOptions{Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	before := mustStat(t, p)
	if err := c.WriteFile(ctx, p, []byte("three\n"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	after := mustStat(t, p)
	if after.Mode().Perm() != 0o640 {
		t.Errorf("mode after rewrite = %v, want 0640", after.Mode())
	}
	if uidOf(before) != uidOf(after) || gidOf(before) != gidOf(after) {
		t.Errorf("owner changed: %d:%d -> %d:%d", uidOf(before), gidOf(before), uidOf(after), gidOf(after))
	}
	if os.Geteuid() == 0 {
		fi, err := c.Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.UID != 65534 || fi.Owner != "nobody" {
			t.Errorf("stat owner = %d %q, want 65534 nobody", fi.UID, fi.Owner)
		}
		// Owner by name and group by number.
		if err := c.WriteFile(ctx, p, []byte("four\n"), WriteOptions{Owner: "root", Group: "0", Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		st := mustStat(t, p)
		if uidOf(st) != 0 || gidOf(st) != 0 || st.Mode().Perm() != 0o600 {
			t.Errorf("after owner root: %d:%d %v", uidOf(st), gidOf(st), st.Mode())
		}
	}
	if err := c.WriteFile(ctx, p, nil, WriteOptions{Owner: "no-such-user-xyz"}); err == nil || !strings.Contains(err.Error(), `no such user "no-such-user-xyz"`) {
		t.Errorf("unknown owner: %v", err)
	}

	// Symlinks are described, not followed.
	l := filepath.Join(dir, "link")
	if err := os.Symlink("app.conf", l); err != nil {
		t.Fatal(err)
	}
	fi, err = c.Stat(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if fi.LinkTarget != "app.conf" || fi.Mode&fs.ModeSymlink == 0 {
		t.Errorf("stat link = %+v", fi)
	}

	// Failures leave no temporary file behind.
	if err := c.WriteFile(ctx, filepath.Join(dir, "missing", "x"), []byte("x"), WriteOptions{}); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := c.WriteFile(ctx, dir, []byte("x"), WriteOptions{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("write over a directory: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".sshplay-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}

	if err := c.Remove(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("file still there after remove: %v", err)
	}
	sub := filepath.Join(dir, "emptydir")
	os.Mkdir(sub, 0o755)
	if err := c.Remove(ctx, sub); err != nil {
		t.Errorf("remove empty dir: %v", err)
	}
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLocalFileOps(t *testing.T) {
	testFileOps(t, Local())
}

func TestLocalRun(t *testing.T) {
	c := Local()
	if c.Host() != "localhost" {
		t.Errorf("host = %q", c.Host())
	}
	ctx := context.Background()
	res, err := c.Run(ctx, "cat; echo e >&2; exit 4", RunOptions{Stdin: strings.NewReader("in")})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 4 || ee.Host != "localhost" {
		t.Fatalf("want exit 4, got %v", err)
	}
	if string(res.Stdout) != "in" || string(res.Stderr) != "e\n" {
		t.Errorf("result = %q %q", res.Stdout, res.Stderr)
	}

}

// TestLocalRunCancel: cancelling ctx kills the command's whole process
// group (a background child too), and the error wraps context.Canceled.
func TestLocalRunCancel(t *testing.T) {
	assertCancelKillsGroup(t, Local(), "localhost")
}

// fakeSudo is a stand-in for sudo that wants the password "s3cret", so the
// prompt handling can be tested without a real sudoers setup.
const fakeSudo = `#!/bin/sh
prompt=""; nonint=0
while [ $# -gt 0 ]; do
  case "$1" in
    -H|-S) shift;;
    -n) nonint=1; shift;;
    -p) prompt="$2"; shift 2;;
    -u) shift 2;;
    --) shift; break;;
    *) break;;
  esac
done
if [ -n "$FAKE_SUDO_DENY" ]; then echo "Sorry, user $(id -un) is not allowed to execute '$*' as someone on $(hostname)." >&2; exit 1; fi
if [ "$nonint" = 1 ]; then echo "sudo: a password is required" >&2; exit 1; fi
if [ -n "$FAKE_SUDO_OWN_PROMPT" ]; then prompt="[sudo] password for $(id -un): "; fi
for i in 1 2 3; do
  printf '%s' "$prompt" >&2
  IFS= read -r pw || { echo "sudo: no password was provided" >&2; exit 1; }
  if [ "$pw" = "s3cret" ]; then exec "$@"; fi
  echo "Sorry, try again." >&2
done
echo "sudo: 3 incorrect password attempts" >&2
exit 1
`

func TestBecomePasswordPrompt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	ctx := context.Background()
	// LocalConn skips sudo when becoming the current user: use another.
	local := NewLocalConn("ctl")

	c := local.Become(Become{Enabled: true, User: "someone", Password: "s3cret"})
	var live bytes.Buffer
	res, err := c.Run(ctx, "cat; echo to-err >&2; exit 2", RunOptions{Stdin: strings.NewReader("payload"), Stderr: &live})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 {
		t.Fatalf("want exit 2 from the command, got %v", err)
	}
	if string(res.Stdout) != "payload" {
		t.Errorf("stdout = %q (marker or password leaked?)", res.Stdout)
	}
	if string(res.Stderr) != "to-err\n" || live.String() != "to-err\n" {
		t.Errorf("stderr = %q live %q (prompt should be hidden)", res.Stderr, live.String())
	}

	// sudo that ignores -p (passprompt_override) is still answered.
	t.Setenv("FAKE_SUDO_OWN_PROMPT", "1")
	res, err = c.Run(ctx, "echo ran", RunOptions{})
	if err != nil || string(res.Stdout) != "ran\n" || len(res.Stderr) != 0 {
		t.Errorf("own prompt: %q %q %v", res.Stdout, res.Stderr, err)
	}
	t.Setenv("FAKE_SUDO_OWN_PROMPT", "")

	c = local.Become(Become{Enabled: true, User: "someone", Password: "wrong-pw"})
	_, err = c.Run(ctx, "echo should-not-run", RunOptions{})
	if err == nil || err.Error() != "host ctl: become someone: incorrect sudo password" {
		t.Errorf("wrong password: %v", err)
	}
	checkBecomeError(t, err, BecomeWrongPassword)
	if err != nil && strings.Contains(err.Error(), "wrong-pw") {
		t.Error("password in error")
	}

	c = local.Become(Become{Enabled: true, User: "someone"})
	_, err = c.Run(ctx, "echo should-not-run", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "host ctl: become someone: sudo needs a password") {
		t.Errorf("no password: %v", err)
	}
	var ee2 *ExitError
	if errors.As(err, &ee2) {
		t.Error("sudo failure reported as the command's exit")
	}
	checkBecomeError(t, err, BecomePasswordRequired)

	t.Setenv("FAKE_SUDO_DENY", "1")
	c = local.Become(Become{Enabled: true, User: "someone", Password: "s3cret"})
	_, err = c.Run(ctx, "echo should-not-run", RunOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "host ctl: become someone: sudo failed: Sorry, user ") || !strings.Contains(err.Error(), "is not allowed to execute") {
		t.Errorf("not allowed: %v", err)
	}
	checkBecomeError(t, err, BecomeNotAllowed)
	t.Setenv("FAKE_SUDO_DENY", "")

	t.Setenv("PATH", t.TempDir()) // no sudo at all
	_, err = c.Run(ctx, "echo should-not-run", RunOptions{})
	if err == nil || err.Error() != "host ctl: become someone: sudo is not installed" {
		t.Errorf("no sudo: %v", err)
	}
	checkBecomeError(t, err, BecomeSudoMissing)
}

func checkBecomeError(t *testing.T, err error, want BecomeReason) {
	t.Helper()
	var be *BecomeError
	if !errors.As(err, &be) {
		t.Errorf("want *BecomeError (%s), got %T %v", want, err, err)
		return
	}
	if be.Host != "ctl" || be.User != "someone" || be.Reason != want {
		t.Errorf("BecomeError = host %q user %q reason %s, want ctl someone %s", be.Host, be.User, be.Reason, want)
	}
	if strings.Contains(be.Error(), "s3cret") || strings.Contains(be.Detail, "s3cret") {
		t.Error("password in BecomeError")
	}
}

func TestBecomeReasonString(t *testing.T) {
	t.Parallel()
	for r, want := range map[BecomeReason]string{
		BecomeFailed: "failed", BecomeWrongPassword: "wrong password", BecomePasswordRequired: "password required",
		BecomeSudoMissing: "sudo missing", BecomeNotAllowed: "not allowed",
	} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(r), r.String(), want)
		}
	}
	e := &BecomeError{Host: "db1", User: "postgres", Reason: BecomeFailed, Code: 3}
	if e.Error() != "host db1: become postgres: sudo exited 3 before running the command" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestSudoWrapQuoting(t *testing.T) {
	t.Parallel()
	s := newSudoCall(Become{Enabled: true, User: "post gres", Password: "x"})
	line := s.wrap("echo 'a b' \"$HOME\"")
	words, err := shlex.SplitShell(line)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"exec", "sudo", "-H", "-S", "-p", s.prompt, "-u", "post gres", "--", "/bin/sh", "-c",
		groupProbe + `; echo "` + s.marker + ` $g"; unset s g; set --` + "\necho 'a b' \"$HOME\""}
	if strings.Join(words, "|") != strings.Join(want, "|") {
		t.Errorf("words = %q\nwant    %q", words, want)
	}
	if strings.Contains(line, "x\n") || strings.Contains(s.wrap("true"), " x ") {
		t.Error("password on the command line")
	}
	if n := newSudoCall(Become{Enabled: true}); !strings.Contains(n.wrap("true"), "sudo -H -n -u root --") {
		t.Errorf("no-password form: %s", n.wrap("true"))
	}
}

func uidOf(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }
func gidOf(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Gid) }
