package postgres_test

// The playbook's peer key lines (pg_key_peer, pg_tls_key's peer_key_sha256)
// through the real engine against lab hosts.

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// keySHA is the fingerprint of a lab host's server.key.
func keySHA(t *testing.T, h lab.Host) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.DataDir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s: server.key: no PEM", h.Name)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// TestLabCloneOfATLSPrimaryGetsAKeyOfItsOwn: a standby cloned with
// pg_basebackup from a primary that already has TLS carries the primary's
// server.key; the playbook gives it a key of its own and moves its link to
// TLS, and a rerun changes nothing.
func TestLabCloneOfATLSPrimaryGetsAKeyOfItsOwn(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if sum, out := play(t, ctx, l, false, map[string]any{"pg_hosts": "db01"}); sum.Failed() != 0 || sum.Unreachable() != 0 {
		t.Fatalf("first run on db01: %d failed:\n%s", sum.Failed(), out)
	}
	// A plaintext-capable replication rule after enforcement would be a
	// DBA's own choice; the lab puts it first, and prefer lets the clone
	// stream over TLS without verifying anything.
	if err := l.MakeStandby(ctx, "db02", "db01", lab.StandbyOptions{SSLMode: "prefer"}); err != nil {
		t.Fatal(err)
	}
	db1, db2 := l.Hosts[0], l.Hosts[1]
	shared := keySHA(t, db1)
	if keySHA(t, db2) != shared {
		t.Fatal("the clone does not carry the primary's key: the lab's pg_basebackup changed")
	}
	sum, out := play(t, ctx, l, false, nil)
	if sum.Failed() != 0 || sum.Unreachable() != 0 {
		t.Fatalf("run with a shared key: %d failed:\n%s", sum.Failed(), out)
	}
	if !strings.Contains(out, "key shared with db01") {
		t.Errorf("the output does not say why db02 gets a new key:\n%s", out)
	}
	if keySHA(t, db1) != shared || keySHA(t, db2) == shared {
		t.Errorf("want db01 to keep its key and db02 to get its own")
	}
	if !strings.Contains(out, "db02 | replication from "+db1.Addr+":5432 | - | - | 0 | - | streaming, sslmode=verify-full") {
		t.Errorf("the clone's link is not proven over verify-full:\n%s", out)
	}
	sum, out = play(t, ctx, l, false, nil)
	for _, h := range l.Hosts {
		if st := sum.Stats[h.Name]; st == nil || st.Changed != 0 || st.Failed != 0 {
			t.Errorf("rerun: %s stats %+v\n%s", h.Name, st, out)
		}
	}
}
