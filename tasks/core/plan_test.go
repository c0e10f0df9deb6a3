package core

import (
	"context"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
)

// TestEveryModulePlannedReadOnly makes sure TestModulePlans (which checks
// that Plan leaves the fake host byte-for-byte unchanged) covers every
// module Register installs.
func TestEveryModulePlannedReadOnly(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, c := range moduleCases {
		covered[c.mod] = true
	}
	covered["ansible.builtin.systemd"], covered["systemd"] = true, true
	for name := range Modules() {
		if !covered[name] {
			t.Errorf("module %s has no plan case", name)
		}
	}
	r := tasks.NewRegistry()
	Register(r)
	for _, n := range []string{"copy", "ansible.builtin.copy", "ansible.legacy.copy", "ansible.builtin.systemd_service"} {
		if _, ok := r.Lookup(n); !ok {
			t.Errorf("%s not registered", n)
		}
	}
}

// TestCheckModeOverlay: in a check run, lineinfile plans against the file a
// preceding copy would write, and nothing reaches the host.
func TestCheckModeOverlay(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	h.AddDir("/etc/pg", 0o755)
	env := testEnv(h, l)
	ov := overlay.NewOverlay()
	opts := tasks.ExecOptions{Check: true, Overlay: ov}
	out := tasks.Execute(context.Background(), modByName(t, "copy"), env, map[string]any{"content": "port = 5432\n", "dest": "/etc/pg/pg.conf", "mode": "0600"}, opts)
	if out.Status != tasks.StatusChanged {
		t.Fatalf("copy: %v %v", out.Status, out.Err)
	}
	out = tasks.Execute(context.Background(), modByName(t, "lineinfile"), env, map[string]any{"path": "/etc/pg/pg.conf", "line": "ssl = on"}, opts)
	if out.Status != tasks.StatusChanged || out.Change.Diffs[0].Before != "port = 5432\n" || out.Change.Diffs[0].After != "port = 5432\nssl = on\n" {
		t.Fatalf("lineinfile over overlay: %v %+v", out.Status, out.Change)
	}
	out = tasks.Execute(context.Background(), modByName(t, "stat"), env, map[string]any{"path": "/etc/pg/pg.conf"}, opts)
	if st := out.Result["stat"].(map[string]any); st["exists"] != true || st["mode"] != "0600" {
		t.Fatalf("stat over overlay: %v", st)
	}
	if w := h.Fake().Writes(); len(w) != 0 {
		t.Fatalf("check run wrote to the host: %v", w)
	}
	if h.Node("/etc/pg/pg.conf") != nil {
		t.Fatal("file exists on the host after a check run")
	}
}

// TestDriftStopsApply: a file changed between Plan and Apply is a drift.
func TestDriftStopsApply(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	h.AddFile("/etc/a.conf", "a\n", 0o644)
	env := testEnv(h, l)
	ch, err := planOnly(t, env, "lineinfile", map[string]any{"path": "/etc/a.conf", "line": "b"})
	if err != nil {
		t.Fatal(err)
	}
	h.AddFile("/etc/a.conf", "changed\n", 0o644)
	var de *tasks.DriftError
	if err := tasks.CheckPreconditions(context.Background(), h, ch.Reads); err == nil || !asDrift(err, &de) || de.Path != "/etc/a.conf" {
		t.Fatalf("want drift, got %v", err)
	}
}

func asDrift(err error, de **tasks.DriftError) bool {
	d, ok := err.(*tasks.DriftError)
	*de = d
	return ok
}
