package postgres

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

const customHBA = `# custom pg_hba.conf kept by the operator
# TYPE  DATABASE        USER            ADDRESS                 METHOD

# the socket stays as it is
local   all             all                                     peer
local   replication     all                                     peer

host    all             all             127.0.0.0/8             scram-sha-256   # loopback clients
host    replication     all             127.0.0.0/8             scram-sha-256
host    all             all             ::1/128                 scram-sha-256
`

// plainConnect proves the server takes password logins over TCP without
// TLS (the state before the job, and after a rollback).
func plainConnect(ctx context.Context, addr string, port int, password string) error {
	cfg, err := pgx.ParseConfig("host=" + addr + " port=" + itoa(port) + " user=postgres dbname=postgres sslmode=disable connect_timeout=5")
	if err != nil {
		return err
	}
	cfg.Password = password
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLabEdgeCases(t *testing.T) {
	l := labtest.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := newDriver(t, l, nil)
	db1, db2, db3 := l.Hosts[0], l.Hosts[1], l.Hosts[2]

	// db01: ALTER SYSTEM SET ssl = off beats postgresql.conf; custom hba.
	psqlOn(t, ctx, d, db1, "ALTER SYSTEM SET ssl = off;")
	psqlOn(t, ctx, d, db1, "SELECT pg_reload_conf();")
	conn, err := d.pool.Conn(ctx, db1.Name, d.vars(db1))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Become(transport.Become{Enabled: true, User: "postgres"}).WriteFile(ctx, db1.HBAFile, []byte(customHBA), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	psqlOn(t, ctx, d, db1, "SELECT pg_reload_conf();")

	// db02: a key of the right type that the server would refuse (group/
	// world readable): kept, but made 0600 (a silent reload failure else).
	rootRun(t, ctx, d, db2, "runuser -u postgres -- sh -c 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "+db2.DataDir+"/server.key && chmod 644 "+db2.DataDir+"/server.key'")
	// db03: a corrupt key: never replaced silently.
	rootRun(t, ctx, d, db3, "printf 'garbage\\n' > "+db3.DataDir+"/server.key && chown postgres "+db3.DataDir+"/server.key && chmod 600 "+db3.DataDir+"/server.key")

	runs := d.run(ctx, false)

	requireAllProven(t, map[string]*hostRun{db1.Name: runs[db1.Name], db2.Name: runs[db2.Name]}, l.Hosts[:2])
	if s := runs[db2.Name].outcomes["pg_tls_key"].Change.Summary; !strings.Contains(s, "chmod 0600") {
		t.Errorf("db02: key step %q", s)
	}
	if got := strings.TrimSpace(psqlOn(t, ctx, d, db1, "SHOW ssl;")); got != "on" {
		t.Errorf("db01: ssl = %s after ALTER SYSTEM SET ssl = off", got)
	}
	auto, err := os.ReadFile(filepath.Join(db1.DataDir, "postgresql.auto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// ALTER SYSTEM RESET removed the override (the server's own edit).
	if _, _, set := pgconf.Get(auto, "ssl"); set {
		t.Errorf("db01: auto.conf still sets ssl:\n%s", auto)
	}
	hba, err := os.ReadFile(db1.HBAFile)
	if err != nil {
		t.Fatal(err)
	}
	h := string(hba)
	for _, want := range []string{
		"# custom pg_hba.conf kept by the operator\n",
		"local   all             all                                     peer\n",
		"local   replication     all                                     peer\n",
		"hostssl all             all             127.0.0.0/8             scram-sha-256   # loopback clients\n",
		"hostssl replication     all             127.0.0.0/8             scram-sha-256\n",
		"hostssl all             all             ::1/128                 scram-sha-256\n",
		"0.0.0.0/0", "::/0",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("db01: pg_hba.conf lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "\nhost ") {
		t.Errorf("db01: a host line is left:\n%s", h)
	}
	if strings.Index(h, "reject") > strings.Index(h, "hostssl") {
		t.Errorf("db01: reject lines must come before the first TCP line:\n%s", h)
	}

	requireRolledBack := func(r *hostRun, name, step string) {
		t.Helper()
		if r.failedStep != step || !r.rolledBack || !strings.HasPrefix(r.failMsg, "failed (rolled back)") {
			t.Errorf("%s: want failed at %s and rolled back, got step %q rolled back %v msg %q", name, step, r.failedStep, r.rolledBack, r.failMsg)
		}
		t.Logf("%s: %s", name, r.failMsg)
	}
	requireRolledBack(runs[db3.Name], db3.Name, "pg_tls_key")
	if b, _ := os.ReadFile(filepath.Join(db3.DataDir, "server.key")); string(b) != "garbage\n" {
		t.Errorf("db03: the corrupt key was replaced")
	}

	// db02 fresh with a cipher list the host's OpenSSL cannot use: the
	// facts step refuses it before anything changes.
	if err := l.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	bogus := newDriver(t, l, map[string]any{"pg_ssl_ciphers": "NO-SUCH-CIPHER"})
	if r := bogus.run(ctx, false, db2)[db2.Name]; r.failedStep != "pg_facts" || !strings.Contains(r.failMsg, "accepts no cipher") || len(r.changed) != 0 {
		t.Errorf("db02 with NO-SUCH-CIPHER: failed at %q (%s), changed %v; want pg_facts, nothing changed", r.failedStep, r.failMsg, r.changed)
	}
	for _, hh := range []lab.Host{db2} {
		if got := strings.TrimSpace(psqlOn(t, ctx, d, hh, "SHOW ssl;")); got != "off" {
			t.Errorf("%s: ssl = %s after rollback, want off", hh.Name, got)
		}
		if err := plainConnect(ctx, hh.Addr, hh.PGPort, hh.PGPassword); err != nil {
			t.Errorf("%s: after rollback a plain TCP login fails: %v", hh.Name, err)
		}
		for _, f := range []string{"server.crt", "root.crt", "server.csr", ".sshplay-journal"} {
			if _, err := os.Stat(filepath.Join(hh.DataDir, f)); err == nil {
				t.Errorf("%s: %s left after rollback", hh.Name, f)
			}
		}
	}
}

// checkWaitMsg: while the external CA has not answered, tls_sign's message
// names the CSR written out and says the host waits for the external CA.
func checkWaitMsg(t *testing.T, host string, r *hostRun, csrPath string) {
	t.Helper()
	o := r.outcomes["tls_sign"]
	if o == nil {
		t.Errorf("%s: tls_sign did not run", host)
		return
	}
	msg, _ := o.Result["msg"].(string)
	if !strings.Contains(msg, csrPath) || !strings.Contains(msg, "waiting for the external CA") || o.Result["csr_path"] != csrPath {
		t.Errorf("%s: tls_sign msg %q (csr_path %v), want it to name %s and say it waits for the external CA", host, msg, o.Result["csr_path"], csrPath)
	}
}

func TestLabExternalCAAndIntermediate(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	csrDir := filepath.Join(l.Dir, "csr")
	d := newDriver(t, l, map[string]any{"tls_ca_mode": "external"})

	runs := d.run(ctx, false)
	for _, h := range l.Hosts {
		r := runs[h.Name]
		if r.failedStep != "" || !r.ended {
			t.Fatalf("%s: want ended with a CSR, got step %q msg %q", h.Name, r.failedStep, r.failMsg)
		}
		checkWaitMsg(t, h.Name, r, filepath.Join(csrDir, h.Name+".csr"))
	}
	// A rerun while the external CA has not answered changes nothing (the
	// CSR out there is the same).
	runs = d.run(ctx, false)
	for _, h := range l.Hosts {
		if r := runs[h.Name]; !r.ended || len(r.changed) != 0 {
			t.Errorf("%s: rerun while waiting: ended %v changed %v (%s)", h.Name, r.ended, r.changed, r.failMsg)
		}
		checkWaitMsg(t, h.Name+" rerun", runs[h.Name], filepath.Join(csrDir, h.Name+".csr"))
	}
	// The external CA (with an intermediate) signs what was written out.
	ext, err := pki.Init(filepath.Join(t.TempDir(), "ext-ca"), pki.InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range l.Hosts {
		csr, err := os.ReadFile(filepath.Join(csrDir, h.Name+".csr"))
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := ext.Sign(csr, pki.SignRequest{DNSNames: []string{h.Name}, IPs: parseIPs(h.Addr), Days: 90})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(csrDir, h.Name+".crt"), append(leaf, ext.ChainPEM()...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(csrDir, "root.crt"), ext.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	runs = d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	runs = d.run(ctx, false)
	for _, h := range l.Hosts {
		if c := runs[h.Name].changed; len(c) != 0 || runs[h.Name].failedStep != "" {
			t.Errorf("external rerun: %s changed %v (%s)", h.Name, c, runs[h.Name].failMsg)
		}
	}

	// Switch the fleet to an internal root-only CA, then ask for an
	// intermediate: the CA gets one and every certificate is reissued by
	// it and proven through the chain.
	interDir := filepath.Join(l.Dir, "pki-inter")
	runs = newDriver(t, l, map[string]any{"tls_ca_dir": interDir}).run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	d2 := newDriver(t, l, map[string]any{"tls_intermediate": true, "tls_ca_dir": interDir})
	runs = d2.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	for _, h := range l.Hosts {
		if !strings.Contains(strings.Join(runs[h.Name].changed, ","), "tls_sign") {
			t.Errorf("%s: tls_intermediate on a root-only CA reissued nothing (%v)", h.Name, runs[h.Name].changed)
		}
	}
	if ca, err := pki.Open(interDir); err != nil || !ca.HasIntermediate() {
		t.Errorf("CA in %s has no intermediate: %v", interDir, err)
	}
	runs = d2.run(ctx, false)
	for _, h := range l.Hosts {
		if c := runs[h.Name].changed; len(c) != 0 {
			t.Errorf("%s: rerun with intermediate changed %v", h.Name, c)
		}
	}
	for _, h := range l.Hosts {
		b, err := os.ReadFile(filepath.Join(h.DataDir, "server.crt"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "BEGIN CERTIFICATE"); n != 2 {
			t.Errorf("%s: server.crt has %d certificates, want leaf + intermediate", h.Name, n)
		}
	}
}

func TestLabStoppedHost(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := l.StopHost(ctx, l.Hosts[1].Name); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, l, nil)
	runs := d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts[:1])
	r := runs[l.Hosts[1].Name]
	if r.failedStep != "connect" || !strings.Contains(r.failMsg, "unreachable") {
		t.Errorf("stopped host: step %q msg %q", r.failedStep, r.failMsg)
	}
}

// TestLabRestart drives the restart path (pg_ctl from the running server's
// bindir on lab hosts) and checks the server comes back with a new
// postmaster.
func TestLabRestart(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newDriver(t, l, nil)
	for _, h := range l.Hosts {
		conn, err := d.pool.Conn(ctx, h.Name, d.vars(h))
		if err != nil {
			t.Fatal(err)
		}
		pc := conn.Become(transport.Become{Enabled: true, User: "postgres"})
		env := &tasks.Env{Host: h.Name, Conn: pc, Vars: d.vars(h)}
		p, err := newParams("pg_reload", env, nil, reloadParams...)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gather(ctx, env, p)
		if err != nil {
			t.Fatal(err)
		}
		rp, err := restartPlan(ctx, pc, p, f)
		if err != nil {
			t.Fatal(err)
		}
		if rp.Method != "pg_ctl" || rp.AsRoot {
			t.Errorf("%s: restart plan %+v, want pg_ctl as the cluster user", h.Name, rp)
		}
		if err := doRestart(ctx, env, p, targetFor(p, f), rp, 60*time.Second); err != nil {
			t.Fatalf("%s: restart: %v", h.Name, err)
		}
		f2, err := gather(ctx, env, p)
		if err != nil {
			t.Fatal(err)
		}
		if f2.PostmasterPID == f.PostmasterPID || f2.PostmasterPID == 0 {
			t.Errorf("%s: postmaster pid %d -> %d: not restarted", h.Name, f.PostmasterPID, f2.PostmasterPID)
		}
		if f2.ConfigFile != f.ConfigFile {
			t.Errorf("%s: restarted with config %s, was %s", h.Name, f2.ConfigFile, f.ConfigFile)
		}
	}
}
