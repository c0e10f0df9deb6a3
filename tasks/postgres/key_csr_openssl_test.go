package postgres

// pg_tls_key makes the key and the CSR with the host's openssl: one
// process on OpenSSL 1.1.1 and later, the key born 0600, the CSR 0644 and
// printed as written, the public key taken from the CSR. These tests run
// the real commands on this machine's shell and openssl, with every
// external command the scripts may run logged on the way.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/testenv"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/transport"
)

// loggedConn runs commands with PATH starting at a directory of shims that
// log their name (one line per process) and run the real command.
type loggedConn struct {
	transport.Conn
	shims, log string
	runs       int
}

func (c *loggedConn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	c.runs++
	return c.Conn.Run(ctx, "PATH="+c.shims+":$PATH; export PATH\n"+cmd, opts)
}

// processes returns the external commands run since the last call.
func (c *loggedConn) processes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(c.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(c.log)
	return strings.Fields(string(b))
}

func newLoggedConn(t *testing.T) *loggedConn {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.SkipOrFail(t, "no openssl on this machine")
	}
	dir := t.TempDir()
	c := &loggedConn{Conn: transport.NewLocalConn("db1"), shims: filepath.Join(dir, "bin"), log: filepath.Join(dir, "log")}
	if err := os.Mkdir(c.shims, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"openssl", "mv", "chmod", "cat", "rm", "mktemp", "stat", "head", "cut", "tail", "sh", "bash"} {
		real, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		shim := "#!/bin/sh\necho " + name + " >> " + c.log + "\nexec " + real + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(c.shims, name), []byte(shim), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// keyPubPEM is the public half of the PEM private key in file.
func keyPubPEM(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s: no PEM", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func fileMode(t *testing.T, file string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// checkKeyCSR checks what makeKeyCSR left and returned: the key 0600, the
// CSR 0644 and byte for byte what was returned, for the key and the
// wanted names, no temporary file left.
func checkKeyCSR(t *testing.T, what string, r csrRequest, pub, csr []byte) {
	t.Helper()
	if m := fileMode(t, r.Key); m != 0o600 {
		t.Errorf("%s: key mode %04o", what, m)
	}
	if m := fileMode(t, r.CSR); m != 0o644 {
		t.Errorf("%s: CSR mode %04o", what, m)
	}
	if onDisk, _ := os.ReadFile(r.CSR); !bytes.Equal(onDisk, csr) {
		t.Errorf("%s: CSR returned differs from the file:\n%s\n---\n%s", what, csr, onDisk)
	}
	if want := keyPubPEM(t, r.Key); !bytes.Equal(pub, want) {
		t.Errorf("%s: public key %s, the key's is %s", what, pub, want)
	}
	if !csrMatches(csr, pub, r.Names) {
		t.Errorf("%s: CSR not for the key and %s", what, r.Names)
	}
	if req, err := pki.ParseCSR(csr); err != nil || pki.KeyAlgo(req.PublicKey) != r.KeyType {
		t.Errorf("%s: CSR key type: %v", what, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(r.Key), "*.sshplay-new"))
	if len(left) > 0 {
		t.Errorf("%s: left %v", what, left)
	}
}

// TestKeyAndCSRWithOneOpenSSLProcess: on OpenSSL 1.1.1+ a new key and its
// CSR cost one process (no genpkey, chmod, mv, pkey or cat); replacing a
// key and a CSR already there adds one rename each; a CSR for the key
// that stays is one openssl req. Older openssl and LibreSSL keep the
// two-step way (genpkey, then req, with a config file where -addext is
// missing) and give the same files.
func TestKeyAndCSRWithOneOpenSSLProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	names, err := pg.WantedNames(pg.SANInput{InventoryHostname: "db1.example.com", AnsibleHost: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		openssl              string
		fresh, replace, keep []string
	}{
		{"OpenSSL 3.0.13 30 Jan 2024 (Library: OpenSSL 3.0.13 30 Jan 2024)", []string{"openssl"}, []string{"openssl", "mv", "mv"}, []string{"openssl", "mv"}},
		{"OpenSSL 1.1.0l  10 Sep 2019", []string{"openssl", "chmod", "mv", "mktemp", "openssl", "rm"}, nil, nil},
		{"LibreSSL 3.8.2", []string{"openssl", "chmod", "mv", "openssl"}, nil, nil},
	} {
		for _, kt := range []string{"ecdsa-p256", "rsa-2048"} {
			conn := newLoggedConn(t)
			dir := t.TempDir()
			r := csrRequest{Key: filepath.Join(dir, "server.key"), CSR: filepath.Join(dir, "server.csr"), Names: names, NewKey: true, KeyType: kt, OpenSSL: c.openssl}
			what := strings.Fields(c.openssl)[0] + " " + strings.Fields(c.openssl)[1] + " " + kt
			pub, csr, err := makeKeyCSR(ctx, conn, r)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkKeyCSR(t, what+", fresh", r, pub, csr)
			if got := conn.processes(t); !slices.Equal(got, c.fresh) {
				t.Errorf("%s, fresh: processes %v, want %v", what, got, c.fresh)
			}
			// A key and a CSR already there (more open than wanted) are
			// replaced, never rewritten in place.
			os.Chmod(r.Key, 0o644)
			os.Chmod(r.CSR, 0o600)
			pub2, csr2, err := makeKeyCSR(ctx, conn, r)
			if err != nil {
				t.Fatalf("%s: replace: %v", what, err)
			}
			checkKeyCSR(t, what+", replaced", r, pub2, csr2)
			if bytes.Equal(pub, pub2) {
				t.Errorf("%s: the key was not replaced", what)
			}
			if got := conn.processes(t); c.replace != nil && !slices.Equal(got, c.replace) {
				t.Errorf("%s, replace: processes %v, want %v", what, got, c.replace)
			}
			r.NewKey = false
			pub3, csr3, err := makeKeyCSR(ctx, conn, r)
			if err != nil {
				t.Fatalf("%s: CSR only: %v", what, err)
			}
			checkKeyCSR(t, what+", CSR only", r, pub3, csr3)
			if !bytes.Equal(pub2, pub3) {
				t.Errorf("%s: CSR only changed the key", what)
			}
			if got := conn.processes(t); c.keep != nil && !slices.Equal(got, c.keep) {
				t.Errorf("%s, CSR only: processes %v, want %v", what, got, c.keep)
			}
		}
	}
}

// TestKeyAndCSRFailureLeavesNoKey: when openssl fails, the command fails
// naming the host and no key or CSR is left where there was none.
func TestKeyAndCSRFailureLeavesNoKey(t *testing.T) {
	t.Parallel()
	conn := newLoggedConn(t)
	dir := t.TempDir()
	names, _ := pg.WantedNames(pg.SANInput{InventoryHostname: "db1"})
	r := csrRequest{Key: filepath.Join(dir, "server.key"), CSR: filepath.Join(dir, "server.csr"), Names: names, NewKey: true,
		KeyType: "ecdsa-p256", OpenSSL: "OpenSSL 3.0.13 30 Jan 2024"}
	// A common name over 64 characters makes req fail after the key is
	// written.
	r.Names.DNS = []string{strings.Repeat("a", 60) + ".example.com"}
	_, _, err := makeKeyCSR(context.Background(), conn, r)
	if err == nil || !strings.Contains(err.Error(), "host db1: write key/CSR "+r.CSR) {
		t.Fatalf("got %v", err)
	}
	for _, p := range []string{r.Key, r.CSR, r.Key + ".sshplay-new"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
}

// TestProbeKeyRunsOpenSSLOnlyForAFile: a missing key is seen over the file
// protocol (no command); an existing one costs one openssl process, with
// mode and owner as stat gives them; a key openssl cannot read is named
// with openssl's words; a dangling link counts as missing.
func TestProbeKeyRunsOpenSSLOnlyForAFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := newLoggedConn(t)
	dir := t.TempDir()
	f := &pg.Facts{DataDirectory: dir, TLS: &pg.TLSState{ClusterUser: "postgres"}}
	key := filepath.Join(dir, "server.key")
	ks, err := probeKey(ctx, conn, key, f)
	if err != nil || ks.Exists || !ks.DirExists || ks.ClusterUser != "postgres" || conn.runs != 0 {
		t.Errorf("missing key: %+v %v, %d commands", ks, err, conn.runs)
	}
	if ks, _ := probeKey(ctx, conn, filepath.Join(dir, "nodir", "server.key"), f); ks.DirExists {
		t.Error("missing directory reported as there")
	}
	if err := exec.Command("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key).Run(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(key, 0o640)
	conn.processes(t)
	ks, err = probeKey(ctx, conn, key, f)
	if err != nil || !ks.Exists || ks.Problem != "" || ks.Algo != "ecdsa-p256" || ks.Mode != 0o640 || ks.Owner == "" || !bytes.Equal(ks.PubPEM, keyPubPEM(t, key)) {
		t.Errorf("key: %+v %v", ks, err)
	}
	if got := conn.processes(t); !slices.Equal(got, []string{"openssl"}) {
		t.Errorf("key: processes %v", got)
	}
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"), 0o600)
	if ks, err = probeKey(ctx, conn, key, f); err != nil || !ks.Exists || ks.Problem == "" || strings.Contains(ks.Problem, markUnreadable) {
		t.Errorf("unreadable key: %+v %v", ks, err)
	}
	os.Remove(key)
	os.Symlink(filepath.Join(dir, "gone"), key)
	if ks, err = probeKey(ctx, conn, key, f); err != nil || ks.Exists || !ks.DirExists {
		t.Errorf("dangling link: %+v %v", ks, err)
	}
}

// TestLeftoverTemporaryKeyDoesNotLendItsMode: a temporary key file left by
// an interrupted run (here world-readable) is removed before openssl
// writes the new key, so the key that replaces server.key is 0600.
func TestLeftoverTemporaryKeyDoesNotLendItsMode(t *testing.T) {
	t.Parallel()
	conn := newLoggedConn(t)
	dir := t.TempDir()
	names, _ := pg.WantedNames(pg.SANInput{InventoryHostname: "db1"})
	r := csrRequest{Key: filepath.Join(dir, "server.key"), CSR: filepath.Join(dir, "server.csr"), Names: names, NewKey: true,
		KeyType: "ecdsa-p256", OpenSSL: "OpenSSL 3.0.13 30 Jan 2024"}
	for _, p := range []string{r.Key, r.Key + ".sshplay-new", r.CSR, r.CSR + ".sshplay-new"} {
		if err := os.WriteFile(p, []byte("old\n"), 0o666); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o666)
	}
	pub, csr, err := makeKeyCSR(context.Background(), conn, r)
	if err != nil {
		t.Fatal(err)
	}
	checkKeyCSR(t, "leftovers", r, pub, csr)
}
