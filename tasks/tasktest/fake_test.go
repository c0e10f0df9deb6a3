package tasktest

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/sshplay/sshplay/transport"
)

func TestFakeBasics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := New("h", "u")
	if err := c.WriteFile(ctx, "/no/dir/f", []byte("x"), transport.WriteOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("write into missing dir: %v", err)
	}
	for _, cmd := range []string{"mkdir -p -- /a/b", "touch -- /a/b/f", "chmod -- 0600 /a/b/f", "ln -s -f -n -- f /a/b/l"} {
		if _, err := c.Run(ctx, cmd, transport.RunOptions{}); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	fi, err := c.Stat(ctx, "/a/b/l")
	if err != nil || fi.LinkTarget != "f" || fi.Mode&fs.ModeSymlink == 0 {
		t.Fatalf("link: %+v %v", fi, err)
	}
	if n := c.Node("/a/b/f"); n.Mode.Perm() != 0o600 {
		t.Fatalf("chmod: %v", n.Mode)
	}
	if _, err := c.Run(ctx, "chown -- root /a/b/f", transport.RunOptions{}); err == nil {
		t.Fatal("chown as non-root must fail")
	}
	root := c.Become(transport.Become{Enabled: true})
	if _, err := root.Run(ctx, "chown -- postgres:postgres /a/b/f", transport.RunOptions{}); err != nil || c.Node("/a/b/f").Owner != "postgres" {
		t.Fatalf("chown as root: %v", err)
	}
	if _, err := c.Run(ctx, "rm -r -f -- /a", transport.RunOptions{}); err != nil || c.Node("/a/b/f") != nil {
		t.Fatalf("rm: %v", err)
	}
	var ee *transport.ExitError
	if _, err := c.Run(ctx, "nosuchcmd", transport.RunOptions{}); !errors.As(err, &ee) || ee.Code != 127 {
		t.Fatalf("unknown command: %v", err)
	}
	if len(c.Fake().Writes()) != 6 {
		t.Errorf("writes: %v", c.Fake().Writes())
	}
}

// TestFakeTestCommandReadsLinksAsLinks: test -L and test -h both look at
// the link itself, the other tests at what it points to.
func TestFakeTestCommandReadsLinksAsLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := New("h", "u")
	c.AddDir("/d", 0o755)
	c.AddSymlink("/link", "/d")
	for cmd, want := range map[string]int{"test -L /link": 0, "test -h /link": 0, "test -d /link": 0, "test -f /link": 1, "test -h /d": 1} {
		res, _ := c.Run(ctx, cmd, transport.RunOptions{})
		if res == nil || res.ExitCode != want {
			t.Errorf("%s: exit %+v, want %d", cmd, res, want)
		}
	}
}

// TestFakeRefusesShellSyntax: the fake reads plain words only; a line with
// an operator or expansion is not guessed at but exits 127.
func TestFakeRefusesShellSyntax(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := New("h", "u")
	for _, cmd := range []string{"echo a; echo b", "echo $HOME", "cat < /etc/passwd", "echo `id`"} {
		var ee *transport.ExitError
		if _, err := c.Run(ctx, cmd, transport.RunOptions{}); !errors.As(err, &ee) || ee.Code != 127 {
			t.Errorf("%s: want exit 127, got %v", cmd, err)
		}
	}
	res, err := c.Run(ctx, `echo 'a b' "c\"d" e\ f`, transport.RunOptions{})
	if err != nil || string(res.Stdout) != "a b c\"d e f\n" {
		t.Errorf("quoted words: %q %v", res.Stdout, err)
	}
}
