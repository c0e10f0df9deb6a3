package pgconf_test

// A check against a real PostgreSQL server: files edited by pgconf and
// pghba, with a certificate from pki, must be accepted by the server
// (pg_file_settings and pg_hba_file_rules without errors, ssl on), and
// every value Quote writes must read back byte for byte.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/pgtest"
	"github.com/sshplay/sshplay/internal/testenv"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/pg/pghba"
	"github.com/sshplay/sshplay/pki"
)

func TestRealPostgresAcceptsEditedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		testenv.SkipOrFail(t, "openssl not found")
	}
	c := pgtest.NewCluster(t, "--auth-host=scram-sha-256")
	base, data, sock := c.Base, c.Data, c.Socket
	run := c.Run

	// Certificate: key and CSR made by openssl, signed by pki with an intermediate.
	ca, err := pki.Init(filepath.Join(base, "ca"), pki.InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	keyPath, csrPath := filepath.Join(base, "server.key"), filepath.Join(base, "server.csr")
	run(exec.Command(openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", keyPath, "-out", csrPath, "-subj", "/CN=whatever"))
	csr, _ := os.ReadFile(csrPath)
	leaf, err := ca.Sign(csr, pki.SignRequest{DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(base, "server.crt")
	os.WriteFile(certPath, append(leaf, ca.ChainPEM()...), 0o644)
	os.Chmod(keyPath, 0o600)
	c.Chown(keyPath)

	// postgresql.conf
	values := []string{"", "on", "64MB", "0.9", "TLSv1.2", "it's", `back\slash`, `C:\x\y`, "two\nlines", "tab\there",
		"# not a comment", "'", "''", `\'`, "ünïcødé", "a = b", `"$user", public`, "%m [%p] %q%u@%d "}
	settings := []pgconf.Setting{
		{Name: "ssl", Value: "on"},
		{Name: "ssl_cert_file", Value: certPath},
		{Name: "ssl_key_file", Value: keyPath},
		{Name: "ssl_min_protocol_version", Value: "TLSv1.2"},
		{Name: "listen_addresses", Value: ""},
		{Name: "unix_socket_directories", Value: sock},
	}
	for i, v := range values {
		settings = append(settings, pgconf.Setting{Name: fmt.Sprintf("sshplay.q%d", i), Value: v})
	}
	confPath := filepath.Join(data, "postgresql.conf")
	conf, _ := os.ReadFile(confPath)
	conf, _, err = pgconf.Set(conf, settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		t.Fatal(err)
	}

	// pg_hba.conf: initdb's file plus the PostgreSQL 15 forms of mixed.hba.
	hbaPath := filepath.Join(data, "pg_hba.conf")
	hba, _ := os.ReadFile(hbaPath)
	hba = append(hba, []byte(`
hostnossl legacy        legacy          10.1.0.0/16             md5
host    all             all             192.168.1.0 255.255.255.0   scram-sha-256  # office
host    all             all             fe80::/10               scram-sha-256
host    all             all             samehost                scram-sha-256
host    all             all             samenet                 scram-sha-256
host    sales,"Mixed Case"  +staff,@admins  .example.com        scram-sha-256
host	all	all	db-clients.lan	md5
host    all             all             10.3.0.0/16             scram-sha-256 clientcert=verify-ca
host    replication     replicator      10.0.0.5/32             scram-sha-256
`)...)
	hba, changed := pghba.EnforceSSL(hba, pghba.EnforceOptions{})
	if !changed || !pghba.IsEnforced(hba) {
		t.Fatal("EnforceSSL did not enforce")
	}
	os.WriteFile(filepath.Join(data, "admins"), []byte("alice\n"), 0o644)
	if err := os.WriteFile(hbaPath, hba, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{confPath, hbaPath, filepath.Join(data, "admins")} {
		c.Chown(p)
	}

	if err := c.Start(); err != nil {
		t.Fatalf("server refused the edited files: %v", err)
	}
	psql := c.Psql
	if got := psql("SHOW ssl"); got != "on" {
		t.Errorf("ssl = %q", got)
	}
	if got := psql("SHOW ssl_cert_file"); got != certPath {
		t.Errorf("ssl_cert_file = %q", got)
	}
	if got := psql("SELECT coalesce(string_agg(sourceline || ': ' || error, '; '), '') FROM pg_file_settings WHERE error IS NOT NULL"); got != "" {
		t.Errorf("pg_file_settings errors: %s", got)
	}
	if got := psql("SELECT coalesce(string_agg(line_number || ': ' || error, '; '), '') FROM pg_hba_file_rules WHERE error IS NOT NULL"); got != "" {
		t.Errorf("pg_hba_file_rules errors: %s", got)
	}
	if got := psql("SELECT string_agg(type, ',' ORDER BY line_number) FROM pg_hba_file_rules WHERE type <> 'local'"); !strings.Contains(got, ",hostnossl,hostnossl,hostnossl,") || strings.Contains(got, ",host,") || strings.HasSuffix(got, ",host") {
		// The deliberate "hostnossl legacy" rule stays ahead of the two
		// reject lines, which follow it.
		t.Errorf("rule types in order: %s", got)
	}
	for i, v := range values {
		got := psql(fmt.Sprintf("SELECT encode(convert_to(current_setting('sshplay.q%d'), 'UTF8'), 'hex')", i))
		raw, _ := hex.DecodeString(got)
		if !bytes.Equal(raw, []byte(v)) {
			t.Errorf("value %q written as %s reads back as %q", v, pgconf.Quote(v), raw)
		}
	}
}
