package postgres_test

// The flagship playbook through the real engine against lab hosts.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/core"
	"github.com/sshplay/sshplay/tasks/postgres"
	"github.com/sshplay/sshplay/transport"
)

type invAdapter struct{ inv *inventory.Inventory }

func (a invAdapter) Hosts(pattern string) ([]string, error) {
	hs, err := a.inv.Match(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out, nil
}
func (a invAdapter) HostVars(h string) map[string]any { return a.inv.HostVars(h) }
func (a invAdapter) Groups() map[string][]string      { return a.inv.GroupHosts() }

func play(t *testing.T, ctx context.Context, l *lab.Lab, check bool, extra map[string]any) (*playbooks.Summary, string) {
	t.Helper()
	return playFormat(t, ctx, l, check, extra, "text")
}

// playJSON runs the playbook with JSON output and decodes it.
func playJSON(t *testing.T, ctx context.Context, l *lab.Lab, check bool, extra map[string]any) (*playbooks.Summary, *playbooks.JSONDoc) {
	t.Helper()
	sum, out := playFormat(t, ctx, l, check, extra, "json")
	var doc playbooks.JSONDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	return sum, &doc
}

// playTo runs the playbook for real, its text output going to w.
func playTo(t *testing.T, ctx context.Context, l *lab.Lab, w io.Writer) *playbooks.Summary {
	t.Helper()
	return runPlaybook(t, ctx, l, playbooks.Options{Out: w, Forks: 10})
}

func playFormat(t *testing.T, ctx context.Context, l *lab.Lab, check bool, extra map[string]any, format string) (*playbooks.Summary, string) {
	t.Helper()
	var out bytes.Buffer
	sum := runPlaybook(t, ctx, l, playbooks.Options{Forks: 10, Check: check, Diff: true, ExtraVars: extra, Out: &out, Format: format})
	return sum, out.String()
}

// runPlaybook runs playbooks/postgres-tls.yml on the lab with opts (the
// inventory, connector and become filled in).
func runPlaybook(t *testing.T, ctx context.Context, l *lab.Lab, opts playbooks.Options) *playbooks.Summary {
	t.Helper()
	mods := tasks.NewRegistry()
	core.Register(mods)
	postgres.Register(mods)
	playbooks.Register(mods)
	pb, err := playbooks.Load(mods, filepath.Join("..", "..", "playbooks", "postgres-tls.yml"))
	if err != nil {
		t.Fatalf("load playbook: %v", err)
	}
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{Stderr: os.Stderr})
	defer pool.Close()
	opts.Modules, opts.Inventory, opts.Connector, opts.Local = mods, invAdapter{inv}, pool, transport.Local()
	opts.Become = func(vars map[string]any) transport.Become {
		return transport.BecomeFromVars(vars, transport.Overrides{})
	}
	sum, err := playbooks.Run(ctx, []*playbooks.Playbook{pb}, opts)
	if err != nil {
		t.Fatalf("run playbook: %v", err)
	}
	return sum
}

