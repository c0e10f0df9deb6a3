// Package labtest gives tests real lab hosts (OpenSSH sshd + PostgreSQL 15
// on 127.0.0.X) through package lab, and the skip-or-fail rule for tests that
// need them: skip on a machine without root, sshd or postgres, but fail when
// the environment variable CI is set, so a CI run never passes by skipping.
// For estates that look like production it makes standbys
// (NewWithStandby) and holds live plaintext client sessions
// (HoldPlainSession).
//
// labtest must never leave processes or sessions running after a test:
// every lab it brings up is taken down, and every session it opens closed,
// in t.Cleanup.
package labtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sshplay/sshplay/internal/testenv"
	"github.com/sshplay/sshplay/lab"
)

// Require skips the test (or fails it when CI is set) unless lab hosts can
// run on this machine.
func Require(t testing.TB) {
	t.Helper()
	if err := lab.Check(); err != nil {
		testenv.SkipOrFail(t, "no lab hosts on this machine: %v", err)
	}
}

// New brings up n lab hosts in a fresh directory under /tmp and takes them
// down (and removes the directory) when the test ends.
func New(t testing.TB, n int) *lab.Lab {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("/tmp", "sshplay-lab-test-")
	if err != nil {
		t.Fatalf("lab dir: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if l, err := lab.Open(dir); err == nil {
			if err := l.Down(ctx); err != nil {
				t.Errorf("lab down %s: %v", dir, err)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove lab dir: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Config{Dir: dir, N: n})
	if err != nil {
		t.Fatalf("lab up %d hosts in %s: %v", n, dir, err)
	}
	return l
}

// NewWithStandby brings up n lab hosts (see New) and makes l.Hosts[standby]
// a streaming standby of l.Hosts[primary] (indexes from 0: db01 is 0) whose
// primary_conninfo has sslmode ("" means prefer). Remember that odd hosts
// (db01, db03, index 0, 2) have the Debian layout, even ones the RHEL
// layout.
func NewWithStandby(t testing.TB, n, standby, primary int, sslmode string) *lab.Lab {
	t.Helper()
	if standby < 0 || primary < 0 || standby >= n || primary >= n {
		t.Fatalf("NewWithStandby: standby %d and primary %d must be host indexes below %d", standby, primary, n)
	}
	l := New(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, p := l.Hosts[standby].Name, l.Hosts[primary].Name
	if err := l.MakeStandby(ctx, s, p, lab.StandbyOptions{SSLMode: sslmode}); err != nil {
		t.Fatalf("make %s a standby of %s: %v", s, p, err)
	}
	return l
}

// HoldPlainSession opens a plaintext (sslmode=disable) TCP session to
// host's PostgreSQL with application_name app, and keeps it open until the
// test ends: the kind of live client that enforcing TLS cuts off at its
// next connection. It shows up in pg_stat_activity joined with pg_stat_ssl
// as ssl = false. user is "" or "postgres" (logging in with the host's
// postgres password from the lab), or "ROLE:PASSWORD" for a role the test
// made.
func HoldPlainSession(t testing.TB, l *lab.Lab, host, user, app string) *pgx.Conn {
	t.Helper()
	h, err := l.Host(host)
	if err != nil {
		t.Fatal(err)
	}
	role, password, ok := strings.Cut(user, ":")
	if !ok {
		role, password = lab.PGUser, h.PGPassword
		if user != "" && user != lab.PGUser {
			t.Fatalf("HoldPlainSession: user %q: want \"\", %q or ROLE:PASSWORD (the lab knows only the postgres password)", user, lab.PGUser)
		}
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable connect_timeout=10 application_name=%s",
		h.Addr, h.PGPort, quote(role), quote(app)))
	if err != nil {
		t.Fatalf("plain session to %s: %v", host, err)
	}
	cfg.Password = password
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("plain session to %s as %s: %v", host, role, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

// quote quotes a value for a libpq key=value connection string.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
