package core_test

// Directory copy against a real lab host through the SSH transport: a small
// local tree copied as root with owner postgres; check mode leaves the host
// alone, the real run creates the tree, a rerun changes nothing.

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

func TestLabCopyDirectory(t *testing.T) {
	const dest = "/tmp/sshplay-copydir-lab"
	_, h, _, root := labHost(t, dest)
	ctx := context.Background()

	src := filepath.Join(t.TempDir(), "conf.d")
	for p, data := range map[string]string{"a.conf": "a = 1\n", "sub/b.conf": "b = 2\n", "sub/deep/c.conf": "c = 3\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mod, _ := coreModules().Lookup("ansible.builtin.copy")
	env := &tasks.Env{Host: h.Name, Conn: root, Local: transport.Local(), Vars: map[string]any{}}
	args := map[string]any{"src": src, "dest": dest + "/", "owner": "postgres", "group": "postgres",
		"mode": "0640", "directory_mode": "0750"}

	chk := tasks.Execute(ctx, mod, env, args, tasks.ExecOptions{Check: true, Overlay: overlay.NewOverlay()})
	if chk.Status != tasks.StatusChanged || len(chk.Change.Diffs) != 3 {
		t.Fatalf("check: %v %v (%d diffs)", chk.Status, chk.Err, len(chk.Change.Diffs))
	}
	if _, err := root.Stat(ctx, dest); err == nil {
		t.Fatalf("check mode created %s", dest)
	}
	out := tasks.Execute(ctx, mod, env, args, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged {
		t.Fatalf("apply: %v %v", out.Status, out.Err)
	}
	for p, mode := range map[string]os.FileMode{
		dest: os.ModeDir | 0o750, dest + "/conf.d": os.ModeDir | 0o750, dest + "/conf.d/sub/deep": os.ModeDir | 0o750,
		dest + "/conf.d/a.conf": 0o640, dest + "/conf.d/sub/deep/c.conf": 0o640,
	} {
		fi, err := root.Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode != mode || fi.Owner != "postgres" || fi.Group != "postgres" {
			t.Errorf("%s: mode %v owner %s:%s, want %v postgres:postgres", p, fi.Mode, fi.Owner, fi.Group, mode)
		}
	}
	data, err := root.ReadFile(ctx, dest+"/conf.d/sub/b.conf")
	if err != nil || string(data) != "b = 2\n" {
		t.Errorf("b.conf %q %v", data, err)
	}
	again := tasks.Execute(ctx, mod, env, args, tasks.ExecOptions{})
	if again.Status != tasks.StatusOK || again.Change.Action != tasks.None {
		t.Errorf("rerun: %v %s %v", again.Status, again.Change.Summary, again.Err)
	}
}
