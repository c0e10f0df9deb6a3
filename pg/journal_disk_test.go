package pg

// Backups and rollback on a real lab host (sshd, sudo, coreutils) when the
// disk is full and when the journaled files are symlinks. The small file
// system is a tmpfs the test mounts (it runs as root, like the lab) and
// unmounts when it ends.

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// postgresConn is a connection to h acting as postgres.
func postgresConn(t *testing.T, l *lab.Lab, h lab.Host) transport.Conn {
	t.Helper()
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{})
	t.Cleanup(func() { pool.Close() })
	login, err := pool.Conn(context.Background(), h.Name, inv.HostVars(h.Name))
	if err != nil {
		t.Fatal(err)
	}
	return login.Become(transport.Become{Enabled: true, User: "postgres"})
}

// smallDisk mounts a tmpfs of size bytes owned by postgres on a fresh
// directory; it is unmounted and removed when the test ends.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "sshplay-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(d) })
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+",mode=0755", "tmpfs", d).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", d).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", d, err, out)
		}
	})
	if out, err := exec.Command("chown", "postgres:postgres", d).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v %s", d, err, out)
	}
	return d
}

// fill leaves about free bytes free in dir (a root-owned filler) and
// returns a func that frees the space again.
func fill(t *testing.T, dir string, free uint64) func() {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := st.Bavail * uint64(st.Bsize)
	filler := filepath.Join(dir, ".filler")
	if avail > free {
		if err := os.WriteFile(filler, make([]byte, avail-free), 0o600); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatal(err)
		}
	}
	return func() { os.Remove(filler) }
}

// writeAs writes a file as postgres with mode.
func writeAs(t *testing.T, c transport.Conn, p string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := c.WriteFile(context.Background(), p, data, transport.WriteOptions{Mode: mode}); err != nil {
		t.Fatal(err)
	}
}

// leftovers lists what in dir is a partial or temporary file of sshplay.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sshplay-restore") || strings.HasPrefix(e.Name(), ".sshplay-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestLabDiskFullBackupRefusedBeforeCopying(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	c := postgresConn(t, l, h)
	ctx := context.Background()
	dir := smallDisk(t, 256<<10)
	conf := filepath.Join(dir, "postgresql.conf")
	body := bytes.Repeat([]byte("# setting = value\n"), 2000) // 36 KB
	writeAs(t, c, conf, body, 0o644)
	for _, free := range []uint64{
		16 << 10, // not even room for the backup: a copy would be cut short
		40 << 10, // room for the backup, not also for the rewritten file
	} {
		t.Run(strconv.FormatUint(free>>10, 10)+"KiB free", func(t *testing.T) {
			defer fill(t, dir, free)()
			j := &Journaler{Conn: c, DataDir: h.DataDir, Run: "20261128T000000Z"}
			err := j.Before(ctx, conf)
			t.Logf("%v", err)
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "back up "+conf+": no space left on device: "+dir+" has ") {
				t.Fatalf("backup on a full disk: %v, want no space left on device naming %s", err, dir)
			}
			if _, err := os.Stat(BackupPath(conf, "20261128T000000Z")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a backup was left: %v", err)
			}
			if jn, err := ReadJournal(ctx, c, h.DataDir); err != nil || jn != nil {
				t.Errorf("journal after the refused backup: %+v %v", jn, err)
			}
			if b, _ := os.ReadFile(conf); !bytes.Equal(b, body) {
				t.Error("the live file changed")
			}
		})
	}
}

