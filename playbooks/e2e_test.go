package playbooks_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/transport"
)

// clean reports whether a run ended with every host fine.
func clean(s *playbooks.Summary) bool {
	return s.Failed() == 0 && s.Unreachable() == 0 && !s.Interrupted
}

// outcome describes a run's end for test messages.
func outcome(s *playbooks.Summary) string {
	return fmt.Sprintf("failed=%d unreachable=%d interrupted=%v", s.Failed(), s.Unreachable(), s.Interrupted)
}

type labInv struct{ inv *inventory.Inventory }

func (a labInv) Hosts(p string) ([]string, error) {
	hs, err := a.inv.Match(p)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out, nil
}
func (a labInv) HostVars(h string) map[string]any { return a.inv.HostVars(h) }
func (a labInv) Groups() map[string][]string      { return a.inv.GroupHosts() }

func runLab(t *testing.T, invPath string, pb *playbooks.Playbook, check bool, extra map[string]any) (*playbooks.Summary, *playbooks.JSONDoc) {
	t.Helper()
	inv, err := inventory.Load([]string{invPath})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{Overrides: transport.Overrides{Timeout: 10 * time.Second}})
	defer pool.Close()
	var out bytes.Buffer
	sum, err := playbooks.Run(context.Background(), []*playbooks.Playbook{pb}, playbooks.Options{
		Modules: playbooks.AllModules(), Inventory: labInv{inv}, Connector: pool, Local: transport.Local(),
		Become: func(v map[string]any) transport.Become { return transport.BecomeFromVars(v, transport.Overrides{}) },
		Forks:  5, Check: check, ExtraVars: extra, Out: &out, Format: "json",
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc playbooks.JSONDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("json output: %v\n%s", err, out.String())
	}
	return sum, &doc
}

// snapshot records checksum and mtime of every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(p)
		fi, _ := d.Info()
		out[p] = fmt.Sprintf("%x %d", sha256.Sum256(data), fi.ModTime().UnixNano())
		return nil
	})
	return out
}

func TestE2ESiteCheckThenApplyThenIdempotent(t *testing.T) {
	l := labtest.New(t, 3)
	pb, err := playbooks.LoadFile(playbooks.AllModules(), "testdata/e2e/site.yml")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(l.Dir, "e2e")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	extra := map[string]any{"root": root}
	inv := filepath.Join(l.Dir, "inventory.ini")

	sum, check := runLab(t, inv, pb, true, extra)
	if !clean(sum) {
		b, _ := json.MarshalIndent(check, "", " ")
		t.Fatalf("check run %s:\n%s", outcome(sum), b)
	}
	if files := snapshot(t, root); len(files) != 0 {
		t.Fatalf("check run wrote files: %v", files)
	}

	sum, real := runLab(t, inv, pb, false, extra)
	if !clean(sum) {
		b, _ := json.MarshalIndent(real, "", " ")
		t.Fatalf("real run %s:\n%s", outcome(sum), b)
	}
	compareRuns(t, check, real)
	for _, h := range l.Hosts {
		// service started it; meta: flush_handlers ran the handler.
		for _, f := range []string{"demo.running", "handler.log"} {
			if _, err := os.Stat(filepath.Join(root, h.Name, f)); err != nil {
				t.Errorf("after the real run: %v", err)
			}
		}
	}

	before := snapshot(t, root)
	sum, again := runLab(t, inv, pb, false, extra)
	for h, s := range sum.Stats {
		if s.Changed != 0 || s.Failed != 0 {
			t.Errorf("second run: %s changed=%d failed=%d", h, s.Changed, s.Failed)
		}
	}
	_ = again
	sum, _ = runLab(t, inv, pb, true, extra)
	for h, s := range sum.Stats {
		if s.Changed != 0 {
			t.Errorf("check after convergence: %s changed=%d", h, s.Changed)
		}
	}
	after := snapshot(t, root)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed by the idempotent runs", p)
		}
	}
}

// compareRuns: the check run reports, task by task and host by host,
// exactly the changes the real run makes (a command the check could not
// plan is "would run" and must then change in the real run).
func compareRuns(t *testing.T, check, real *playbooks.JSONDoc) {
	t.Helper()
	ct, rt := check.Plays[0].Tasks, real.Plays[0].Tasks
	if len(ct) != len(rt) {
		t.Fatalf("check has %d task entries, real run %d", len(ct), len(rt))
	}
	for i := range ct {
		for h, c := range ct[i].Hosts {
			r, ok := rt[i].Hosts[h]
			if !ok {
				t.Errorf("task %s: %s missing from the real run", ct[i].Name, h)
				continue
			}
			if c.WouldRun {
				if !r.Changed {
					t.Errorf("task %s on %s: check said would run, real run did not change", ct[i].Name, h)
				}
				continue
			}
			if c.Changed != r.Changed {
				t.Errorf("task %s on %s: check changed=%v, real changed=%v (%s / %s)", ct[i].Name, h, c.Changed, r.Changed, c.Msg, r.Msg)
			}
		}
	}
}
