package lab_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// TestClientCertUserLogsInOnlyWithItsCertificate sets up a client-
// certificate user on a Debian-layout and a RHEL-layout host (twice, as a
// re-run would) and checks that the role gets in with its certificate over
// TLS and nowhere else, that a plaintext session held open is listed as
// such, that a standby cloned from such a host carries its TLS files and
// streams over TLS with sslmode=prefer, and that Reset takes it all away.
func TestClientCertUserLogsInOnlyWithItsCertificate(t *testing.T) {
	l := labtest.New(t, 2)
	ctx := context.Background()
	var cc *lab.ClientCert
	for _, h := range l.Hosts {
		for range 2 {
			var err error
			if cc, err = l.AddClientCertUser(ctx, h.Name, "alice"); err != nil {
				t.Fatal(err)
			}
		}
		hba, err := os.ReadFile(h.HBAFile)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(hba), "hostssl all             alice           127.0.0.0/8             cert\n"); n != 1 {
			t.Errorf("%s: pg_hba.conf has the cert record %d times:\n%s", h.Name, n, hba)
		}
		if i, j := strings.Index(string(hba), "hostssl all"), strings.Index(string(hba), "\nhost "); i < 0 || j < i {
			t.Errorf("%s: the cert record is not ahead of the other TCP records:\n%s", h.Name, hba)
		}
		caFile := query(t, l, h.Name, "SHOW ssl_ca_file")
		if strings.HasPrefix(caFile, h.DataDir) || !strings.HasSuffix(caFile, "/client-ca.crt") {
			t.Errorf("%s: ssl_ca_file = %s, want client-ca.crt outside the data directory", h.Name, caFile)
		}
		if fi, err := os.Stat(filepath.Join(h.DataDir, "server.key")); err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid == 0 {
			t.Errorf("%s: server.key: %v; want mode 0600 owned by postgres", h.Name, err)
		}
	}
	if fi, err := os.Stat(cc.KeyFile); err != nil || fi.Mode().Perm() != 0o600 || cc.Role != "alice" {
		t.Errorf("client key %s: %v; want mode 0600 (role %q)", cc.KeyFile, err, cc.Role)
	}

	for _, h := range l.Hosts {
		c, err := connect(ctx, h, "alice", "", "sslmode=require sslcert="+cc.CertFile+" sslkey="+cc.KeyFile)
		if err != nil {
			t.Fatalf("%s: alice with her certificate: %v", h.Name, err)
		}
		var user string
		var ssl bool
		if err := c.QueryRow(ctx, "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&user, &ssl); err != nil || user != "alice" || !ssl {
			t.Errorf("%s: session is %s, ssl %v, %v; want alice over TLS", h.Name, user, ssl, err)
		}
		c.Close(ctx)
		for _, extra := range []string{"sslmode=require", "sslmode=disable"} {
			if c, err := connect(ctx, h, "alice", "", extra); err == nil {
				c.Close(ctx)
				t.Errorf("%s: alice got in without her certificate (%s)", h.Name, extra)
			}
		}
	}

	t.Run("plain session held open is listed without TLS", func(t *testing.T) {
		query(t, l, "db01", "CREATE ROLE monitor LOGIN PASSWORD 'mon-pw'")
		t.Cleanup(func() { query(t, l, "db01", "DROP ROLE monitor") }) // after the session closes
		labtest.HoldPlainSession(t, l, "db01", "", "legacy billing")
		labtest.HoldPlainSession(t, l, "db01", "monitor:mon-pw", "nagios")
		got := query(t, l, "db01", "SELECT string_agg(a.usename || ' ' || host(a.client_addr) || ' ' || a.application_name || ' ssl=' || s.ssl, ', ' ORDER BY a.usename) "+
			"FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.client_addr IS NOT NULL")
		if want := "monitor 127.0.0.1 nagios ssl=false, postgres 127.0.0.1 legacy billing ssl=false"; got != want {
			t.Errorf("TCP sessions in pg_stat_activity = %q, want %q", got, want)
		}
	})

	t.Run("standby cloned from it carries its TLS files and streams over TLS", func(t *testing.T) {
		if err := l.MakeStandby(ctx, "db01", "db02", lab.StandbyOptions{}); err == nil || !strings.Contains(err.Error(), "client-certificate users") {
			t.Fatalf("MakeStandby of a host with client-certificate users = %v, want refused", err)
		}
		if err := l.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.AddClientCertUser(ctx, "db02", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := l.MakeStandby(ctx, "db01", "db02", lab.StandbyOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"server.crt", "server.key"} {
			if _, err := os.Stat(filepath.Join(l.Hosts[0].DataDir, f)); err != nil {
				t.Errorf("the clone lacks the primary's %s: %v", f, err)
			}
		}
		if got := query(t, l, "db02", "SELECT r.application_name || ' ssl=' || s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"); got != "db01 ssl=true" {
			t.Errorf("walsender on db02 = %q, want db01 over TLS (sslmode=prefer)", got)
		}
		if _, err := l.AddClientCertUser(ctx, "db01", "bob"); err == nil || !strings.Contains(err.Error(), "standby") {
			t.Errorf("AddClientCertUser on a standby = %v, want refused", err)
		}
	})

	if err := l.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, h := range l.Hosts {
		checkAsCreated(t, l, h)
		if got := query(t, l, h.Name, "SHOW ssl"); got != "off" {
			t.Errorf("%s: ssl %s after Reset", h.Name, got)
		}
	}
}
