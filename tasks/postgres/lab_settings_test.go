package postgres

// Lab tests for settings and inputs of the job: ALTER SYSTEM, enum case,
// key permissions, a missing pg_tls_dir, bad variables, and a certificate
// that does not match the key. One lab, reset between subtests.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

func TestLabSettingsAndInputs(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db1, db2 := l.Hosts[0], l.Hosts[1]
	reset := func(t *testing.T) {
		t.Helper()
		if err := l.Reset(ctx); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("alter_system, lower-case protocol, new pg_tls_dir", func(t *testing.T) {
		// db01 (Debian layout): ALTER SYSTEM, so ssl = on lives in
		// postgresql.auto.conf, which pg_hba must see. db02: the file
		// method, a TLS directory that does not exist yet. Both ask for
		// tlsv1.3 in lower case, as PostgreSQL accepts it.
		tlsDir := filepath.Join(filepath.Dir(db2.DataDir), "tls-"+strings.ToLower(time.Now().Format("150405.000000")))
		d1 := newDriver(t, l, map[string]any{"pg_conf_method": "alter_system", "pg_ssl_min_protocol_version": "tlsv1.3"})
		d2 := newDriver(t, l, map[string]any{"pg_ssl_min_protocol_version": "tlsv1.3", "pg_tls_dir": tlsDir})
		for round := 1; round <= 2; round++ {
			runs := d1.run(ctx, false, db1)
			for k, v := range d2.run(ctx, false, db2) {
				runs[k] = v
			}
			requireAllProven(t, runs, l.Hosts)
			if round == 2 {
				for _, h := range l.Hosts {
					if c := runs[h.Name].changed; len(c) != 0 {
						t.Errorf("rerun: %s changed %v", h.Name, c)
					}
				}
				// Nothing to apply means no reload and no wait for the
				// new settings: pg_reload plans no change at all.
				for _, h := range l.Hosts {
					o := runs[h.Name].outcomes["pg_reload"]
					if o == nil || o.Change == nil || o.Change.Action != tasks.None || o.Status == tasks.StatusChanged || o.Result["action"] != "none" {
						t.Errorf("rerun: %s pg_reload reloads again: %+v", h.Name, o)
					}
				}
			}
		}
		for _, h := range l.Hosts {
			if got := strings.TrimSpace(psqlOn(t, ctx, d1, h, "SHOW ssl_min_protocol_version;")); got != "TLSv1.3" {
				t.Errorf("%s: ssl_min_protocol_version = %s", h.Name, got)
			}
		}
		auto, err := os.ReadFile(filepath.Join(db1.DataDir, "postgresql.auto.conf"))
		if err != nil {
			t.Fatal(err)
		}
		if v, _, ok := pgconf.Get(auto, "ssl"); !ok || v != "on" {
			t.Errorf("db01: auto.conf has no ssl = on:\n%s", auto)
		}
		st, err := os.Stat(tlsDir)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("db02: %s not created 0700: %v %v", tlsDir, st, err)
		}
	})

	t.Run("key permissions fixed", func(t *testing.T) {
		reset(t)
		d := newDriver(t, l, nil)
		// db01: the postgres user's key, world-readable; db02: root's.
		rootRun(t, ctx, d, db1, "runuser -u postgres -- sh -c 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "+db1.DataDir+"/server.key && chmod 644 "+db1.DataDir+"/server.key'")
		rootRun(t, ctx, d, db2, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "+db2.DataDir+"/server.key && chmod 644 "+db2.DataDir+"/server.key")
		runs := d.run(ctx, true)
		for _, h := range l.Hosts {
			if s := runs[h.Name].outcomes["pg_tls_key"].Change.Summary; !strings.Contains(s, "would chmod 0600 and chown postgres") || !strings.Contains(s, "group or world access") {
				t.Errorf("%s: check plan %q", h.Name, s)
			}
		}
		runs = d.run(ctx, false)
		requireAllProven(t, runs, l.Hosts)
		for _, h := range l.Hosts {
			st, err := os.Stat(filepath.Join(h.DataDir, "server.key"))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: key mode %v %v", h.Name, st.Mode(), err)
			}
		}
	})

	t.Run("bad variables fail before any change", func(t *testing.T) {
		reset(t)
		before := snapshot(t, l)
		d := newDriver(t, l, map[string]any{"tls_cert_days": 30, "tls_renew_before_days": 30, "tls_san": []any{"DNS:ok.example", "IP:999.1.1.1"}})
		for _, h := range l.Hosts {
			r := d.run(ctx, false, h)[h.Name]
			if r.failedStep != "pg_facts" || !strings.Contains(r.failMsg, "tls_renew_before_days") || !strings.Contains(r.failMsg, "tls_san") {
				t.Errorf("%s: failed at %q: %s", h.Name, r.failedStep, r.failMsg)
			}
		}
		if after := snapshot(t, l); after != before {
			t.Errorf("bad variables changed files")
		}
	})

	t.Run("certificate not matching the key refused on the host", func(t *testing.T) {
		reset(t)
		d := newDriver(t, l, nil)
		runs := d.run(ctx, false, db1)
		requireAllProven(t, runs, l.Hosts[:1])
		// pg_facts again, then install a certificate for another key.
		vars := d.vars(db1)
		conn, err := d.pool.Conn(ctx, db1.Name, vars)
		if err != nil {
			t.Fatal(err)
		}
		env := &tasks.Env{Host: db1.Name, Conn: conn.Become(transport.Become{Enabled: true, User: "postgres"}), Local: transport.Local(), Vars: vars}
		mod, _ := pgModules().Lookup("pg_facts")
		o := tasks.Execute(ctx, mod, env, nil, tasks.ExecOptions{})
		for k, v := range o.Result["ansible_facts"].(map[string]any) {
			vars[k] = v
		}
		p, err := newParams("tls_sign", env, nil, signParams...)
		if err != nil {
			t.Fatal(err)
		}
		f := registered(env)
		ca, err := pki.Open(caDir(p))
		if err != nil {
			t.Fatal(err)
		}
		other, err := ca.Sign(testCSR(t), pki.SignRequest{DNSNames: []string{db1.Name}, IPs: parseIPs(db1.Addr), Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, l)
		crt, _ := os.ReadFile(filepath.Join(db1.DataDir, "server.crt"))
		_, err = install(ctx, env, p, f, nil, filesFor(p, f), other, ca.RootPEM())
		if err == nil || !strings.Contains(err.Error(), "does not match") || !strings.Contains(err.Error(), "nothing uploaded") {
			t.Fatalf("mismatch: got %v", err)
		}
		if after := snapshot(t, l); after != before {
			t.Errorf("a refused certificate changed the host:\nbefore %s\nafter  %s", before, after)
		}
		if now, _ := os.ReadFile(filepath.Join(db1.DataDir, "server.crt")); string(now) != string(crt) {
			t.Error("server.crt changed")
		}
	})
}
