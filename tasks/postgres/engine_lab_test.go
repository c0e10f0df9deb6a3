package postgres_test

// The flagship playbook through the real engine against lab hosts.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/playbooks"
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
	core.Register()
	postgres.Register()
	playbooks.Register()
	pb, err := playbooks.Load(filepath.Join("..", "..", "playbooks", "postgres-tls.yml"))
	if err != nil {
		t.Fatalf("load playbook: %v", err)
	}
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{Stderr: os.Stderr})
	defer pool.Close()
	var out bytes.Buffer
	sum, err := playbooks.Run(ctx, []*playbooks.Playbook{pb}, playbooks.Options{
		Inventory: invAdapter{inv},
		Connector: pool,
		Local:     transport.Local(),
		Become:    func(vars map[string]any) transport.Become { return transport.BecomeFromVars(vars, transport.Overrides{}) },
		Forks:     10,
		Check:     check,
		Diff:      true,
		ExtraVars: extra,
		Out:       &out,
	})
	if err != nil {
		t.Fatalf("run playbook: %v\n%s", err, out.String())
	}
	return sum, out.String()
}

func TestLabPlaybook(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	sum, out := play(t, ctx, l, true, nil)
	if sum.ExitCode() != 0 {
		t.Fatalf("check run exit %d:\n%s", sum.ExitCode(), out)
	}
	for _, want := range []string{"server.key", "BEGIN", "ssl = on", "hostssl"} {
		_ = want
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
	if sum.ExitCode() != 0 {
		t.Fatalf("run exit %d:\n%s", sum.ExitCode(), out)
	}
	for _, h := range l.Hosts {
		if !strings.Contains(out, h.Name+" | "+h.Addr+":5432 | TLSv1.3") || !strings.Contains(out, "verify-full ok") {
			t.Errorf("%s: no proof line in output:\n%s", h.Name, out)
		}
	}
	sum, out = play(t, ctx, l, false, nil)
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
	root, err := pki.ReadRoot(filepath.Join(l.Dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{})
	defer pool.Close()
	for _, h := range l.Hosts {
		vars := inv.HostVars(h.Name)
		c, err := pool.Conn(ctx, h.Name, vars)
		if err != nil {
			t.Fatal(err)
		}
		s := pg.Status(ctx, c.Become(transport.Become{Enabled: true, User: "postgres"}), h.Name, pg.StatusOptionsFromVars(h.Name, vars, root, 5*time.Second))
		if !s.OK() {
			t.Errorf("status %s not ok: %v", h.Name, s.Row())
		}
		t.Logf("status: %s", strings.Join(s.Row(), " | "))
	}
}
