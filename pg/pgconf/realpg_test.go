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
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/testenv"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/pg/pghba"
	"github.com/sshplay/sshplay/pki"
)

func skipOrFail(t *testing.T, format string, a ...any) {
	t.Helper()
	testenv.SkipOrFail(t, format, a...)
}

func pgBinDir(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	m2, _ := filepath.Glob("/usr/pgsql-*/bin/initdb")
	m = append(m, m2...)
	if len(m) == 0 {
		skipOrFail(t, "no PostgreSQL server binaries (initdb) found")
	}
	return filepath.Dir(m[len(m)-1])
}

func TestRealPostgresAcceptsEditedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := pgBinDir(t)
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		skipOrFail(t, "openssl not found")
	}
	// initdb refuses to run as root: run the server as "postgres" then.
	var asPG func(name string, args ...string) *exec.Cmd
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, "running as root without a postgres user")
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asPG = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
	} else {
		asPG = exec.Command
	}
	run := func(c *exec.Cmd) string {
		t.Helper()
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
		}
		return string(out)
	}

	base, err := os.MkdirTemp("", "pgconf-real-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	data, sock, logf := filepath.Join(base, "data"), filepath.Join(base, "sock"), filepath.Join(base, "log")
	for _, d := range []string{sock} {
		os.Mkdir(d, 0o755)
	}
	if uid >= 0 {
		os.Chown(base, uid, gid)
		os.Chown(sock, uid, gid)
	}
	run(asPG(filepath.Join(bin, "initdb"), "-D", data, "--auth-local=trust", "--auth-host=scram-sha-256", "-U", "postgres"))

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
	if uid >= 0 {
		os.Chown(keyPath, uid, gid)
	}

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
	if uid >= 0 {
		for _, p := range []string{confPath, hbaPath, filepath.Join(data, "admins")} {
			os.Chown(p, uid, gid)
		}
	}

	start := asPG(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", logf, "-w", "-t", "60", "start")
	if out, err := start.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(logf)
		t.Fatalf("server refused the edited files: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		asPG(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").Run()
	})
	psql := func(sql string) string {
		t.Helper()
		return strings.TrimSpace(run(asPG(filepath.Join(bin, "psql"), "-X", "-q", "-At", "-h", sock, "-U", "postgres", "-d", "postgres", "-c", sql)))
	}
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
