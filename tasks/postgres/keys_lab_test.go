package postgres

// Lab tests for the server key: an external CA rollover that keeps the
// live key+certificate pair serving until the new key's certificate is
// back, a stale answer from an external CA planned as the run handles it,
// and a key two hosts share (a pg_basebackup clone) replaced on one.

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
)

// keyFilePub reads a private key file on a lab host (the lab's hosts are
// directories on this machine) and returns its public key's fingerprint
// (hex SHA-256 of the DER, as pg.TLSState.KeyPubSHA256) and algorithm.
func keyFilePub(t *testing.T, path string) (sha, algo string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	pub := k.(crypto.Signer).Public()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), pki.KeyAlgo(pub)
}

// served is the SHA-256 of the certificate the host presents to a pgx
// verify-full client trusting root.
func served(t *testing.T, ctx context.Context, h lab.Host, root []byte) string {
	t.Helper()
	r := pg.Verify(ctx, pg.VerifyOptions{Addr: h.Addr, Port: h.PGPort, User: "postgres", Password: h.PGPassword, Database: "postgres",
		RootPEM: root, Timeout: 10 * time.Second})
	if !r.OK {
		t.Fatalf("%s: verify-full: %s", h.Name, r.Error)
	}
	return r.SHA256
}

// signAnswer plays the external CA: it signs DIR/HOST.csr for the host's
// names and puts HOST.crt (leaf + intermediates) and root.crt in DIR. It
// returns the leaf's SHA-256.
func signAnswer(t *testing.T, ext *pki.CA, dir string, h lab.Host, extra ...string) string {
	t.Helper()
	csr, err := os.ReadFile(filepath.Join(dir, h.Name+".csr"))
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	leaf, err := ext.Sign(csr, pki.SignRequest{DNSNames: append([]string{h.Name}, extra...), IPs: parseIPs(h.Addr), Days: 90})
	if err != nil {
		t.Fatalf("%s: external CA: sign: %v", h.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, h.Name+".crt"), append(leaf, ext.ChainPEM()...), 0o644); err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.crt"), ext.RootPEM(), 0o644); err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	sha, err := pg.CertSHA256(leaf)
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	return sha
}

// labBothLayouts brings up db01 (Debian layout: postgresql.conf and
// pg_hba.conf outside the data directory) and db02 (RHEL layout: both in
// it), the two layouts every lab test of the TLS job runs on.
func labBothLayouts(t *testing.T) *lab.Lab {
	t.Helper()
	l := labtest.New(t, 2)
	for i, want := range []string{lab.LayoutDebian, lab.LayoutRHEL} {
		if h := l.Hosts[i]; h.Layout != want {
			t.Fatalf("lab host %s has the %s layout, want %s", h.Name, h.Layout, want)
		}
	}
	return l
}

// eachHost runs check on every host, each as the subtest PHASE/HOST (HOST
// alone when phase is ""), so that a failure on one layout does not hide
// the other's result. When check stopped early on some host (t.Fatal), the
// test stops once every host was checked, as it would have stopped on that
// host alone.
func eachHost(t *testing.T, phase string, hosts []lab.Host, check func(t *testing.T, h lab.Host)) {
	t.Helper()
	stopped := false
	perHost := func(t *testing.T) {
		for _, h := range hosts {
			finished := false
			t.Run(h.Name, func(t *testing.T) {
				check(t, h)
				finished = true
			})
			stopped = stopped || !finished
		}
	}
	if phase == "" {
		perHost(t)
	} else {
		t.Run(phase, perHost)
	}
	if stopped {
		t.FailNow()
	}
}

