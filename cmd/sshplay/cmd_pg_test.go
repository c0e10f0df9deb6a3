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

// unreachableFleet writes an inventory whose hosts all point at a closed
// port, so pg status lists each selected host as an UNREACHABLE row
// without waiting: the rows show which hosts were selected.
func unreachableFleet(t *testing.T, ini string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	inv := filepath.Join(t.TempDir(), "inventory.ini")
	text := "[all:vars]\nansible_host=127.0.0.1\nansible_port=" + port + "\n" + ini
	if err := os.WriteFile(inv, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return inv
}

// tableHosts are the host names of pg status's table, in order.
func tableHosts(out string) []string {
	var hosts []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] != "HOST" && strings.Contains(line, "UNREACHABLE") {
			hosts = append(hosts, f[0])
		}
	}
	return hosts
}

// TestPGStatusSelectsHostsWithPatternAndLimit: pg status takes the host
// pattern as its argument (default dbservers) narrowed by -l, as exec
// does; --hosts still works, hidden, with a deprecation notice.
func TestPGStatusSelectsHostsWithPatternAndLimit(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	inv := unreachableFleet(t, "[dbservers]\ndb1\ndb2\ndb3\n[web]\nw1\nw2\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"default group", nil, "db1 db2 db3"},
		{"pattern", []string{"web"}, "w1 w2"},
		{"pattern and limit", []string{"all", "-l", "db*:!db2"}, "db1 db3"},
		{"limit on the default", []string{"-l", "db2"}, "db2"},
		{"deprecated --hosts", []string{"--hosts", "web"}, "w1 w2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"pg", "status", "-i", inv}, c.args...)...)
			if code != exitUnreachable {
				t.Fatalf("exit %d, want %d: %s", code, exitUnreachable, stderr)
			}
			if got := strings.Join(tableHosts(out), " "); got != c.want {
				t.Errorf("hosts %q, want %q\n%s", got, c.want, out)
			}
			notice := strings.Contains(out+stderr, "Flag --hosts has been deprecated")
			if notice != (c.args != nil && c.args[0] == "--hosts") {
				t.Errorf("deprecation notice shown: %v\n%s%s", notice, out, stderr)
			}
		})
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"two patterns", []string{"web", "db1"}, "pg status: one host pattern"},
		{"pattern and --hosts", []string{"web", "--hosts", "dbservers"}, "give the pattern once"},
		{"no match", []string{"nosuch"}, `no hosts matched "nosuch"`},
		{"bad shard", []string{"--shard", "0/2"}, `--shard: want K/N`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"pg", "status", "-i", inv}, c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, c.want) || tableHosts(out) != nil {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 5 and %q", code, stderr, out, c.want)
			}
		})
	}
}

// TestPGStatusShardsCoverTheSelectionOnce: --shard K/N splits the hosts
// after the pattern and -l; the N parts together list each host once.
func TestPGStatusShardsCoverTheSelectionOnce(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	inv := unreachableFleet(t, "[dbservers]\ndb[01:12]\n[web]\nw1\n")
	seen := map[string]int{}
	for k := 1; k <= 3; k++ {
		code, out, stderr := runCLI(t, "pg", "status", "-i", inv, "-l", "!db05", "--shard", strconv.Itoa(k)+"/3")
		if code != exitUnreachable && code != exitOK {
			t.Fatalf("shard %d: exit %d: %s", k, code, stderr)
		}
		for _, h := range tableHosts(out) {
			seen[h]++
		}
	}
	if len(seen) != 11 || seen["db05"] != 0 || seen["w1"] != 0 {
		t.Errorf("hosts seen %v, want db01..db12 but db05", seen)
	}
	for h, n := range seen {
		if n != 1 {
			t.Errorf("host %s in %d shards", h, n)
		}
	}
}
