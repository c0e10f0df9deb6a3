package lab_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// query runs sql as postgres on host and fails the test on error.
func query(t *testing.T, l *lab.Lab, host, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := l.Query(ctx, host, sql)
	if err != nil {
		t.Fatalf("%s: %s: %v", host, sql, err)
	}
	return out
}

// eventually polls sql on host until it returns want (replication and
// reloads are asynchronous).
func eventually(t *testing.T, l *lab.Lab, host, sql, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := query(t, l, host, sql)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s = %q, want %q", host, sql, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connect opens a pgx session to host with the extra conninfo settings.
func connect(ctx context.Context, h lab.Host, user, password, extra string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres connect_timeout=10 %s", h.Addr, h.PGPort, user, extra))
	if err != nil {
		return nil, err
	}
	cfg.Password = password
	return pgx.ConnectConfig(ctx, cfg)
}

// checkAsCreated checks that h looks as Up made it: configuration files
// equal to their pristine copies, no file in the data or configuration
// directory that was not there at creation, not in recovery, no lab roles.
func checkAsCreated(t *testing.T, l *lab.Lab, h lab.Host) {
	t.Helper()
	pristine := filepath.Join(l.Dir, "hosts", h.Name, "pristine")
	for name, live := range map[string]string{"postgresql.conf": h.ConfigFile, "pg_hba.conf": h.HBAFile, "postgresql.auto.conf": filepath.Join(h.DataDir, "postgresql.auto.conf")} {
		want, err1 := os.ReadFile(filepath.Join(pristine, name))
		got, err2 := os.ReadFile(live)
		if err := errors.Join(err1, err2); err != nil || string(got) != string(want) {
			t.Errorf("%s: %s differs from its pristine copy (%v):\n%s", h.Name, name, err, got)
		}
	}
	b, err := os.ReadFile(filepath.Join(pristine, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Data, Etc []string }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !slices.Contains(m.Data, e.Name()) && e.Name() != "postmaster.pid" && e.Name() != "postmaster.opts" {
			t.Errorf("%s: data directory holds %s, not there at creation", h.Name, e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "hosts", h.Name, "tls")); err == nil {
		t.Errorf("%s: tls directory left", h.Name)
	}
	if got := query(t, l, h.Name, "SELECT pg_is_in_recovery()::text || ' ' || count(*) FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'"); got != "false 0" {
		t.Errorf("%s: in recovery, lab roles = %q; want an independent host with no roles but postgres", h.Name, got)
	}
}

// TestStandbysStreamInPlaintextAndResetMakesThemIndependent makes a
// Debian-layout and a RHEL-layout standby of a RHEL-layout primary (whose
// clone brings postgresql.conf along), checks that both stream without
// TLS, then that Reset leaves every host as Up created it.
func TestStandbysStreamInPlaintextAndResetMakesThemIndependent(t *testing.T) {
	start := time.Now()
	l := labtest.NewWithStandby(t, 4, 0, 1, "disable")
	t.Logf("4 hosts and a standby in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	// A clone stops the standby and starts a new cluster: its postmaster
	// start time says whether Up cloned it again. (Its walsender's pid is
	// no proof: a loaded machine may see the standby reconnect.)
	started := query(t, l, "db01", "SELECT pg_postmaster_start_time()")
	// Up as `lab up 4 --standby ...` runs it: db01 is already the standby
	// asked for, so only db04 is cloned.
	start = time.Now()
	specs := []lab.StandbySpec{
		{Standby: "db01", Primary: "db02", Options: lab.StandbyOptions{SSLMode: "disable"}},
		{Standby: "db04", Primary: "db02"},
	}
	l, err := lab.Up(ctx, lab.Config{Dir: l.Dir, N: 4, Standbys: specs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("up with one more standby in %s", time.Since(start).Round(time.Millisecond))
	if got := query(t, l, "db01", "SELECT pg_postmaster_start_time()"); got != started {
		t.Errorf("db01's postgres started again (%s, was %s): Up cloned an existing standby again", got, started)
	}

	t.Run("primary lists both walsenders without TLS", func(t *testing.T) {
		got := query(t, l, "db02", "SELECT r.application_name || ' ' || r.state || ' ssl=' || s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) ORDER BY 1")
		if want := "db01 streaming ssl=false\ndb04 streaming ssl=false"; got != want {
			t.Errorf("pg_stat_replication on db02 =\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("standbys are themselves and stream", func(t *testing.T) {
		for _, i := range []int{0, 3} {
			h := l.Hosts[i]
			got := query(t, l, h.Name, "SELECT concat_ws(' ', pg_is_in_recovery(), current_setting('listen_addresses'), current_setting('cluster_name'), current_setting('config_file'), (SELECT status FROM pg_stat_wal_receiver))")
			if want := fmt.Sprintf("t %s %s %s streaming", h.Addr, h.Name, h.ConfigFile); got != want {
				t.Errorf("%s = %q, want %q", h.Name, got, want)
			}
			if h.Primary != "db02" {
				t.Errorf("%s: Primary = %q, want db02", h.Name, h.Primary)
			}
		}
		for _, f := range []string{"postgresql.conf", "pg_hba.conf", "pg_ident.conf"} {
			if _, err := os.Stat(filepath.Join(l.Hosts[0].DataDir, f)); err == nil {
				t.Errorf("Debian-layout standby db01 has %s in its data directory", f)
			}
		}
		auto, err := os.ReadFile(filepath.Join(l.Hosts[0].DataDir, "postgresql.auto.conf"))
		if err != nil || !strings.Contains(string(auto), "primary_conninfo = 'host="+l.Hosts[1].Addr+" port=5432 user=replicator password=") ||
			!strings.Contains(string(auto), " application_name=db01 sslmode=disable'") {
			t.Errorf("db01 postgresql.auto.conf lacks primary_conninfo (%v):\n%s", err, auto)
		}
	})
	t.Run("writes on the primary reach the standbys", func(t *testing.T) {
		query(t, l, "db02", "CREATE TABLE replicated AS SELECT 42 AS x")
		for _, s := range []string{"db01", "db04"} {
			eventually(t, l, s, "SELECT coalesce((SELECT x FROM replicated), 0) WHERE to_regclass('replicated') IS NOT NULL", "42")
		}
	})
	t.Run("state, status and pgpass follow", func(t *testing.T) {
		reopened, err := lab.Open(l.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if h := reopened.Hosts[0]; h.Primary != "db02" || h.PrimarySSLMode != "disable" || h.PGPassword != l.Hosts[1].PGPassword {
			t.Errorf("saved db01: primary %q, sslmode %q, password is the primary's: %v", h.Primary, h.PrimarySSLMode, h.PGPassword == l.Hosts[1].PGPassword)
		}
		st, err := l.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st[0].Primary != "db02" || st[0].WALReceiver != "streaming" || !slices.Equal(st[1].Standbys, []string{"db01", "db04"}) {
			t.Errorf("status: %+v", st)
		}
		pw, err := os.ReadFile(filepath.Join(l.Dir, "hosts", "db02", "replicator_password"))
		if err != nil || len(pw) < 16 {
			t.Fatalf("replicator password file: %v", err)
		}
		state, _ := os.ReadFile(filepath.Join(l.Dir, "lab.json"))
		if strings.Contains(string(state), strings.TrimSpace(string(pw))) {
			t.Error("lab.json holds the replicator password")
		}
		pgpass, _ := os.ReadFile(l.PassFile())
		if !strings.Contains(string(pgpass), l.Hosts[0].Addr+":5432:*:postgres:"+l.Hosts[1].PGPassword+"\n") {
			t.Error("pgpass does not give standby db01 its primary's password")
		}
		c, err := connect(ctx, l.Hosts[3], "postgres", l.Hosts[3].PGPassword, "sslmode=disable")
		if err != nil {
			t.Fatalf("db04 with the lab's password: %v", err)
		}
		c.Close(ctx)
	})
	t.Run("down and up bring the standbys back streaming", func(t *testing.T) {
		if err := l.Down(ctx); err != nil {
			t.Fatal(err)
		}
		l2, err := lab.Up(ctx, lab.Config{Dir: l.Dir, N: 4})
		if err != nil {
			t.Fatal(err)
		}
		if l2.Hosts[0] != l.Hosts[0] || l2.Hosts[3] != l.Hosts[3] {
			t.Errorf("standbys changed on up:\n%+v\n%+v", l.Hosts, l2.Hosts)
		}
		eventually(t, l, "db02", "SELECT string_agg(application_name || ' ' || state, ', ' ORDER BY application_name) FROM pg_stat_replication", "db01 streaming, db04 streaming")
	})
	t.Run("bad pairs are refused", func(t *testing.T) {
		for _, tc := range [][3]string{
			{"db03", "db03", "its own standby"}, {"db03", "db01", "itself a standby"}, {"db02", "db03", "primary of"},
			{"db09", "db02", "no host db09"}, {"db03", "db02", `sslmode "off"`},
		} {
			mode := "prefer"
			if strings.Contains(tc[2], "sslmode") {
				mode = "off"
			}
			err := l.MakeStandby(ctx, tc[0], tc[1], lab.StandbyOptions{SSLMode: mode})
			var ce *lab.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc[2]) {
				t.Errorf("MakeStandby(%s, %s, %s) = %v; want a *ConfigError saying %q", tc[0], tc[1], mode, err, tc[2])
			}
		}
	})

	start = time.Now()
	if err := l.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("reset in %s", time.Since(start).Round(time.Millisecond))
	for _, h := range l.Hosts {
		if h.Primary != "" || h.PrimarySSLMode != "" {
			t.Errorf("%s still a standby after Reset: %+v", h.Name, h)
		}
		checkAsCreated(t, l, h)
		c, err := connect(ctx, h, "postgres", h.PGPassword, "sslmode=disable")
		if err != nil {
			t.Errorf("%s after Reset with the lab's password: %v", h.Name, err)
			continue
		}
		c.Close(ctx)
	}
	if got := query(t, l, "db02", "SELECT count(*) FROM pg_stat_replication"); got != "0" {
		t.Errorf("db02 still has %s walsenders after Reset", got)
	}
}
