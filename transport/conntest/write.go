package conntest

// The contract of Conn.WriteFile and Conn.Remove on a writable Conn.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/sshplay/sshplay/transport"
)

func writeTests() []contractTest {
	return []contractTest{
		{"WriteFile/new file gets mode 0644 and the writing user", needWrite, writeNew},
		{"WriteFile/explicit mode is applied exactly", needWrite, writeExplicitMode},
		{"WriteFile/rewrite without options keeps mode and owner", needWrite, writeKeepsMode},
		{"WriteFile/replaces the whole content", needWrite, writeReplacesContent},
		{"WriteFile/into a missing directory is fs.ErrNotExist", needWrite, writeMissingDir},
		{"WriteFile/over a directory fails and keeps it", needWrite, writeOverDir},
		{"WriteFile/through a symlink writes the target and keeps the link", needWrite, writeThroughLink},
		{"WriteFile/through a dangling symlink creates the target", needWrite, writeDanglingLink},
		{"WriteFile/ReplaceLink replaces the link, not its target", needWrite, writeReplaceLink},
		{"WriteFile/unknown owner or group fails and writes nothing", needWrite, writeUnknownOwner},
		{"WriteFile/root gives the file the owner and group asked", needWrite | needBecome | needOther, writeOwnerAsRoot},
		{"WriteFile/login user cannot give a file away", needWrite | needOther | needUnprivileged, writeGiveAway},
		{"WriteFile/concurrent writers leave one whole version", needWrite, writeConcurrent},
		{"Context/done context fails writes and changes nothing", needWrite, writeDoneContext},
	}
}

func removeTests() []contractTest {
	return []contractTest{
		{"Remove/deletes a file", needWrite, removeFile},
		{"Remove/missing path is not an error", needWrite, removeMissing},
		{"Remove/deletes an empty directory", needWrite, removeEmptyDir},
		{"Remove/refuses a directory that is not empty", needWrite, removeFullDir},
		{"Remove/deletes a symlink, not its target", needWrite, removeLink},
		{"Remove/follows symlinks before the last component", needWrite, removeThroughDirLink},
	}
}

// write writes through the Conn under test, failing the test on error.
func (f *fixture) write(p, data string, opts transport.WriteOptions) {
	f.t.Helper()
	if err := f.Conn.WriteFile(f.ctx, p, []byte(data), opts); err != nil {
		f.t.Fatalf("write %s: %v", p, err)
	}
}

// wantFile fails the test unless p holds data with mode perm, as Setup
// sees it.
func (f *fixture) wantFile(p, data string, perm fs.FileMode) *transport.FileInfo {
	f.t.Helper()
	return f.wantFileVia(f.Setup, p, data, perm)
}

// wantFileVia is wantFile as c sees it (a file the login user may not read).
func (f *fixture) wantFileVia(c transport.Conn, p, data string, perm fs.FileMode) *transport.FileInfo {
	f.t.Helper()
	if b, err := c.ReadFile(f.ctx, p); err != nil || string(b) != data {
		f.t.Errorf("%s holds %q (%v), want %q", p, b, err, data)
	}
	fi, err := c.Stat(f.ctx, p)
	if err != nil {
		f.t.Fatalf("stat %s: %v", p, err)
	}
	if !fi.Mode.IsRegular() || fi.Mode.Perm() != perm {
		f.t.Errorf("%s is %v, want a regular file with mode %04o", p, fi.Mode, perm)
	}
	return fi
}

func writeNew(t *testing.T, f *fixture) {
	p := f.path("new.conf")
	f.write(p, "one\n", transport.WriteOptions{})
	fi := f.wantFile(p, "one\n", 0o644)
	if fi.Owner != f.User || fi.Size != 4 {
		t.Errorf("new file %+v, want 4 bytes owned by %s", fi, f.User)
	}
	f.onlyEntries("new.conf")
}

func writeExplicitMode(t *testing.T, f *fixture) {
	// 0666 and 0777 would lose bits to a umask of 022.
	for _, m := range []fs.FileMode{0o600, 0o640, 0o755, 0o666, 0o777} {
		p := f.path(fmt.Sprintf("mode-%04o", m))
		f.write(p, "x", transport.WriteOptions{Mode: m})
		f.wantFile(p, "x", m)
	}
	p := f.path("mode-0600")
	f.write(p, "y", transport.WriteOptions{Mode: 0o644})
	f.wantFile(p, "y", 0o644)
	for name, m := range map[string]fs.FileMode{"setuid": fs.ModeSetuid | 0o755, "setgid": fs.ModeSetgid | 0o750, "sticky": fs.ModeSticky | 0o644} {
		p := f.path(name)
		f.write(p, "x", transport.WriteOptions{Mode: m})
		if fi := f.stat(p); fi.Mode != m {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode, m)
		}
	}
}

