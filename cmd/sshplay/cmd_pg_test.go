package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sshplay/sshplay/pg"
)

// TestPGStatusExitCode: 2 when a reachable host is not ok, even with
// others unreachable; 4 only when every host not ok is unreachable; other
// errors keep their own code.
func TestPGStatusExitCode(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"all ok", nil, exitOK},
		{"failed", &pg.StatusError{NotOK: 1}, exitHostFailed},
		{"unreachable", &pg.StatusError{Unreachable: 2}, exitUnreachable},
		{"failed and unreachable", &pg.StatusError{NotOK: 1, Unreachable: 3}, exitHostFailed},
		{"bad pg_port", &pg.InputError{Host: "db1", Msg: "pg_port: bad"}, exitUsage},
		{"interrupted", context.Canceled, exitInterrupted},
		{"other", errors.New("boom"), exitError},
	} {
		if got := exitCode(ctx, pgStatusExit(c.err)); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}

// TestPGStatusBadInputDialsNothing: bad connection settings, a template in
// a variable pg status reads, or a bad pg_port exit 5 with one line naming
// the host, and no host is dialed (a listener standing in for the good
// host's sshd sees no connection).
func TestPGStatusBadInputDialsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name, vars string
		want       []string
	}{
		{"bad port", "ansible_host=127.0.0.1 ansible_port=abc", []string{"inventory.ini:3: host bad:", "ansible_port"}},
		{"templated host", `ansible_host="{{ x }}"`, []string{"host bad: ansible_host holds a template", "renders no templates"}},
		{"templated pg_host", `ansible_host=127.0.0.1 ansible_port=` + port + ` pg_host="{{ ansible_host }}"`, []string{"host bad: pg_host holds a template"}},
		{"bad pg_port", "ansible_host=127.0.0.1 ansible_port=" + port + " pg_port=abc", []string{"host bad: pg_port:", `"abc"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			inv := filepath.Join(dir, "inventory.ini")
			text := "[dbservers]\ngood ansible_host=127.0.0.1 ansible_port=" + port + "\nbad " + tc.vars + "\n"
			if err := os.WriteFile(inv, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "pg", "status", "-i", inv)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("error is not one line: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("a table was printed: %q", stdout)
			}
			time.Sleep(50 * time.Millisecond) // let a stray dial be accepted
			if n := accepted.Load(); n != 0 {
				t.Errorf("%d connection(s) dialed", n)
			}
		})
	}
}

// TestPGStatusUnreachable: a host whose sshd does not answer is a table row
// and exit 4.
func TestPGStatusUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // nothing listens there now
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte("[dbservers]\ndown ansible_host=127.0.0.1 ansible_port="+port+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "pg", "status", "-i", inv)
	if code != exitUnreachable {
		t.Errorf("exit %d, want %d (stderr %q)", code, exitUnreachable, stderr)
	}
	if !strings.Contains(stdout, "HOST") || !strings.Contains(stdout, "down") || !strings.Contains(stdout, "UNREACHABLE") {
		t.Errorf("table:\n%s", stdout)
	}
}
