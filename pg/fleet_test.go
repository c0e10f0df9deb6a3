package pg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

// TestStatusOptionsPort: a pg_port that is not a port is bad input naming
// the host, never silently 5432.
func TestStatusOptionsPort(t *testing.T) {
	t.Parallel()
	for _, p := range []any{"abc", "54x32", "0", "70000", "-1"} {
		_, err := StatusOptionsFromVars("db3", map[string]any{"pg_port": p}, nil, 0)
		var ie *InputError
		if !errors.As(err, &ie) || !ie.BadInput() || !strings.HasPrefix(err.Error(), "host db3: pg_port:") {
			t.Errorf("pg_port %v: got %v, want an *InputError naming db3 and pg_port", p, err)
		}
	}
	for _, c := range []struct {
		v    any
		want int
	}{{nil, 5432}, {"", 5432}, {"6432", 6432}, {6433, 6433}, {" 6434 ", 6434}} {
		o, err := StatusOptionsFromVars("db3", map[string]any{"pg_port": c.v}, nil, 0)
		if err != nil || o.Port != c.want || o.Target.Port != c.want {
			t.Errorf("pg_port %v: port %d/%d err %v, want %d", c.v, o.Port, o.Target.Port, err, c.want)
		}
	}
}

// TestTrustDirs: the defaults the modules and pg status share.
func TestTrustDirs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		vars     map[string]any
		ca, csr  string
		external bool
	}{
		{"nothing", map[string]any{}, "pki", "csr", false},
		{"first inventory wins", map[string]any{"sshplay_inventory_dir": "/a", "inventory_dir": "/b"}, "/a/pki", "/a/csr", false},
		{"host inventory dir", map[string]any{"inventory_dir": "/b", "inventory_file": "/c/hosts.ini"}, "/b/pki", "/b/csr", false},
		{"inventory file", map[string]any{"inventory_file": "/c/hosts.ini"}, "/c/pki", "/c/csr", false},
		{"explicit", map[string]any{"sshplay_inventory_dir": "/a", "tls_ca_dir": "/ca", "tls_csr_dir": "/out", "tls_ca_mode": "External"}, "/ca", "/out", true},
	} {
		get := VarLookup(c.vars)
		if got := CADir(get); got != c.ca {
			t.Errorf("%s: CADir %q, want %q", c.name, got, c.ca)
		}
		if got := CSRDir(get); got != c.csr {
			t.Errorf("%s: CSRDir %q, want %q", c.name, got, c.csr)
		}
		want := c.ca
		if c.external {
			want = c.csr
		}
		if got := TrustDir(get); ExternalCA(get) != c.external || got != want {
			t.Errorf("%s: TrustDir %q external %v, want %q %v", c.name, got, ExternalCA(get), want, c.external)
		}
	}
}

// TestRootFor: --root beats --ca-dir beats the host's variables; external
// mode trusts csr/root.crt.
func TestRootFor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	internal, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := pki.Init(filepath.Join(dir, "csr"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.Init(filepath.Join(dir, "other"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "given.crt")
	if err := os.WriteFile(file, other.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"sshplay_inventory_dir": dir}
	extVars := map[string]any{"sshplay_inventory_dir": dir, "tls_ca_mode": "external"}
	for _, c := range []struct {
		name string
		vars map[string]any
		o    TrustOverride
		want []byte
	}{
		{"internal default", vars, TrustOverride{}, internal.RootPEM()},
		{"external default", extVars, TrustOverride{}, ext.RootPEM()},
		{"ca dir", vars, TrustOverride{CADir: filepath.Join(dir, "other")}, other.RootPEM()},
		{"root file beats ca dir", extVars, TrustOverride{RootFile: file, CADir: filepath.Join(dir, "pki")}, other.RootPEM()},
	} {
		got, err := RootFor(c.vars, c.o)
		if err != nil || string(got) != string(c.want) {
			t.Errorf("%s: err %v, root matches: %v", c.name, err, string(got) == string(c.want))
		}
	}
	if _, err := RootFor(map[string]any{"tls_ca_dir": filepath.Join(dir, "none")}, TrustOverride{}); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("missing root: %v, want an error naming the directory", err)
	}
}

// TestStatusAll: bad variables dial nothing; statuses come back in host
// order; unreachable and not-ok hosts are counted apart; at most Forks
// hosts are worked on at once.
func TestStatusAll(t *testing.T) {
	var dials atomic.Int32
	var mu sync.Mutex
	running, peak := 0, 0
	dial := func(ctx context.Context, name string, vars map[string]any) (transport.Conn, error) {
		dials.Add(1)
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if strings.HasPrefix(name, "down") {
			return nil, &transport.UnreachableError{Host: name, Err: errors.New("connection refused")}
		}
		return tasktest.New(name, "sshplay"), nil
	}
	ctx := context.Background()

	hosts := []StatusHost{{Name: "down1", Vars: map[string]any{}}, {Name: "db2", Vars: map[string]any{"pg_port": "abc"}}}
	res, err := StatusAll(ctx, hosts, dial, StatusAllOptions{Forks: 4})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Host != "db2" || res != nil || dials.Load() != 0 {
		t.Fatalf("bad pg_port: results %v err %v, %d dials; want an *InputError for db2 and nothing dialed", res, err, dials.Load())
	}

	hosts = []StatusHost{{Name: "down1"}, {Name: "down2"}, {Name: "down3"}}
	res, err = StatusAll(ctx, hosts, dial, StatusAllOptions{Forks: 2})
	var se *StatusError
	if !errors.As(err, &se) || *se != (StatusError{Unreachable: 3}) || len(res) != 3 {
		t.Fatalf("all down: %d results, err %v; want StatusError{Unreachable: 3}", len(res), err)
	}
	for i, s := range res {
		if s.Host != hosts[i].Name || !s.Unreachable || !strings.Contains(s.Err, "connection refused") {
			t.Errorf("result %d: %+v", i, s)
		}
	}
	if peak > 2 {
		t.Errorf("%d hosts at once with Forks 2", peak)
	}

	// db2 answers SSH but its psql fails (the fake has no psql): not ok.
	hosts = []StatusHost{{Name: "db2", Vars: map[string]any{}}, {Name: "down1", Vars: map[string]any{}}}
	res, err = StatusAll(ctx, hosts, dial, StatusAllOptions{Forks: 2})
	if !errors.As(err, &se) || *se != (StatusError{NotOK: 1, Unreachable: 1}) {
		t.Fatalf("mixed: err %v, want StatusError{NotOK: 1, Unreachable: 1}", err)
	}
	if res[0].Host != "db2" || res[0].Unreachable || res[0].Err == "" || res[0].OK() {
		t.Errorf("db2: %+v, want a reachable host with an error", res[0])
	}

	// A cancelled run says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := StatusAll(cctx, hosts, dial, StatusAllOptions{Forks: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