func writeKeepsMode(t *testing.T, f *fixture) {
	p := f.path("app.conf")
	f.write(p, "one\n", transport.WriteOptions{Mode: 0o640})
	before := f.stat(p)
	f.write(p, "two\n", transport.WriteOptions{})
	after := f.wantFile(p, "two\n", 0o640)
	if after.Owner != before.Owner || after.Group != before.Group {
		t.Errorf("owner changed from %s:%s to %s:%s", before.Owner, before.Group, after.Owner, after.Group)
	}
	f.onlyEntries("app.conf")
}

func writeReplacesContent(t *testing.T, f *fixture) {
	p := f.path("app.conf")
	for _, data := range []string{strings.Repeat("long line\n", 1000), "short\n", ""} {
		f.write(p, data, transport.WriteOptions{})
		if fi := f.wantFile(p, data, 0o644); fi.Size != int64(len(data)) {
			t.Errorf("size %d after writing %d bytes", fi.Size, len(data))
		}
	}
	f.onlyEntries("app.conf")
}

func writeMissingDir(t *testing.T, f *fixture) {
	err := f.Conn.WriteFile(f.ctx, f.path("missing/app.conf"), []byte("x"), transport.WriteOptions{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("want fs.ErrNotExist, got %v", err)
	}
	f.namesHost("write into a missing directory", err)
	f.onlyEntries()
}

func writeOverDir(t *testing.T, f *fixture) {
	d := f.mkdir("dir")
	f.put("dir/inner", "kept", 0o644)
	err := f.Conn.WriteFile(f.ctx, d, []byte("x"), transport.WriteOptions{})
	if err == nil {
		t.Fatal("write over a directory succeeded")
	}
	f.namesHost("write over a directory", err)
	if !f.stat(d).IsDir() {
		t.Error("the directory is gone")
	}
	f.onlyEntries("dir", "dir/inner")
}

func writeThroughLink(t *testing.T, f *fixture) {
	f.mkdir("store")
	real := f.put("store/real.conf", "old\n", 0o640)
	f.symlink("real.conf", "store/current.conf")
	// A chain: an absolute link to a relative one.
	link := f.symlink(f.path("store/current.conf"), "app.conf")
	f.write(link, "new\n", transport.WriteOptions{})
	f.wantFile(real, "new\n", 0o640)
	if fi := f.stat(link); fi.Mode&fs.ModeSymlink == 0 || fi.LinkTarget != f.path("store/current.conf") {
		t.Errorf("the link became %+v", fi)
	}
	f.onlyEntries("app.conf", "store", "store/current.conf", "store/real.conf")
}

func writeDanglingLink(t *testing.T, f *fixture) {
	link := f.symlink("made.conf", "app.conf")
	f.write(link, "made\n", transport.WriteOptions{Mode: 0o600})
	f.wantFile(f.path("made.conf"), "made\n", 0o600)
	if fi := f.stat(link); fi.Mode&fs.ModeSymlink == 0 {
		t.Errorf("the link became %+v", fi)
	}
	f.onlyEntries("app.conf", "made.conf")
}

func writeReplaceLink(t *testing.T, f *fixture) {
	real := f.put("real.conf", "target\n", 0o640)
	link := f.symlink("real.conf", "app.conf")
	f.write(link, "own file\n", transport.WriteOptions{ReplaceLink: true, Mode: 0o600})
	f.wantFile(link, "own file\n", 0o600)
	f.wantFile(real, "target\n", 0o640)
	f.onlyEntries("app.conf", "real.conf")
}

func writeUnknownOwner(t *testing.T, f *fixture) {
	p := f.path("app.conf")
	for _, tc := range []struct {
		opts transport.WriteOptions
		want string
	}{
		{transport.WriteOptions{Owner: "sshplay-no-such-user"}, `no such user "sshplay-no-such-user"`},
		{transport.WriteOptions{Group: "sshplay-no-such-group"}, `no such group "sshplay-no-such-group"`},
	} {
		err := f.Conn.WriteFile(f.ctx, p, []byte("x"), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error saying %s, got %v", tc.want, err)
		}
		f.namesHost("unknown owner", err)
	}
	f.onlyEntries()
}

func writeOwnerAsRoot(t *testing.T, f *fixture) {
	root := f.root()
	p := f.path("server.key")
	if err := root.WriteFile(f.ctx, p, []byte("k"), transport.WriteOptions{Owner: f.Other, Group: f.Other, Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	fi := f.wantFileVia(root, p, "k", 0o600)
	if fi.Owner != f.Other || fi.Group != f.Other {
		t.Errorf("owner %s:%s, want %s:%s", fi.Owner, fi.Group, f.Other, f.Other)
	}
	if err := root.WriteFile(f.ctx, p, []byte("k2"), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi := f.wantFileVia(root, p, "k2", 0o600); fi.Owner != f.Other || fi.Group != f.Other {
		t.Errorf("rewrite as root gave owner %s:%s, want %s:%s kept", fi.Owner, fi.Group, f.Other, f.Other)
	}
	f.onlyEntries("server.key")
}

func writeGiveAway(t *testing.T, f *fixture) {
	p := f.path("app.conf")
	err := f.Conn.WriteFile(f.ctx, p, []byte("x"), transport.WriteOptions{Owner: f.Other})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("want fs.ErrPermission, got %v", err)
	}
	f.namesHost("give a file away", err)
	f.onlyEntries()
}

// writeConcurrent: writers racing on one path each replace it whole; the
// file ends as one of their versions, never a mix, with nothing left over.
func writeConcurrent(t *testing.T, f *fixture) {
	p := f.path("app.conf")
	const writers = 6
	versions := map[string]bool{}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		data := strings.Repeat(fmt.Sprintf("writer %d\n", i), 4096)
		versions[data] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.Conn.WriteFile(f.ctx, p, []byte(data), transport.WriteOptions{})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.content(p); !versions[got] {
		t.Errorf("the file holds %d bytes that are none of the versions written", len(got))
	}
	f.onlyEntries("app.conf")
}

// writeDoneContext: a write called with a done context fails with an
// error naming the host and wrapping ctx.Err(), and changes nothing.
func writeDoneContext(t *testing.T, f *fixture) {
	kept := f.put("kept.conf", "kept\n", 0o644)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	checkDone(t, f, "WriteFile", f.Conn.WriteFile(ctx, f.path("new.conf"), []byte("x"), transport.WriteOptions{}))
	checkDone(t, f, "WriteFile over a file", f.Conn.WriteFile(ctx, kept, []byte("x"), transport.WriteOptions{}))
	checkDone(t, f, "Remove", f.Conn.Remove(ctx, kept))
	f.wantFile(kept, "kept\n", 0o644)
	f.onlyEntries("kept.conf")
}

func removeFile(t *testing.T, f *fixture) {
	p := f.put("app.conf", "x", 0o644)
	if err := f.Conn.Remove(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Conn.Stat(f.ctx, p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after Remove: want fs.ErrNotExist, got %v", err)
	}
	f.onlyEntries()
}

func removeMissing(t *testing.T, f *fixture) {
	for _, p := range []string{f.path("missing"), f.path("missing-dir/file")} {
		if err := f.Conn.Remove(f.ctx, p); err != nil {
			t.Errorf("Remove(%s): %v", p, err)
		}
	}
}

func removeEmptyDir(t *testing.T, f *fixture) {
	d := f.mkdir("empty")
	if err := f.Conn.Remove(f.ctx, d); err != nil {
		t.Fatal(err)
	}
	f.onlyEntries()
}

func removeFullDir(t *testing.T, f *fixture) {
	d := f.mkdir("dir")
	f.put("dir/inner", "kept", 0o644)
	err := f.Conn.Remove(f.ctx, d)
	if err == nil {
		t.Error("Remove of a directory that is not empty succeeded")
	}
	f.namesHost("remove a full directory", err)
	f.onlyEntries("dir", "dir/inner")
}

func removeLink(t *testing.T, f *fixture) {
	f.put("real.conf", "kept\n", 0o644)
	link := f.symlink("real.conf", "app.conf")
	if err := f.Conn.Remove(f.ctx, link); err != nil {
		t.Fatal(err)
	}
	f.onlyEntries("real.conf")
}

func removeThroughDirLink(t *testing.T, f *fixture) {
	f.mkdir("real")
	f.put("real/f", "x", 0o644)
	f.symlink("real", "alias")
	if err := f.Conn.Remove(f.ctx, f.path("alias/f")); err != nil {
		t.Fatal(err)
	}
	f.onlyEntries("alias", "real")
}
