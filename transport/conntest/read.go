package conntest

// The contract of Conn.ReadFile and Conn.Stat.

import (
	"context"
	"errors"
	"io/fs"
	"testing"
)

func readTests() []contractTest {
	return []contractTest{
		{"ReadFile/returns the exact content", 0, readExact},
		{"ReadFile/missing file is fs.ErrNotExist", 0, readMissing},
		{"ReadFile/follows a symlink", 0, readThroughLink},
		{"ReadFile/of a directory fails", 0, readDirectory},
		{"Stat/missing path is fs.ErrNotExist", 0, statMissing},
		{"Stat/regular file has its size, mode, owner and group", 0, statRegular},
		{"Stat/directory is a directory", 0, statDirectory},
		{"Stat/symlink is described, not followed", 0, statSymlink},
		{"Stat/follows symlinks before the last component", 0, statThroughDirLink},
		{"Context/done context fails reads", 0, readDoneContext},
	}
}

func readExact(t *testing.T, f *fixture) {
	for name, data := range map[string]string{"binary": "a\x00b\xff\nno newline at the end", "empty": ""} {
		p := f.put(name, data, 0o644)
		b, err := f.Conn.ReadFile(f.ctx, p)
		if err != nil || string(b) != data {
			t.Errorf("ReadFile(%s) = %q, %v, want %q", name, b, err, data)
		}
	}
}

func readMissing(t *testing.T, f *fixture) {
	f.missingIsNotExist("ReadFile", func(p string) error {
		_, err := f.Conn.ReadFile(f.ctx, p)
		return err
	})
}

// missingIsNotExist checks that op on a missing file, and on one in a
// missing directory, fails with fs.ErrNotExist naming the host.
func (f *fixture) missingIsNotExist(op string, call func(p string) error) {
	f.t.Helper()
	for _, p := range []string{f.path("missing"), f.path("missing-dir/file")} {
		err := call(p)
		if !errors.Is(err, fs.ErrNotExist) {
			f.t.Errorf("%s(%s): want fs.ErrNotExist, got %v", op, p, err)
		}
		f.namesHost(op+" of a missing file", err)
	}
}

func readThroughLink(t *testing.T, f *fixture) {
	f.put("real.conf", "through the link\n", 0o644)
	for _, link := range []string{f.symlink("real.conf", "relative"), f.symlink(f.path("real.conf"), "absolute")} {
		b, err := f.Conn.ReadFile(f.ctx, link)
		if err != nil || string(b) != "through the link\n" {
			t.Errorf("ReadFile(%s) = %q, %v", link, b, err)
		}
	}
}

func readDirectory(t *testing.T, f *fixture) {
	d := f.mkdir("dir")
	b, err := f.Conn.ReadFile(f.ctx, d)
	if err == nil {
		t.Fatalf("ReadFile of a directory = %q, want an error", b)
	}
	f.namesHost("read a directory", err)
}

func statMissing(t *testing.T, f *fixture) {
	f.missingIsNotExist("Stat", func(p string) error {
		_, err := f.Conn.Stat(f.ctx, p)
		return err
	})
}

func statRegular(t *testing.T, f *fixture) {
	p := f.put("app.conf", "abc", 0o640)
	fi, err := f.Conn.Stat(f.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Path != p || fi.Size != 3 || !fi.Mode.IsRegular() || fi.IsDir() || fi.Mode.Perm() != 0o640 || fi.LinkTarget != "" {
		t.Errorf("Stat = %+v, want %s, 3 bytes, a regular file with mode 0640", fi, p)
	}
	if fi.Owner != f.User || fi.Group == "" || fi.UID < 0 || fi.GID < 0 {
		t.Errorf("owner %q:%q (%d:%d), want %s and its group", fi.Owner, fi.Group, fi.UID, fi.GID, f.User)
	}
	if fi.ModTime.IsZero() {
		t.Error("no modification time")
	}
}

func statDirectory(t *testing.T, f *fixture) {
	d := f.mkdir("dir")
	fi, err := f.Conn.Stat(f.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode&fs.ModeDir == 0 || fi.Owner != f.User {
		t.Errorf("Stat = %+v, want a directory owned by %s", fi, f.User)
	}
}

func statSymlink(t *testing.T, f *fixture) {
	f.put("real.conf", "x", 0o600)
	for target, name := range map[string]string{"real.conf": "relative", f.path("real.conf"): "absolute", "nowhere": "dangling"} {
		link := f.symlink(target, name)
		fi, err := f.Conn.Stat(f.ctx, link)
		if err != nil {
			t.Errorf("Stat(%s link): %v", name, err)
			continue
		}
		if fi.Mode&fs.ModeSymlink == 0 || fi.Mode.IsRegular() || fi.LinkTarget != target || fi.Path != link {
			t.Errorf("Stat(%s link) = %+v, want a symlink to %q", name, fi, target)
		}
		if fi.Size != int64(len(target)) {
			t.Errorf("Stat(%s link).Size = %d, want %d, the length of its target (as lstat says)", name, fi.Size, len(target))
		}
	}
}

func statThroughDirLink(t *testing.T, f *fixture) {
	f.mkdir("real")
	f.put("real/f", "four", 0o644)
	f.symlink("real", "alias")
	fi, err := f.Conn.Stat(f.ctx, f.path("alias/f"))
	if err != nil || !fi.Mode.IsRegular() || fi.Size != 4 {
		t.Errorf("Stat(alias/f) = %+v, %v, want the 4-byte file in real/", fi, err)
	}
}

// readDoneContext: a read called with a done context fails with an error
// naming the host and wrapping ctx.Err().
func readDoneContext(t *testing.T, f *fixture) {
	p := f.put("app.conf", "x", 0o644)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	_, err := f.Conn.ReadFile(ctx, p)
	checkDone(t, f, "ReadFile", err)
	_, err = f.Conn.Stat(ctx, p)
	checkDone(t, f, "Stat", err)
}

func checkDone(t *testing.T, f *fixture, op string, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s with a done context: want an error wrapping context.Canceled, got %v", op, err)
		return
	}
	f.namesHost(op+" with a done context", err)
}