// samePlan compares a --check run with the real run after it on one host:
// the same steps change, the host ends (or not) alike, nothing fails, and
// the certificate step's plan reads the same.
func samePlan(t *testing.T, what string, check, run *hostRun) {
	t.Helper()
	if check.failedStep != "" || run.failedStep != "" {
		t.Fatalf("%s: check failed at %q (%s), run failed at %q (%s)", what, check.failedStep, check.failMsg, run.failedStep, run.failMsg)
	}
	if check.ended != run.ended {
		t.Errorf("%s: check ended %v, run ended %v", what, check.ended, run.ended)
	}
	keySteps := func(changed []string) []string {
		return slices.DeleteFunc(slices.Clone(changed), func(s string) bool { return s != "pg_tls_key" && s != "tls_sign" })
	}
	if p, c := keySteps(check.changed), keySteps(run.changed); !slices.Equal(p, c) {
		t.Errorf("%s: check plans changes %v, the run changed %v", what, check.changed, run.changed)
	}
	cs, rs := check.outcomes["tls_sign"].Change.Summary, run.outcomes["tls_sign"].Change.Summary
	if cs != rs {
		t.Errorf("%s: tls_sign plan differs:\ncheck: %s\nrun:   %s", what, cs, rs)
	}
	t.Logf("%s: pg_tls_key: %s", what, run.outcomes["pg_tls_key"].Change.Summary)
	t.Logf("%s: tls_sign: %s", what, rs)
}