func TestLabDiskFullRollbackNeverRewritesUnchangedFiles(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	c := postgresConn(t, l, h)
	ctx := context.Background()
	dir := smallDisk(t, 256<<10)
	kept, changed := filepath.Join(dir, "pg_hba.conf"), filepath.Join(dir, "postgresql.conf")
	keptBody, oldBody := bytes.Repeat([]byte("host all all 0/0 md5\n"), 1000), bytes.Repeat([]byte("ssl = off\n"), 2000)
	writeAs(t, c, kept, keptBody, 0o640)
	writeAs(t, c, changed, oldBody, 0o644)
	j := &Journaler{Conn: c, DataDir: h.DataDir, Run: "20261128T000000Z"}
	if err := j.Before(ctx, kept, changed); err != nil {
		t.Fatal(err)
	}
	newBody := bytes.Repeat([]byte("ssl = on \n"), 2000)
	if err := c.WriteFile(ctx, changed, newBody, transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	free := fill(t, dir, 0)

	// The run failed and the disk is full: the unchanged file needs no
	// space and is not touched; the changed one cannot be restored, and
	// says why, leaving nothing half-written.
	done, err := Rollback(ctx, c, h.DataDir)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "restore "+changed+" from ") || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("rollback on a full disk: %v, want no space left on device restoring %s", err, changed)
	}
	if len(done) != 1 || done[0] != "restored "+kept+" (content unchanged, not rewritten)" {
		t.Errorf("rollback did %q", done)
	}
	if got := leftovers(t, dir); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if b, _ := os.ReadFile(changed); !bytes.Equal(b, newBody) {
		t.Errorf("%s is neither the run's nor the original (%d bytes)", changed, len(b))
	}
	if jn, err := ReadJournal(ctx, c, h.DataDir); err != nil || jn == nil {
		t.Fatalf("journal gone after a failed rollback: %v", err)
	}

	// Space freed: the same rollback finishes.
	free()
	if done, err = Rollback(ctx, c, h.DataDir); err != nil {
		t.Fatalf("rollback after freeing space: %v", err)
	}
	for p, want := range map[string][]byte{kept: keptBody, changed: oldBody} {
		if b, _ := os.ReadFile(p); !bytes.Equal(b, want) {
			t.Errorf("%s not restored", p)
		}
	}
	if fi, _ := os.Stat(changed); fi.Mode().Perm() != 0o644 {
		t.Errorf("%s mode %04o, want 0644", changed, fi.Mode().Perm())
	}
	if jn, _ := ReadJournal(ctx, c, h.DataDir); jn != nil {
		t.Errorf("journal left after the rollback: %+v", jn)
	}
}

func TestLabRollbackRefusesADamagedBackup(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	c := postgresConn(t, l, h)
	ctx := context.Background()
	p := filepath.Join(h.DataDir, "server.crt")
	writeAs(t, c, p, []byte("original certificate\n"), 0o644)
	j := &Journaler{Conn: c, DataDir: h.DataDir, Run: "20261128T000000Z"}
	if err := j.Before(ctx, p); err != nil {
		t.Fatal(err)
	}
	writeAs(t, c, p, []byte("new certificate\n"), 0o644)
	// The backup got cut short after it was journaled.
	if err := os.Truncate(BackupPath(p, "20261128T000000Z"), 5); err != nil {
		t.Fatal(err)
	}
	_, err := Rollback(ctx, c, h.DataDir)
	if err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Fatalf("rollback from a truncated backup: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new certificate\n" {
		t.Errorf("the file was overwritten from a damaged backup: %q", b)
	}
}

func TestLabRollbackRestoresSymlinkTargetsNotLinks(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	c := postgresConn(t, l, h)
	ctx := context.Background()
	store := smallDisk(t, 1<<20) // the targets' directory, elsewhere
	target := filepath.Join(store, "pg_hba.conf")
	link := filepath.Join(h.DataDir, "linked_hba.conf")
	writeAs(t, c, target, []byte("local all all peer\n"), 0o640)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
	j := &Journaler{Conn: c, DataDir: h.DataDir, Run: "20261128T000000Z"}
	if err := j.Before(ctx, link); err != nil {
		t.Fatal(err)
	}
	jn, err := ReadJournal(ctx, c, h.DataDir)
	if err != nil || len(jn.Entries) != 1 || jn.Entries[0].Target != target || jn.Entries[0].Mode != "0640" || jn.Entries[0].SHA256 == "" {
		t.Fatalf("journal %+v %v, want the target with mode 0640 and a checksum", jn, err)
	}
	t.Cleanup(func() { os.Remove(BackupPath(link, "20261128T000000Z")) })
	if err := c.WriteFile(ctx, link, []byte("hostssl all all 0/0 scram-sha-256\n"), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Rollback(ctx, c, h.DataDir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a link: %v %v", link, fi, err)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("target mode %v %v, want 0640", fi, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "local all all peer\n" {
		t.Errorf("target holds %q", b)
	}
}
