package lab

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/testenv"
)

func TestSetConf(t *testing.T) {
	for _, tc := range []struct {
		name, in, key, value, want string
	}{
		{"commented default", "#ssl = off\t\t# note\n", "ssl", "off", "ssl = off\t\t# note\n"},
		{"active line wins over comment", "#port = 5432\nport = 5433 # x\n", "port", "5432", "#port = 5432\nport = 5432 # x\n"},
		{"quoted value with comment char", "#unix_socket_directories = '/tmp # a'\t# dirs\n", "unix_socket_directories", "'/x'", "unix_socket_directories = '/x'\t# dirs\n"},
		{"last active line is the one obeyed", "port = 1\n#port = 2\nport = 3\n", "port", "5432", "port = 1\n#port = 2\nport = 5432\n"},
		{"missing key appended", "a = 1\n", "ssl", "off", "a = 1\nssl = off\n"},
		{"no prefix match", "#ssl_ciphers = 'x'\n", "ssl", "off", "#ssl_ciphers = 'x'\nssl = off\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := setConf(tc.in, tc.key, tc.value); got != tc.want {
				t.Errorf("setConf(%q, %s, %s) = %q, want %q", tc.in, tc.key, tc.value, got, tc.want)
			}
		})
	}
}

func TestConfValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postgresql.conf")
	conf := "#listen_addresses = 'localhost'\nlisten_addresses = '127.0.0.9'\nport = 5432 # x\nlisten_addresses = 'it''s'\t# last wins\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"listen_addresses": "it's", "port": "5432", "ssl": ""} {
		if got, err := confValue(path, key); err != nil || got != want {
			t.Errorf("confValue(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0B00007F":                         "127.0.0.11",
		"00000000":                         "0.0.0.0",
		"00000000000000000000000000000000": "::",
		"0000000000000000FFFF00000B00007F": "::ffff:127.0.0.11",
	} {
		a, ok := parseProcAddr(in)
		if !ok || a.String() != want {
			t.Errorf("parseProcAddr(%s) = %v, %v; want %s", in, a, ok, want)
		}
	}
}

// TestStaleClaimTaken checks that a claim whose lab dir is gone is handed to
// a new lab, and that a claim held by a live lab is not.
func TestStaleClaimTaken(t *testing.T) {
	ctx := context.Background()
	live := upForTest(t, 1)
	if err := os.MkdirAll(claimsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lock(ctx, filepath.Join(claimsDir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	used, err := listeners()
	if err != nil {
		t.Fatal(err)
	}
	stale := ""
	for x := addrFirst; x <= addrLast && stale == ""; x++ {
		addr := "127.0.0." + strconv.Itoa(x)
		if used[addr] {
			continue
		}
		// The first address allocate could take: free, or claimed stale.
		if owner := claimOwner(addr); owner == "" || staleClaim(addr, owner) {
			if takeClaim(addr, "/nonexistent/sshplay-lab-gone") == nil {
				stale = addr
			}
		}
	}
	if stale == "" {
		t.Fatal("no free address for the test")
	}
	defer func() {
		if claimOwner(stale) == "/nonexistent/sshplay-lab-gone" {
			os.Remove(claimPath(stale))
		}
	}()
	if staleClaim(live.Hosts[0].Addr, live.Dir) {
		t.Errorf("claim of running lab %s on %s judged stale", live.Dir, live.Hosts[0].Addr)
	}
	l := &Lab{Dir: t.TempDir(), Hosts: []Host{{Name: "db01"}}}
	if err := allocate(l); err != nil {
		t.Fatal(err)
	}
	defer releaseClaims(l)
	if l.Hosts[0].Addr != stale {
		t.Errorf("allocate gave %s, want the stale claim's %s", l.Hosts[0].Addr, stale)
	}
	if got := claimOwner(stale); got != l.Dir {
		t.Errorf("claim on %s owned by %q, want %q", stale, got, l.Dir)
	}
	if l.Hosts[0].Addr == live.Hosts[0].Addr || strings.TrimSpace(claimOwner(live.Hosts[0].Addr)) != live.Dir {
		t.Errorf("allocate touched the live lab's claim on %s", live.Hosts[0].Addr)
	}
}

// upForTest is labtest.New for this package's own tests (labtest imports
// lab, so lab's internal tests cannot import labtest).
func upForTest(t *testing.T, n int) *Lab {
	t.Helper()
	if err := Check(); err != nil {
		testenv.SkipOrFail(t, "no lab hosts on this machine: %v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "sshplay-lab-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := Open(dir); err == nil {
			if err := l.Down(context.Background()); err != nil {
				t.Errorf("lab down: %v", err)
			}
		}
		os.RemoveAll(dir)
	})
	l, err := Up(context.Background(), Config{Dir: dir, N: n})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestHostMoves checks that a host whose address was taken by another lab
// while it was down comes back on a new address, configured there.
func TestHostMoves(t *testing.T) {
	ctx := context.Background()
	l := upForTest(t, 1)
	old := l.Hosts[0].Addr
	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
	// Another (live) lab takes the address meanwhile.
	other := &Lab{Dir: t.TempDir(), Hosts: []Host{{Name: "db01", Addr: old}}}
	if err := other.save(); err != nil {
		t.Fatal(err)
	}
	unlock, err := lock(ctx, filepath.Join(claimsDir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	err = createClaim(old, other.Dir)
	unlock()
	if err != nil {
		t.Fatalf("claim %s for the other lab: %v", old, err)
	}
	defer releaseClaims(other)
	l2, err := Up(ctx, Config{Dir: l.Dir, N: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := l2.Hosts[0]
	if h.Addr == old {
		t.Fatalf("host kept %s although another lab holds it", old)
	}
	p := pathsFor(l2.Dir, h.Name)
	got, err := psql(ctx, &h, p, "SHOW listen_addresses")
	if err != nil || got != h.Addr {
		t.Errorf("after the move listen_addresses = %q, %v; want %s", got, err, h.Addr)
	}
	if v, err := confValue(filepath.Join(p.pristine, "postgresql.conf"), "listen_addresses"); err != nil || v != h.Addr {
		t.Errorf("pristine listen_addresses = %q, %v; want %s", v, err, h.Addr)
	}
	if err := waitTCP(ctx, h.Addr+":22", 5*time.Second); err != nil {
		t.Errorf("sshd on the new address: %v", err)
	}
	kh, err := os.ReadFile(l2.KnownHostsFile())
	if err != nil || !strings.HasPrefix(string(kh), h.Addr+" ") {
		t.Errorf("known_hosts not updated to %s: %q, %v", h.Addr, kh, err)
	}
}
