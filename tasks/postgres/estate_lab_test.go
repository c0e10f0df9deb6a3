package postgres_test

// The flagship playbook on estates that look like production: streaming
// standbys, live plaintext clients, explicit pg_hba.conf exceptions. Each
// host pair covers both layouts (odd lab hosts: Debian, even: RHEL).

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/transport"
)

// labSQL runs sql on a lab host as postgres through its socket.
func labSQL(t *testing.T, ctx context.Context, h lab.Host, sql string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/psql",
		"-h", h.SocketDir, "-p", strconv.Itoa(h.PGPort), "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1")
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %s: %v: %s", h.Name, sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitSQL polls sql until it prints want (bounded).
func waitSQL(t *testing.T, ctx context.Context, h lab.Host, sql, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := labSQL(t, ctx, h, sql)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s: got %q, want %q after %s", h.Name, sql, got, want, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// plainLogin tries a new plaintext TCP connection as postgres.
func plainLogin(ctx context.Context, h lab.Host) error { return login(ctx, h, "disable") }

// login tries a new TCP connection as postgres with sslmode.
func login(ctx context.Context, h lab.Host, sslmode string) error {
	cfg, err := pgx.ParseConfig("host=" + h.Addr + " port=5432 user=postgres dbname=postgres sslmode=" + sslmode + " connect_timeout=5")
	if err != nil {
		return err
	}
	cfg.Password = h.PGPassword
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

const tlsWalsenders = "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE s.ssl AND r.state = 'streaming'"

func TestLabStandbysMoveToTLSBeforeTheirPrimaryRefusesPlaintext(t *testing.T) {
	l := labtest.New(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// db02 (RHEL layout) follows db01 (Debian) in plaintext; db03
	// (Debian) follows db04 (RHEL) with libpq's default sslmode=prefer.
	if err := l.MakeStandby(ctx, "db02", "db01", lab.StandbyOptions{SSLMode: "disable"}); err != nil {
		t.Fatal(err)
	}
	if err := l.MakeStandby(ctx, "db03", "db04", lab.StandbyOptions{SSLMode: "prefer"}); err != nil {
		t.Fatal(err)
	}
	db01, db02, db03, db04 := l.Hosts[0], l.Hosts[1], l.Hosts[2], l.Hosts[3]

	sum, out := play(t, ctx, l, true, nil)
	if sum.Failed() != 0 || sum.Unreachable() != 0 {
		t.Fatalf("check run: %d failed:\n%s", sum.Failed(), out)
	}
	for _, want := range []string{"its standby switches to TLS in this run", "would switch primary_conninfo"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if got := labSQL(t, ctx, db01, "SELECT count(*) FROM pg_stat_replication"); got != "1" {
		t.Fatalf("check run disturbed replication: %s walsenders", got)
	}

	sum, out = play(t, ctx, l, false, nil)
	if sum.Failed() != 0 || sum.Unreachable() != 0 {
		t.Fatalf("run: %d failed:\n%s", sum.Failed(), out)
	}
	for _, pair := range [][2]lab.Host{{db01, db02}, {db04, db03}} {
		primary, standby := pair[0], pair[1]
		waitSQL(t, ctx, primary, tlsWalsenders, "1", 20*time.Second)
		if !strings.Contains(out, primary.Name+" | replication to "+standby.Name) || !strings.Contains(out, "replication TLS ok") {
			t.Errorf("proof table lacks the link %s -> %s:\n%s", primary.Name, standby.Name, out)
		}
		if !strings.Contains(out, standby.Name+" | replication from "+primary.Addr+":5432") {
			t.Errorf("proof table lacks %s's own link:\n%s", standby.Name, out)
		}
		ci := labSQL(t, ctx, standby, "SELECT conninfo FROM pg_stat_wal_receiver")
		if !strings.Contains(ci, "sslmode=verify-full") || !strings.Contains(ci, "sslrootcert=") {
			t.Errorf("%s: wal receiver conninfo %q", standby.Name, ci)
		}
		// The link survives a reconnect under the enforced pg_hba.conf.
		labSQL(t, ctx, primary, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication")
		waitSQL(t, ctx, primary, tlsWalsenders, "1", 30*time.Second)
		if err := plainLogin(ctx, primary); err == nil {
			t.Errorf("%s: plaintext login accepted after enforcement", primary.Name)
		}
	}
	// Nothing a pg_basebackup would copy: no backups, CSR or journal in
	// the data directories (the run lock's file holds no secret and no
	// lock: flock state is not copied).
	for _, h := range l.Hosts {
		ents, err := os.ReadDir(h.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if n := e.Name(); n != pg.LockName && strings.Contains(n, ".sshplay") || n == "server.csr" {
				t.Errorf("%s: %s left in the data directory", h.Name, n)
			}
		}
	}

	sum, out = play(t, ctx, l, false, nil)
	for _, h := range l.Hosts {
		if st := sum.Stats[h.Name]; st == nil || st.Changed != 0 || st.Failed != 0 {
			t.Errorf("second run: %s stats %+v\n%s", h.Name, st, out)
		}
	}
}

func TestLabImpactPreviewRefusesToCutOffLiveClients(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, h := range l.Hosts {
		labtest.HoldPlainSession(t, l, h.Name, "postgres", "billing-"+h.Name)
	}
	hbaBefore := map[string]string{}
	for _, h := range l.Hosts {
		b, err := os.ReadFile(h.HBAFile)
		if err != nil {
			t.Fatal(err)
		}
		hbaBefore[h.Name] = string(b)
	}

	sum, out := play(t, ctx, l, true, nil)
	if sum.Failed() != len(l.Hosts) {
		t.Fatalf("check run: %d failed, want every host refused:\n%s", sum.Failed(), out)
	}
	for _, h := range l.Hosts {
		if !strings.Contains(out, `client postgres@postgres from 127.0.0.1`) || !strings.Contains(out, `billing-`+h.Name) {
			t.Errorf("check output does not name %s's plaintext client:\n%s", h.Name, out)
		}
	}

	sum, out = play(t, ctx, l, false, nil)
	if sum.Failed() != len(l.Hosts) || !strings.Contains(out, "NOT enforcing TLS") {
		t.Fatalf("run: %d failed, want every host refused:\n%s", sum.Failed(), out)
	}
	for _, h := range l.Hosts {
		b, err := os.ReadFile(h.HBAFile)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != hbaBefore[h.Name] {
			t.Errorf("%s: pg_hba.conf changed although enforcement was refused:\n%s", h.Name, b)
		}
		if got := labSQL(t, ctx, h, "SHOW ssl"); got != "on" {
			t.Errorf("%s: ssl = %s; TLS should be on and proven", h.Name, got)
		}
		if err := plainLogin(ctx, h); err != nil {
			t.Errorf("%s: plaintext client locked out: %v", h.Name, err)
		}
		if !strings.Contains(out, h.Name+" | "+h.Addr) && !strings.Contains(out, "ok: ["+h.Name+"] (verify-full ok") {
			t.Errorf("%s: TLS not proven:\n%s", h.Name, out)
		}
	}

	sum, out = play(t, ctx, l, false, map[string]any{"pg_tls_enforce": "force"})
	if sum.Failed() != 0 {
		t.Fatalf("force run: %d failed:\n%s", sum.Failed(), out)
	}
	for _, h := range l.Hosts {
		if err := plainLogin(ctx, h); err == nil {
			t.Errorf("%s: plaintext login accepted after a forced enforcement", h.Name)
		}
	}
}

func TestLabExplicitPlaintextExceptionsStayAndTrustIsFlagged(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// An explicit plaintext exception for a monitoring role, a GSS rule and
	// a trust rule, ahead of the lab's own lines.
	head := "hostnossl all monitor 127.0.0.1/32 scram-sha-256\n" +
		"hostgssenc all all 127.0.0.1/32 scram-sha-256\n" +
		"host all trusty 127.0.0.1/32 trust\n"
	for _, h := range l.Hosts {
		b, err := os.ReadFile(h.HBAFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.HBAFile, []byte(head+string(b)), 0o640); err != nil {
			t.Fatal(err)
		}
		labSQL(t, ctx, h, "CREATE ROLE monitor LOGIN PASSWORD 'mon-pw'; SELECT pg_reload_conf()")
		labtest.HoldPlainSession(t, l, h.Name, "monitor:mon-pw", "nagios")
	}
	sum, out := play(t, ctx, l, false, nil)
	if sum.Failed() != 0 {
		t.Fatalf("run: %d failed:\n%s", sum.Failed(), out)
	}
	if !strings.Contains(out, "trust") || !strings.Contains(out, "WARNING") {
		t.Errorf("no trust warning in the output:\n%s", out)
	}
	for _, h := range l.Hosts {
		b, err := os.ReadFile(h.HBAFile)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		reject := strings.Index(text, "hostnossl all all 0.0.0.0/0 reject")
		if reject < 0 || reject < strings.Index(text, "hostgssenc") || reject < strings.Index(text, "hostnossl all monitor") {
			t.Errorf("%s: reject lines shadow the GSS rule or the exception:\n%s", h.Name, text)
		}
		cfg, err := pgx.ParseConfig("host=" + h.Addr + " port=5432 user=monitor password=mon-pw dbname=postgres sslmode=disable connect_timeout=5")
		if err != nil {
			t.Fatal(err)
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("%s: the plaintext exception for monitor no longer works: %v", h.Name, err)
		} else {
			c.Close(ctx)
		}
		if err := plainLogin(ctx, h); err == nil {
			t.Errorf("%s: plaintext postgres login accepted", h.Name)
		}
	}
}

// agree fails the test where a check run and the real run after it
// disagree on whether a task changes a host. The proof steps are commands
// the check run only announces ("would run").
func agree(t *testing.T, check, real *playbooks.JSONDoc) {
	t.Helper()
	ct, rt := check.Plays[0].Tasks, real.Plays[0].Tasks
	if len(ct) != len(rt) {
		t.Fatalf("check has %d task entries, the real run %d", len(ct), len(rt))
	}
	for i := range ct {
		for h, c := range ct[i].Hosts {
			r, ok := rt[i].Hosts[h]
			switch {
			case !ok:
				t.Errorf("task %q: %s missing from the real run", ct[i].Name, h)
			case c.WouldRun:
			case c.Changed != r.Changed || c.Status != r.Status:
				t.Errorf("task %q on %s: check %s (changed=%v), real run %s (changed=%v): %s / %s",
					ct[i].Name, h, c.Status, c.Changed, r.Status, r.Changed, c.Msg, r.Msg)
			}
		}
	}
}

func TestLabCheckAndRunAgreeLeavingALTERSYSTEM(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if sum, out := play(t, ctx, l, false, map[string]any{"pg_conf_method": "alter_system"}); sum.Failed() != 0 {
		t.Fatalf("alter_system run failed:\n%s", out)
	}
	// Back to the file, with a setting that needs a reload.
	extra := map[string]any{"pg_ssl_min_protocol_version": "TLSv1.3"}
	_, check := playJSON(t, ctx, l, true, extra)
	sum, real := playJSON(t, ctx, l, false, extra)
	if sum.Failed() != 0 {
		t.Fatalf("run: %d failed", sum.Failed())
	}
	agree(t, check, real)
	// The planned postgresql.auto.conf is what ALTER SYSTEM RESET wrote.
	for _, h := range l.Hosts {
		auto := filepath.Join(h.DataDir, "postgresql.auto.conf")
		got, err := os.ReadFile(auto)
		if err != nil {
			t.Fatal(err)
		}
		planned := plannedDiff(t, check, h.Name, auto)
		if !strings.Contains(planned, "ALTER SYSTEM") || strings.Contains(string(got), "ssl") {
			t.Errorf("%s: planned %q, file now %q", h.Name, planned, got)
		}
		for _, line := range strings.Split(planned, "\n") {
			if strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "+++") && !strings.Contains(string(got), strings.TrimPrefix(line, "+")) {
				t.Errorf("%s: planned line %q is not in %s:\n%s", h.Name, line, auto, got)
			}
		}
	}
}

// plannedDiff is the unified diff a check run showed for path on host.
func plannedDiff(t *testing.T, doc *playbooks.JSONDoc, host, path string) string {
	t.Helper()
	for _, task := range doc.Plays[0].Tasks {
		if r, ok := task.Hosts[host]; ok {
			for _, d := range r.Diff {
				if d.Path == path {
					return d.Unified
				}
			}
		}
	}
	t.Fatalf("%s: no planned diff for %s", host, path)
	return ""
}

// TestLabTwoRunsAtOnceNeverInterleaveOnACluster: two runs of the job
// started together on the same hosts never interleave on a cluster and
// never wait for each other forever: a host one run cannot have fails
// there, naming the holder and changing nothing, and no run rolls back what
// the other proved.
func TestLabTwoRunsAtOnceNeverInterleaveOnACluster(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var rs [2]string
	done := make(chan struct{})
	for i := range rs {
		go func() {
			defer func() { done <- struct{}{} }()
			_, rs[i] = play(t, ctx, l, false, map[string]any{"pg_lock_timeout": 120})
		}()
	}
	<-done
	<-done
	for i, out := range rs {
		if strings.Contains(out, "rolled back") || strings.Contains(out, "waited 2m") {
			t.Errorf("run %d rolled back or waited out its lock timeout:\n%s", i, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "FAILED!") && !strings.Contains(line, "holds this cluster's lock: sshplay run by ") {
				t.Errorf("run %d failed for another reason than the lock: %s", i, line)
			}
		}
	}
	sum, out := play(t, ctx, l, false, nil)
	for _, h := range l.Hosts {
		if st := sum.Stats[h.Name]; st == nil || st.Failed != 0 {
			t.Errorf("a third run: %s stats %+v\n%s", h.Name, st, out)
		}
		if err := plainLogin(ctx, h); err == nil {
			t.Errorf("%s: plaintext accepted after the runs", h.Name)
		}
	}
}

// TestLabRunWaitsForTheLockOrFailsNamingTheHolder: a run that finds a
// cluster locked by an earlier run fails that host at once, naming the
// holder and changing nothing; with pg_lock_timeout it waits and goes on
// once the lock is free.
func TestLabRunWaitsForTheLockOrFailsNamingTheHolder(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{})
	defer pool.Close()
	hold := func() []*pg.RunLock {
		var locks []*pg.RunLock
		for _, h := range l.Hosts {
			conn, err := pool.Conn(ctx, h.Name, inv.HostVars(h.Name))
			if err != nil {
				t.Fatal(err)
			}
			lk, err := pg.AcquireRunLock(ctx, conn.Become(transport.Become{Enabled: true, User: "postgres"}),
				pg.Target{SocketDir: h.SocketDir, Port: h.PGPort}, "00000000T000000.000000000Z.test", "the test's own holder", 0)
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			locks = append(locks, lk)
		}
		return locks
	}
	locks := hold()
	sum, out := play(t, ctx, l, false, nil)
	if sum.Failed() != len(l.Hosts) || strings.Count(out, "holds this cluster's lock: the test's own holder") != len(l.Hosts) {
		t.Fatalf("want every host failed naming the holder:\n%s", out)
	}
	for _, h := range l.Hosts {
		if _, err := os.Stat(filepath.Join(h.DataDir, "server.key")); err == nil {
			t.Errorf("%s: a locked-out run wrote server.key", h.Name)
		}
	}
	go func() {
		time.Sleep(3 * time.Second)
		for _, lk := range locks {
			lk.Release()
		}
	}()
	sum, out = play(t, ctx, l, false, map[string]any{"pg_lock_timeout": 60})
	if sum.Failed() != 0 {
		t.Fatalf("a run with a lock timeout: %d failed:\n%s", sum.Failed(), out)
	}
}
