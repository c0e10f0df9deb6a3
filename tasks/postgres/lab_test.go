package postgres

// Lab tests: real sshd + PostgreSQL 15 hosts (lab/labtest), the SSH
// transport, become postgres. The driver below runs the modules in the
// order and with the block/rescue of playbooks/postgres-tls.yml through
// tasks.Execute, so these tests do not need the playbook engine.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

type step struct {
	name string
	args map[string]any
	reg  string
}

// hostRun is what the driver saw on one host.
type hostRun struct {
	outcomes   map[string]*tasks.Outcome
	changed    []string // steps that reported a change
	failedStep string
	failMsg    string
	rolledBack bool
	ended      bool // external CA: stopped after writing the CSR
}

// pgModules is a registry of the PostgreSQL modules, as cmd/sshplay
// registers them.
func pgModules() *tasks.Registry {
	r := tasks.NewRegistry()
	Register(r)
	return r
}

type driver struct {
	t     *testing.T
	lab   *lab.Lab
	inv   *inventory.Inventory
	pool  *transport.Pool
	extra map[string]any
}

func newDriver(t *testing.T, l *lab.Lab, extra map[string]any) *driver {
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatalf("load inventory: %v", err)
	}
	pool := transport.NewPool(transport.PoolOptions{})
	t.Cleanup(func() { pool.Close() })
	return &driver{t: t, lab: l, inv: inv, pool: pool, extra: extra}
}

func (d *driver) vars(h lab.Host) map[string]any {
	v := d.inv.HostVars(h.Name)
	if v == nil {
		d.t.Fatalf("host %s not in inventory", h.Name)
	}
	if _, ok := v["pg_socket_dir"]; !ok {
		v["pg_socket_dir"] = h.SocketDir
	}
	for k, x := range d.extra {
		v[k] = x
	}
	return v
}

func truthy(v any) bool { b, _ := boolean.Parse(v); return b }

