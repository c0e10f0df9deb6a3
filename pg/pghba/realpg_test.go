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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/pgtest"
)

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
	c := pgtest.NewCluster(t)
	certPath, keyPath := writeServerCert(t, c.Base, c.Chown)
	c.AppendConf(fmt.Sprintf("\nssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n", certPath, keyPath))
	// mixed.hba names @admins: the file must exist for the line to load.
	c.WriteFile(filepath.Join(c.Data, "admins"), []byte("alice\n"), 0o644)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return &realServer{hbaPath: filepath.Join(c.Data, "pg_hba.conf"), chown: c.Chown, psql: c.Psql, version: c.Version()}
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