// TestLabExternalStaleAnswer: in external mode, a certificate the external
// CA returned in an earlier round (DIR/HOST.crt, now for other names) is
// ignored, and --check says so exactly as the run does: the host writes
// its new CSR out and waits; nothing fails, nothing is rolled back. It
// runs on db01 (Debian layout) and db02 (RHEL layout).
func TestLabExternalStaleAnswer(t *testing.T) {
	l := labBothLayouts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := filepath.Join(l.Dir, "csr")
	ext, err := pki.Init(filepath.Join(t.TempDir(), "ext-ca"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, l, map[string]any{"tls_ca_mode": "external"})
	first := d.run(ctx, false)
	eachHost(t, "first run", l.Hosts, func(t *testing.T, h lab.Host) {
		if r := first[h.Name]; !r.ended {
			t.Fatalf("%s: first run: want ended with a CSR, got %q %s", h.Name, r.failedStep, r.failMsg)
		}
	})
	for _, h := range l.Hosts {
		signAnswer(t, ext, dir, h)
	}
	requireAllProven(t, d.run(ctx, false), l.Hosts)

	// New names: the answer of the first round is stale now.
	d2 := newDriver(t, l, map[string]any{"tls_ca_mode": "external", "tls_san": []any{"db-extra.example"}})
	checks := d2.run(ctx, true)
	runs := d2.run(ctx, false)
	eachHost(t, "new names", l.Hosts, func(t *testing.T, h lab.Host) {
		run := runs[h.Name]
		samePlan(t, h.Name+": new names", checks[h.Name], run)
		if !run.ended || run.rolledBack {
			t.Fatalf("%s: new names: want the host to wait for the external CA, got ended %v rolled back %v (%s)", h.Name, run.ended, run.rolledBack, run.failMsg)
		}
		msg, _ := run.outcomes["tls_sign"].Result["msg"].(string)
		crt := filepath.Join(dir, h.Name+".crt")
		if !strings.Contains(msg, crt+" is stale (names differ") || !strings.Contains(msg, "must match "+filepath.Join(h.DataDir, "server.key")) {
			t.Errorf("%s: new names: tls_sign msg %q, want it to call %s stale and name the key", h.Name, msg, crt)
		}
	})
	// The external CA answers for the new names: installed and proven.
	for _, h := range l.Hosts {
		signAnswer(t, ext, dir, h, "db-extra.example")
	}
	checks = d2.run(ctx, true)
	runs = d2.run(ctx, false)
	eachHost(t, "answer", l.Hosts, func(t *testing.T, h lab.Host) {
		samePlan(t, h.Name+": answer", checks[h.Name], runs[h.Name])
		requireAllProven(t, runs, []lab.Host{h})
	})
}

// TestLabExternalKeyRollover: a converged host in external mode gets a new
// key type. The new key waits as server.key.next (0600, the cluster
// user's) with its CSR while the live key and certificate keep serving;
// once the external CA has signed, certificate and key are swapped
// together and proven. It runs on db01 (Debian layout) and db02 (RHEL
// layout).
func TestLabExternalKeyRollover(t *testing.T) {
	l := labBothLayouts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := filepath.Join(l.Dir, "csr")
	keyFiles := func(h lab.Host) (key, next string) {
		return filepath.Join(h.DataDir, "server.key"), filepath.Join(h.DataDir, "server.key.next")
	}
	ext, err := pki.Init(filepath.Join(t.TempDir(), "ext-ca"), pki.InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, l, map[string]any{"tls_ca_mode": "external"})
	d.run(ctx, false)
	oldCert, oldKey := map[string]string{}, map[string]string{}
	for _, h := range l.Hosts {
		oldCert[h.Name] = signAnswer(t, ext, dir, h)
	}
	requireAllProven(t, d.run(ctx, false), l.Hosts)
	eachHost(t, "converged", l.Hosts, func(t *testing.T, h lab.Host) {
		key, _ := keyFiles(h)
		oldKey[h.Name], _ = keyFilePub(t, key)
		if got := served(t, ctx, h, ext.RootPEM()); got != oldCert[h.Name] {
			t.Fatalf("%s: served %s, want %s", h.Name, got, oldCert[h.Name])
		}
	})

	d2 := newDriver(t, l, map[string]any{"tls_ca_mode": "external", "tls_key_type": "rsa-2048"})
	checks := d2.run(ctx, true)
	runs := d2.run(ctx, false)
	nextSHA := map[string]string{}
	eachHost(t, "new key type", l.Hosts, func(t *testing.T, h lab.Host) {
		key, next := keyFiles(h)
		run := runs[h.Name]
		samePlan(t, h.Name+": new key type", checks[h.Name], run)
		if !run.ended {
			t.Fatalf("%s: new key type: want the host to wait for the external CA, got %q %s", h.Name, run.failedStep, run.failMsg)
		}
		if s := run.outcomes["pg_tls_key"].Change.Summary; !strings.Contains(s, next) || !strings.Contains(s, "beside the live") {
			t.Errorf("%s: pg_tls_key plan %q, want the new key staged as %s", h.Name, s, next)
		}
		if sha, _ := keyFilePub(t, key); sha != oldKey[h.Name] {
			t.Fatalf("%s: server.key was replaced while its certificate is live", h.Name)
		}
		sha, algo := keyFilePub(t, next)
		nextSHA[h.Name] = sha
		if algo != "rsa-2048" {
			t.Errorf("%s: server.key.next is %s", h.Name, algo)
		}
		requireOwnKeyFile(t, next)
		csr, err := os.ReadFile(filepath.Join(dir, h.Name+".csr"))
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if c, err := pki.ParseCSR(csr); err != nil || pubSHA(t, c.PublicKey) != sha {
			t.Errorf("%s: the CSR written out is not for server.key.next (%v)", h.Name, err)
		}
		if msg, _ := run.outcomes["tls_sign"].Result["msg"].(string); !strings.Contains(msg, "must match "+next) {
			t.Errorf("%s: tls_sign msg %q does not name the key the certificate must match", h.Name, msg)
		}
		if got := served(t, ctx, h, ext.RootPEM()); got != oldCert[h.Name] {
			t.Errorf("%s: while waiting the server presents %s, want the live %s", h.Name, got, oldCert[h.Name])
		}
	})
	// Rerun while the external CA has not answered: nothing changes.
	waiting := d2.run(ctx, false)
	eachHost(t, "rerun while waiting", l.Hosts, func(t *testing.T, h lab.Host) {
		if r := waiting[h.Name]; !r.ended || len(r.changed) != 0 {
			t.Errorf("%s: rerun while waiting: ended %v changed %v (%s)", h.Name, r.ended, r.changed, r.failMsg)
		}
	})

	newCert := map[string]string{}
	for _, h := range l.Hosts {
		newCert[h.Name] = signAnswer(t, ext, dir, h)
	}
	checks = d2.run(ctx, true)
	runs = d2.run(ctx, false)
	eachHost(t, "answer", l.Hosts, func(t *testing.T, h lab.Host) {
		key, next := keyFiles(h)
		samePlan(t, h.Name+": answer", checks[h.Name], runs[h.Name])
		requireAllProven(t, runs, []lab.Host{h})
		if s := runs[h.Name].outcomes["tls_sign"].Change.Summary; !strings.Contains(s, "move "+next+" over "+key) {
			t.Errorf("%s: tls_sign plan %q, want the swap", h.Name, s)
		}
		if sha, algo := keyFilePub(t, key); sha != nextSHA[h.Name] || algo != "rsa-2048" {
			t.Errorf("%s: server.key is %s %s, want the staged key", h.Name, algo, sha)
		}
		requireOwnKeyFile(t, key)
		if _, err := os.Stat(next); err == nil {
			t.Errorf("%s: %s left after the swap", h.Name, next)
		}
		if got := served(t, ctx, h, ext.RootPEM()); got != newCert[h.Name] {
			t.Errorf("%s: after the swap the server presents %s, want %s", h.Name, got, newCert[h.Name])
		}
	})
	reruns := d2.run(ctx, false)
	eachHost(t, "rerun after the swap", l.Hosts, func(t *testing.T, h lab.Host) {
		if r := reruns[h.Name]; len(r.changed) != 0 || r.failedStep != "" {
			t.Errorf("%s: rerun after the swap changed %v (%s)", h.Name, r.changed, r.failMsg)
		}
	})
}

// requireOwnKeyFile: a key file the server accepts, 0600 and the cluster
// user's.
func requireOwnKeyFile(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || strconv.Itoa(int(fileUID(st))) != pgUser.Uid {
		t.Errorf("%s: mode %04o uid %d, want 0600 owned by postgres", path, st.Mode().Perm(), fileUID(st))
	}
}

func fileUID(st os.FileInfo) uint32 { return st.Sys().(*syscall.Stat_t).Uid }

func pubSHA(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// copyKeyPair gives to the host dst the key and certificate of src, as a
// pg_basebackup clone has them (postgres's, 0600 and 0644).
func copyKeyPair(t *testing.T, src, dst lab.Host) {
	t.Helper()
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	for name, mode := range map[string]os.FileMode{"server.key": 0o600, "server.crt": 0o644} {
		b, err := os.ReadFile(filepath.Join(src.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst.DataDir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// peerList is what the playbook passes as peer_key_sha256: every play
// host's key fingerprint.
func peerList(t *testing.T, hosts ...lab.Host) []any {
	t.Helper()
	var out []any
	for _, h := range hosts {
		sha, _ := keyFilePub(t, filepath.Join(h.DataDir, "server.key"))
		out = append(out, map[string]any{"host": h.Name, "sha256": sha, "in_recovery": false})
	}
	return out
}

// TestLabSharedKeyReplaced: db02 carries db01's key and certificate (as a
// pg_basebackup clone does). db01, first by name of two primaries, keeps
// its key; db02 gets a key of its own and a certificate for it.
func TestLabSharedKeyReplaced(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db1, db2 := l.Hosts[0], l.Hosts[1]
	requireAllProven(t, newDriver(t, l, nil).run(ctx, false), l.Hosts)
	copyKeyPair(t, db1, db2)
	shared, _ := keyFilePub(t, filepath.Join(db1.DataDir, "server.key"))
	if s2, _ := keyFilePub(t, filepath.Join(db2.DataDir, "server.key")); s2 != shared {
		t.Fatal("the copy did not take")
	}

	d := newDriver(t, l, map[string]any{"peer_key_sha256": peerList(t, db1, db2)})
	check := d.run(ctx, true)
	if s := check[db2.Name].outcomes["pg_tls_key"].Change.Summary; !strings.Contains(s, "key shared with db01 (a pg_basebackup clone?): generating a key of its own") {
		t.Errorf("db02: pg_tls_key plan %q", s)
	}
	if s := check[db1.Name].outcomes["pg_tls_key"].Change.Summary; !strings.Contains(s, "kept (also on db02") {
		t.Errorf("db01: pg_tls_key plan %q", s)
	}
	runs := d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	if sha, _ := keyFilePub(t, filepath.Join(db1.DataDir, "server.key")); sha != shared {
		t.Error("db01 lost its key")
	}
	own, _ := keyFilePub(t, filepath.Join(db2.DataDir, "server.key"))
	if own == shared {
		t.Fatal("db02 still shares db01's key")
	}
	if c := runs[db1.Name].changed; len(c) != 0 {
		t.Errorf("db01 changed %v", c)
	}
	// With the new fingerprints nothing is shared: nothing changes.
	d = newDriver(t, l, map[string]any{"peer_key_sha256": peerList(t, db1, db2)})
	for _, h := range l.Hosts {
		if r := d.run(ctx, false, h)[h.Name]; len(r.changed) != 0 || r.failedStep != "" {
			t.Errorf("rerun: %s changed %v (%s)", h.Name, r.changed, r.failMsg)
		}
	}
}