// run runs the TLS job on every host in parallel, like the playbook.
func (d *driver) run(ctx context.Context, check bool, hosts ...lab.Host) map[string]*hostRun {
	if len(hosts) == 0 {
		hosts = d.lab.Hosts
	}
	out := map[string]*hostRun{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.runHost(ctx, h, check)
			mu.Lock()
			out[h.Name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (d *driver) runHost(ctx context.Context, h lab.Host, check bool) *hostRun {
	r := &hostRun{outcomes: map[string]*tasks.Outcome{}}
	vars := d.vars(h)
	conn, err := d.pool.Conn(ctx, h.Name, vars)
	if err != nil {
		r.failedStep, r.failMsg = "connect", err.Error()
		return r
	}
	pgConn := conn.Become(transport.Become{Enabled: true, User: "postgres"})
	var ov *overlay.Overlay
	if check {
		ov = overlay.NewOverlay()
	}
	exec := func(name string, args map[string]any) *tasks.Outcome {
		mod, ok := pgModules().Lookup(name)
		if !ok {
			d.t.Fatalf("module %s not registered", name)
		}
		env := &tasks.Env{Host: h.Name, Conn: pgConn, Local: transport.Local(), Vars: vars, Diff: true}
		o := tasks.Execute(ctx, mod, env, args, tasks.ExecOptions{Check: check, Overlay: ov})
		r.outcomes[name] = o
		if o.Status == tasks.StatusChanged {
			r.changed = append(r.changed, name)
		}
		if o.Status == tasks.StatusSkipped && o.WouldRun {
			r.changed = append(r.changed, name+"(would run)")
		}
		if facts, ok := o.Result["ansible_facts"].(map[string]any); ok {
			for k, v := range facts {
				vars[k] = v
			}
		}
		return o
	}
	if o := exec("pg_facts", nil); o.Status == tasks.StatusFailed || o.Status == tasks.StatusUnreachable {
		r.failedStep, r.failMsg = "pg_facts", o.Result["msg"].(string)
		return r
	}
	changed := func(names ...string) string {
		for _, n := range names {
			if o := r.outcomes[n]; o != nil && truthy(o.Result["changed"]) {
				return "true"
			}
		}
		return "false"
	}
	// The block of playbooks/postgres-tls.yml, in its order: TLS live and
	// proven first, then the standby's link, then enforcement.
	tlsChanged := func() map[string]any {
		return map[string]any{"changed": changed("pg_tls_key", "tls_sign", "pg_conf")}
	}
	block := []struct {
		mod, key string
		args     func() map[string]any
	}{
		{"pg_tls_key", "", nil},
		{"tls_sign", "", nil},
		{"pg_conf", "", nil},
		{"pg_reload", "pg_reload/tls", tlsChanged},
		{"pg_tls_verify", "pg_tls_verify/tls", func() map[string]any { a := tlsChanged(); a["stage"] = "tls"; return a }},
		{"pg_replication", "", nil},
		{"pg_hba", "", nil},
		{"pg_reload", "", func() map[string]any { return map[string]any{"changed": changed("pg_hba"), "stage": "hba"} }},
		{"pg_tls_verify", "", func() map[string]any {
			refused := r.outcomes["pg_hba"] != nil && truthy(r.outcomes["pg_hba"].Result["enforce_refused"])
			return map[string]any{"changed": changed("pg_tls_key", "tls_sign", "pg_conf", "pg_hba", "pg_replication"), "enforced": fmt.Sprint(!refused)}
		}},
		{"pg_tls_commit", "", nil},
	}
	for _, st := range block {
		var args map[string]any
		if st.args != nil {
			args = st.args()
		}
		o := exec(st.mod, args)
		if st.key != "" {
			r.outcomes[st.key] = o
		}
		if o.Status == tasks.StatusFailed || o.Status == tasks.StatusUnreachable {
			r.failedStep, r.failMsg = st.mod, fmt.Sprint(o.Result["msg"])
			vars["ansible_failed_result"] = o.Result
			rb := exec("pg_tls_rollback", nil)
			r.rolledBack = truthy(rb.Result["rolled_back"])
			r.failMsg = fmt.Sprint(rb.Result["msg"])
			return r
		}
		if st.mod == "tls_sign" && truthy(o.Result["csr_pending"]) {
			exec("pg_tls_commit", map[string]any{"keep_csr": true})
			r.ended = true
			return r
		}
	}
	if o := r.outcomes["pg_hba"]; o != nil && truthy(o.Result["enforce_refused"]) {
		r.failedStep, r.failMsg = "enforce", fmt.Sprint(o.Result["msg"])
	}
	return r
}

func psqlOn(t *testing.T, ctx context.Context, d *driver, h lab.Host, sql string) string {
	t.Helper()
	conn, err := d.pool.Conn(ctx, h.Name, d.vars(h))
	if err != nil {
		t.Fatal(err)
	}
	out, err := pg.Query(ctx, conn.Become(transport.Become{Enabled: true, User: "postgres"}), pg.Target{SocketDir: h.SocketDir, Port: h.PGPort}, sql)
	if err != nil {
		t.Fatalf("host %s: %s: %v", h.Name, sql, err)
	}
	return string(out)
}

func rootRun(t *testing.T, ctx context.Context, d *driver, h lab.Host, cmd string) {
	t.Helper()
	conn, err := d.pool.Conn(ctx, h.Name, d.vars(h))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Become(transport.Become{Enabled: true}).Run(ctx, cmd, transport.RunOptions{}); err != nil {
		t.Fatalf("host %s: %s: %v", h.Name, cmd, err)
	}
}

func requireAllProven(t *testing.T, runs map[string]*hostRun, hosts []lab.Host) {
	t.Helper()
	for _, h := range hosts {
		r := runs[h.Name]
		if r == nil || r.failedStep != "" {
			t.Fatalf("host %s failed at %s: %s", h.Name, r.failedStep, r.failMsg)
		}
		v := r.outcomes["pg_tls_verify"]
		if v == nil || !truthy(v.Result["ok"]) {
			t.Fatalf("host %s: no proof: %+v", h.Name, v)
		}
		t.Logf("%s", v.Result["proof"])
	}
}

func TestLabFleet(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := newDriver(t, l, nil)

	// --check on a fresh fleet: lists every change, writes nothing.
	before := snapshot(t, l)
	runs := d.run(ctx, true)
	for _, h := range l.Hosts {
		r := runs[h.Name]
		if r.failedStep != "" {
			t.Fatalf("check: host %s failed at %s: %s", h.Name, r.failedStep, r.failMsg)
		}
		got := strings.Join(r.changed, ",")
		for _, want := range []string{"pg_tls_key", "tls_sign", "pg_conf", "pg_hba", "pg_reload"} {
			if !strings.Contains(got, want) {
				t.Errorf("check: host %s: %s not planned (changes: %s)", h.Name, want, got)
			}
		}
		for _, n := range []string{"pg_tls_key", "tls_sign", "pg_conf", "pg_hba", "pg_reload"} {
			t.Logf("check %s %s: %s", h.Name, n, r.outcomes[n].Change.Summary)
		}
		if s := r.outcomes["tls_sign"].Change.Summary; !strings.Contains(s, "would sign a certificate for DNS:"+h.Name+", IP:"+h.Addr) {
			t.Errorf("check: sign summary %q", s)
		}
		if len(r.outcomes["pg_conf"].Change.Diffs) == 0 || len(r.outcomes["pg_hba"].Change.Diffs) == 0 {
			t.Errorf("check: host %s: conf/hba diffs missing", h.Name)
		}
	}
	if after := snapshot(t, l); after != before {
		t.Fatalf("check run changed files:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "pki")); err == nil {
		t.Fatal("check run created the CA")
	}

	// Real run: every host proven with verify-full.
	runs = d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)

	// Second run: zero changes.
	runs = d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	for _, h := range l.Hosts {
		if c := runs[h.Name].changed; len(c) != 0 {
			t.Errorf("second run: host %s changed %v", h.Name, c)
		}
	}
	// Check on a converged fleet: nothing would change, proof runs for real.
	runs = d.run(ctx, true)
	for _, h := range l.Hosts {
		if c := runs[h.Name].changed; len(c) != 0 {
			t.Errorf("check after converge: host %s would change %v", h.Name, c)
		}
	}
}

// snapshot lists every file under the lab's host dirs with size and mtime
// (logs and sockets excluded).
func snapshot(t *testing.T, l *lab.Lab) string {
	t.Helper()
	var b strings.Builder
	for _, h := range l.Hosts {
		for _, dir := range []string{h.DataDir, filepath.Dir(h.ConfigFile)} {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.IsDir() || strings.HasPrefix(e.Name(), "postmaster") || strings.HasSuffix(e.Name(), ".log") {
					continue
				}
				info, err := e.Info()
				if err != nil {
					continue
				}
				fmt.Fprintf(&b, "%s/%s:%d:%d ", dir, e.Name(), info.Size(), info.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

func parseIPs(s ...string) []net.IP {
	var out []net.IP
	for _, x := range s {
		out = append(out, net.ParseIP(x))
	}
	return out
}
