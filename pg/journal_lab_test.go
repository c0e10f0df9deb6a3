package pg

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// TestLabBackupsArePrivateAndRollbackRestoresMode: a backup of a
// world-readable key is 0600 (it is a private key), and a rollback puts the
// original's content and mode back.
func TestLabBackupsArePrivateAndRollbackRestoresMode(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	ctx := context.Background()
	c := postgresConn(t, l, h)
	key := path.Join(h.DataDir, "server.key")
	if err := c.WriteFile(ctx, key, []byte("not really a key\n"), transport.WriteOptions{Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	j := &Journaler{Conn: c, DataDir: h.DataDir, Run: "20261128T000000Z"}
	if err := j.Before(ctx, key); err != nil {
		t.Fatalf("backup: %v", err)
	}
	backup := BackupPath(key, "20261128T000000Z")
	fi, err := c.Stat(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode.Perm() != 0o600 || fi.Owner != "postgres" {
		t.Errorf("backup %s: mode %o owner %s, want 0600 postgres", backup, fi.Mode.Perm(), fi.Owner)
	}
	// The run changes the key (content and mode), then fails: roll back.
	if err := c.WriteFile(ctx, key, []byte("new key\n"), transport.WriteOptions{Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	done, err := Rollback(ctx, c, h.DataDir)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if len(done) != 1 || !strings.HasPrefix(done[0], "restored ") {
		t.Errorf("rollback did %v", done)
	}
	got, err := c.ReadFile(ctx, key)
	if err != nil || string(got) != "not really a key\n" {
		t.Errorf("restored content %q, %v", got, err)
	}
	if fi, err := c.Stat(ctx, key); err != nil || fi.Mode.Perm() != 0o644 {
		t.Errorf("restored mode: %v %v, want 0644", fi, err)
	}
}
