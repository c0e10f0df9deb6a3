package transport

// Writes through symlinks, the space check and the sweep of leftovers, on
// the control machine (osFS) and over a fake file system that answers as
// OpenSSH's sftp-server does on a full disk.

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

func TestWriteThroughSymlinkReplacesTargetAndKeepsLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	real := filepath.Join(dir, "store", "postgresql.conf")
	if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(real, 0o640); err != nil {
		t.Fatal(err)
	}
	// A chain: an absolute link to a relative one.
	hop := filepath.Join(dir, "store", "current.conf")
	link := filepath.Join(dir, "postgresql.conf")
	if err := os.Symlink("postgresql.conf", hop); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hop, link); err != nil {
		t.Fatal(err)
	}
	c := NewLocalConn("localhost")
	if err := c.WriteFile(ctx, link, []byte("new\n"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, hop} {
		if fi, err := os.Lstat(l); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink: %v %v", l, fi, err)
		}
	}
	b, err := os.ReadFile(real)
	if err != nil || string(b) != "new\n" {
		t.Errorf("target holds %q, %v", b, err)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("target mode %04o, want 0640 kept", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(real))
	if len(ents) != 2 {
		t.Errorf("the target's directory holds %d entries, want the file and the hop", len(ents))
	}
	got, fi, err := ResolveLinks(ctx, c, link)
	if err != nil || got != real || fi == nil || fi.Mode.Perm() != 0o640 {
		t.Errorf("ResolveLinks = %s %+v %v, want %s", got, fi, err, real)
	}

	// A dangling link: the write creates its target, the link stays.
	dangling := filepath.Join(dir, "pg_hba.conf")
	if err := os.Symlink("store/pg_hba.conf", dangling); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, dangling, []byte("hba\n"), WriteOptions{Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("dangling link replaced: %v %v", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "store", "pg_hba.conf")); err != nil || string(b) != "hba\n" {
		t.Errorf("dangling link's target: %q %v", b, err)
	}

	// A loop is an error, and writes nothing.
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, loop, []byte("x"), WriteOptions{}); err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("write through a loop: %v", err)
	}
}

// fullFS answers like OpenSSH's sftp-server on a full disk: the write
// fails with SSH_FX_FAILURE and statvfs shows (almost) no room.
type fullFS struct {
	fileSystem
	avail   uint64
	removed []string
}

func (f *fullFS) statVFS(string) (*fsSpace, error) {
	return &fsSpace{avail: f.avail, availRoot: f.avail, block: 4096}, nil
}

func (f *fullFS) createExcl(name string) (tempFile, error) {
	t, err := f.fileSystem.createExcl(name)
	if err != nil {
		return nil, err
	}
	return failingFile{t}, nil
}

func (f *fullFS) remove(name string) error {
	f.removed = append(f.removed, name)
	return f.fileSystem.remove(name)
}

type failingFile struct{ tempFile }

func (failingFile) Write([]byte) (int, error) {
	return 0, &sftp.StatusError{Code: uint32(sftp.ErrSSHFxFailure)}
}

func TestWriteOnFullDiskSaysNoSpaceAndLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "postgresql.conf")
	if err := os.WriteFile(p, []byte("live\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hs := &localHost{}
	for _, c := range []struct {
		name  string
		avail uint64
		ops   bool // the temp file was created (the check passed)
	}{
		{"refused before writing", 4096, false},
		// Room by statvfs when asked, none by the time of the write: the
		// server's "Failure" is explained after the temp file is gone.
		{"failure explained", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fullFS{fileSystem: osFS{}, avail: c.avail}
			data := []byte(strings.Repeat("x", 20000))
			if c.ops {
				// The check passes, the write fails.
				f.avail = 1 << 20
				w := &atomicWrite{fsys: f, hs: hs, dst: p, data: data, meta: fileMeta{mode: 0o644, uid: -1, gid: -1}}
				err := w.run()
				var se *sftp.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("with room by statvfs the server's error stays: %v", err)
				}
				f.avail = 0
			}
			err := writeFileOp(ctx, "db01", f, hs, p, data, WriteOptions{})
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "host db01: write "+p+": no space left on device: "+dir+" has ") {
				t.Fatalf("error %v, want no space left on device naming %s", err, dir)
			}
			if strings.Contains(err.Error(), "SSH_FX_FAILURE") {
				t.Errorf("error still says SSH_FX_FAILURE: %v", err)
			}
			// A private file system (here the local os) learns the room
			// while it creates the temp file, and removes that empty file
			// when the data does not fit; the failed write always removes
			// what it wrote.
			if c.ops && len(f.removed) == 0 {
				t.Errorf("the failed write removed no temp file")
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("left in %s: %v", dir, ents)
			}
			if b, _ := os.ReadFile(p); string(b) != "live\n" {
				t.Errorf("live file is now %q", b)
			}
		})
	}
}

func TestWriteSweepsOldLeftoversOnceAndKeepsFreshOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	mk := func(name string, age time.Duration) string {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(d, "big.bin")
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		for _, p := range []string{f, d} {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	stale := mk(".sshplay-0123456789ab", 2*time.Hour)
	fresh := mk(".sshplay-ba9876543210", time.Minute)
	notOurs := mk(".sshplay-backup", 2*time.Hour) // not a write's name
	// A private write's temp file (no directory) left by a dropped
	// connection, and one being written right now.
	mkFile := func(name string, age time.Duration) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
		return f
	}
	staleFile := mkFile(".sshplay-0123456789cd", 2*time.Hour)
	freshFile := mkFile(".sshplay-0123456789ef", time.Minute)
	c := NewLocalConn("localhost")
	if err := c.WriteFile(ctx, filepath.Join(dir, "a.conf"), []byte("a"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, staleFile} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a leftover older than %s survived: %v", leftoverAge, err)
		}
	}
	for _, d := range []string{fresh, freshFile, notOurs} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
	// One listing per directory and connection: a leftover appearing
	// later is left to the next connection.
	again := mk(".sshplay-00000000000a", 2*time.Hour)
	if err := c.WriteFile(ctx, filepath.Join(dir, "b.conf"), []byte("b"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(again); err != nil {
		t.Errorf("second write on the same connection swept again: %v", err)
	}
	if err := NewLocalConn("localhost").WriteFile(ctx, filepath.Join(dir, "b.conf"), []byte("b"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(again); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the next connection did not sweep: %v", err)
	}
}

func TestTempDirNamesAreOnlyThoseOfWrites(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		".sshplay-" + randomHex(6):          true,
		".sshplay-journal":                  false,
		".sshplay-0123456789AB":             false,
		".sshplay-0123456789abc":            false,
		"pg_hba.conf.sshplay-restore":       false,
		"server.key.sshplay-20261128T1630Z": false,
	} {
		if got := isTempDirName(name); got != want {
			t.Errorf("isTempDirName(%q) = %v, want %v", name, got, want)
		}
	}
}