func TestLabPlaybook(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	sum, out := play(t, ctx, l, true, nil)
	if sum.Failed() != 0 || sum.Unreachable() != 0 || sum.Interrupted {
		t.Fatalf("check run: %d failed, %d unreachable:\n%s", sum.Failed(), sum.Unreachable(), out)
	}
	if !strings.Contains(out, "hostssl") || !strings.Contains(out, "ssl = on") {
		t.Errorf("check --diff output lacks the conf/hba diffs:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "pki")); err == nil {
		t.Fatal("check run created the CA")
	}
	for _, h := range l.Hosts {
		if _, err := os.Stat(filepath.Join(h.DataDir, "server.key")); err == nil {
			t.Fatalf("%s: check run wrote server.key", h.Name)
		}
	}

	sum, out = play(t, ctx, l, false, nil)
	if sum.Failed() != 0 || sum.Unreachable() != 0 || sum.Interrupted {
		t.Fatalf("run: %d failed, %d unreachable:\n%s", sum.Failed(), sum.Unreachable(), out)
	}
	for _, h := range l.Hosts {
		if !strings.Contains(out, h.Name+" | "+h.Addr+":5432 | TLSv1.3") || !strings.Contains(out, "verify-full ok") {
			t.Errorf("%s: no proof line in output:\n%s", h.Name, out)
		}
		// What happened, per host, without -v.
		for _, want := range []string{"changed: [" + h.Name + "] (new ecdsa-p256 key", "changed: [" + h.Name + "] (certificate issued by the root, 365 days",
			"changed: [" + h.Name + "] (reloaded; the server log shows it applied)", "changed: [" + h.Name + "] (TLS required for TCP in "} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the run does not say %q:\n%s", h.Name, want, out)
			}
		}
	}
	sum, out = play(t, ctx, l, false, nil)
	if !strings.Contains(out, "ok: [db01] (key kept)") || !strings.Contains(out, "ok: [db01] (certificate good") {
		t.Errorf("the rerun does not say what it kept:\n%s", out)
	}
	for _, h := range l.Hosts {
		if st := sum.Stats[h.Name]; st == nil || st.Changed != 0 || st.Failed != 0 {
			t.Errorf("second run: %s stats %+v\n%s", h.Name, st, out)
		}
	}

	// sshplay pg status logic: every host ok.
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{})
	defer pool.Close()
	var hosts []pg.StatusHost
	for _, h := range l.Hosts {
		hosts = append(hosts, pg.StatusHost{Name: h.Name, Vars: inv.HostVars(h.Name)})
	}
	// The trust anchor by default: pki/ next to the inventory, as the
	// playbook made it.
	res, err := pg.StatusAll(ctx, hosts, pool.Conn, pg.StatusAllOptions{Forks: 2, Timeout: 5 * time.Second})
	if err != nil || len(res) != len(l.Hosts) {
		t.Errorf("status: %d results, err %v", len(res), err)
	}
	for _, s := range res {
		if !s.OK() {
			t.Errorf("status %s not ok: %v", s.Host, s.Row())
		}
		t.Logf("status: %s", strings.Join(s.Row(), " | "))
	}
	// pg_hba.conf edited but not reloaded (an interrupted run, a hand
	// edit): the status says so instead of "enforced".
	db1 := l.Hosts[0]
	time.Sleep(1100 * time.Millisecond) // file times have whole seconds
	hba, err := os.ReadFile(db1.HBAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db1.HBAFile, append(hba, "# edited\n"...), 0o640); err != nil {
		t.Fatal(err)
	}
	res, _ = pg.StatusAll(ctx, hosts[:1], pool.Conn, pg.StatusAllOptions{Forks: 1, Timeout: 5 * time.Second})
	if len(res) != 1 || res[0].OK() || res[0].Row()[2] != "edited, not applied" {
		t.Errorf("status after an unapplied edit: %v", res[0].Row())
	}
	// Against another CA's root (--root) every host fails verify-full.
	other, err := pki.Init(filepath.Join(t.TempDir(), "other"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "other-root.crt")
	if err := os.WriteFile(rootFile, other.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = pg.StatusAll(ctx, hosts, pool.Conn, pg.StatusAllOptions{Forks: 2, Timeout: 5 * time.Second, Trust: pg.TrustOverride{RootFile: rootFile}})
	var se *pg.StatusError
	if !errors.As(err, &se) || *se != (pg.StatusError{NotOK: len(l.Hosts)}) {
		t.Errorf("status against another root: err %v, want StatusError{NotOK: %d}", err, len(l.Hosts))
	}
	for _, s := range res {
		if row := s.Row(); !strings.Contains(row[6], "unknown authority") {
			t.Errorf("status %s against another root: %v", s.Host, row)
		}
	}
}

func TestLabPlaybookRollback(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bad := l.Hosts[1]
	// --check with a plan that fails (a key openssl cannot read): the
	// rescue plans the rollback and the host still ends failed, as the
	// real run would.
	key := filepath.Join(bad.DataDir, "server.key")
	if out, err := exec.CommandContext(ctx, "sh", "-c", "printf 'garbage\\n' > "+key+" && chown postgres "+key+" && chmod 600 "+key).CombinedOutput(); err != nil {
		t.Fatalf("prepare key: %v: %s", err, out)
	}
	sum, out := play(t, ctx, l, true, nil)
	if sum.Failed() == 0 || !strings.Contains(out, "would roll back") || !strings.Contains(out, "check mode: the real run would fail here") {
		t.Fatalf("check: %d hosts failed, want a failure with a planned rollback:\n%s", sum.Failed(), out)
	}
	if st := sum.Stats[bad.Name]; st.Failed != 1 {
		t.Errorf("check: bad host stats %+v", st)
	}
	if strings.Contains(out, "config_text") || strings.Contains(out, "hba_text") {
		t.Errorf("failure output carries the file texts:\n%s", out)
	}
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	// A CRL file the server cannot read, set by the operator while ssl
	// was off (only on the bad host): the TLS reload keeps TLS off
	// silently; its log check catches it and the rescue rolls the host
	// back.
	crl := filepath.Join(l.Dir, "unreadable-crl.pem")
	if err := os.WriteFile(crl, []byte("not a CRL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(bad.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad.ConfigFile, append(conf, []byte("\nssl_crl_file = '"+crl+"'\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	hbaBefore, err := os.ReadFile(bad.HBAFile)
	if err != nil {
		t.Fatal(err)
	}
	sum, out = play(t, ctx, l, false, nil)
	if sum.Failed() == 0 {
		t.Fatalf("no host failed, want a failure:\n%s", out)
	}
	if !strings.Contains(out, "failed (rolled back)") {
		t.Errorf("no rollback message:\n%s", out)
	}
	if st := sum.Stats[l.Hosts[0].Name]; st.Failed != 0 || !strings.Contains(out, l.Hosts[0].Name+" | "+l.Hosts[0].Addr) {
		t.Errorf("good host: %+v\n%s", st, out)
	}
	if st := sum.Stats[bad.Name]; st.Failed != 1 || st.Rescued != 1 {
		t.Errorf("bad host stats %+v", st)
	}
	hbaAfter, err := os.ReadFile(bad.HBAFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(hbaAfter) != string(hbaBefore) {
		t.Errorf("pg_hba.conf not restored:\n%s", hbaAfter)
	}
	cfg, err := pgx.ParseConfig("host=" + bad.Addr + " port=5432 user=postgres dbname=postgres sslmode=disable connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = bad.PGPassword
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("rolled-back host does not accept connections: %v", err)
	}
	c.Close(ctx)
}
