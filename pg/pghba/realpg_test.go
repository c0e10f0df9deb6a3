package pghba

// The golden outputs asked of a real PostgreSQL server: pg_hba_file_rules
// re-parses pg_hba.conf as it is on disk, so each output is written in
// place and read back without a reload (the running server keeps
// initdb's rules, which let the test's own socket connection in).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/testenv"
)

func skipOrFail(t *testing.T, format string, a ...any) {
	t.Helper()
	testenv.SkipOrFail(t, format, a...)
}

// realServer is a throwaway cluster: psql runs SQL over its socket.
type realServer struct {
	hbaPath string
	chown   func(path string)
	psql    func(sql string) string
	version int
}

func TestRealPostgresAcceptsEnforcedGoldenFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	srv := startRealServer(t)
	for _, c := range goldenCases() {
		after, _ := EnforceSSL(read(t, c.name+".hba"), EnforceOptions{})
		if srv.version < 160000 && needsPG16(after) {
			t.Logf("%s: include directives or continuation lines need PostgreSQL 16", c.name)
			continue
		}
		if err := os.WriteFile(srv.hbaPath, after, 0o600); err != nil {
			t.Fatal(err)
		}
		srv.chown(srv.hbaPath)
		if got := srv.psql("SELECT coalesce(string_agg(line_number || ': ' || error, '; '), '') FROM pg_hba_file_rules WHERE error IS NOT NULL"); got != "" {
			t.Errorf("%s: the server rejects the output: %s", c.name, got)
		}
		recs, _, _ := Parse(after)
		var want []string
		for _, r := range recs {
			want = append(want, fmt.Sprintf("%d:%s", r.Line, r.Type))
		}
		if got := srv.psql("SELECT string_agg(line_number || ':' || type, ',' ORDER BY line_number) FROM pg_hba_file_rules"); got != strings.Join(want, ",") {
			t.Errorf("%s: server reads rules\n%s\nparser reads\n%s", c.name, got, strings.Join(want, ","))
		}
	}
}

func needsPG16(content []byte) bool {
	for _, p := range parseEntries(splitPhysical(content)) {
		if p.include != nil || p.e.count > 1 {
			return true
		}
	}
	return false
}

// startRealServer runs initdb and starts a server with ssl on (hostssl
// lines need it) that listens on a Unix socket only.
func startRealServer(t *testing.T) *realServer {
	t.Helper()
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(m) == 0 {
		skipOrFail(t, "no PostgreSQL server binaries under /usr/lib/postgresql")
	}
	bin := filepath.Dir(m[len(m)-1])
	cmd, chown := asServerUser(t)
	base, err := os.MkdirTemp("", "pghba-real-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	chown(base)
	data, sock := filepath.Join(base, "data"), base
	run := func(c *exec.Cmd) string {
		t.Helper()
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
		}
		return string(out)
	}
	run(cmd(filepath.Join(bin, "initdb"), "-D", data, "--auth-local=trust", "-U", "postgres", "-N"))
	certPath, keyPath := writeServerCert(t, base, chown)
	conf := fmt.Sprintf("\nssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\nlisten_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n", certPath, keyPath, sock)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	// mixed.hba names @admins: the file must exist for the line to load.
	os.WriteFile(filepath.Join(data, "admins"), []byte("alice\n"), 0o644)
	chown(filepath.Join(data, "admins"))
	logf := filepath.Join(base, "log")
	run(cmd(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", logf, "-w", "-t", "60", "start"))
	t.Cleanup(func() { cmd(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").Run() })
	srv := &realServer{hbaPath: filepath.Join(data, "pg_hba.conf"), chown: chown}
	srv.psql = func(sql string) string {
		t.Helper()
		return strings.TrimSpace(run(cmd(filepath.Join(bin, "psql"), "-X", "-q", "-At", "-h", sock, "-U", "postgres", "-d", "postgres", "-c", sql)))
	}
	srv.version, _ = strconv.Atoi(srv.psql("SHOW server_version_num"))
	return srv
}

// asServerUser returns how to run a server command and hand a file to the
// server's user: initdb refuses to run as root, so root runs them as
// "postgres".
func asServerUser(t *testing.T) (func(string, ...string) *exec.Cmd, func(string)) {
	t.Helper()
	if os.Geteuid() != 0 {
		return exec.Command, func(string) {}
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		skipOrFail(t, "running as root without a postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd := func(name string, args ...string) *exec.Cmd {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return cmd, func(path string) { os.Chown(path, uid, gid) }
}

// writeServerCert writes a self-signed ECDSA P-256 certificate and its key
// (mode 0600, owned by the server's user, as the server demands).
func writeServerCert(t *testing.T, dir string, chown func(string)) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
	chown(certPath)
	chown(keyPath)
	return certPath, keyPath
}
