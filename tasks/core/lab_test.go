package core_test

// Core modules against a real lab host (OpenSSH sshd + PostgreSQL) through
// the SSH transport: applied as the login user and with become to root and
// postgres, a second plan must find nothing to do, and modes and owners
// must be kept. Skips without lab support; fails when CI is set.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/core"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

func labConn(t *testing.T, l *lab.Lab, h lab.Host) transport.Conn {
	t.Helper()
	pool := transport.NewPool(transport.PoolOptions{Overrides: transport.Overrides{SSHConfigFile: "none"}})
	t.Cleanup(func() { pool.Close() })
	c, err := pool.Conn(context.Background(), h.Name, map[string]any{
		"ansible_host":                 h.Addr,
		"ansible_port":                 h.SSHPort,
		"ansible_user":                 "sshplay",
		"ansible_ssh_private_key_file": l.KeyFile(),
		"ansible_ssh_common_args":      "-o UserKnownHostsFile=" + l.KnownHostsFile() + " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
	})
	if err != nil {
		t.Fatalf("connect %s: %v", h.Name, err)
	}
	return c
}

// coreModules is a registry of the core modules, as cmd/sshplay
// registers them.
func coreModules() *tasks.Registry {
	r := tasks.NewRegistry()
	core.Register(r)
	return r
}

// labHost brings up one lab host and returns its login connection and a root view of it. The paths in clean
// are removed (as root) before the test and again after it.
func labHost(t *testing.T, clean ...string) (l *lab.Lab, h lab.Host, conn, root transport.Conn) {
	t.Helper()
	l = labtest.New(t, 1)
	h = l.Hosts[0]
	conn = labConn(t, l, h)
	root = conn.Become(transport.Become{Enabled: true})
	if len(clean) > 0 {
		rm := "rm -rf --"
		for _, p := range clean {
			rm += " " + shellescape.Quote(p)
		}
		if _, err := root.Run(context.Background(), rm, transport.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Run(context.Background(), rm, transport.RunOptions{}) })
	}
	return l, h, conn, root
}

type labStep struct {
	name     string
	as       string // "" login user, "root", "postgres"
	mod      string
	args     map[string]any
	want     tasks.Status
	idem     bool // a second plan must be a no-op
	mode     os.FileMode
	owner    string
	statPath string
}

func TestLabCoreModules(t *testing.T) {
	_, h, conn, root := labHost(t, "/tmp/sshplay-core-lab", "/etc/sshplay-core-lab.conf")
	ctx := context.Background()
	t.Cleanup(func() {
		root.Run(context.Background(), "rm -f -- "+shellescape.Quote(h.DataDir+"/sshplay-core-lab.conf"), transport.RunOptions{})
	})
	local := t.TempDir()
	d := "/tmp/sshplay-core-lab/sub"
	pgFile := h.DataDir + "/sshplay-core-lab.conf"
	steps := []labStep{
		{name: "ping", mod: "ping", args: map[string]any{}, want: tasks.StatusOK},
		{name: "mkdir as login user", mod: "file", args: map[string]any{"path": d, "state": "directory", "mode": "0750"},
			want: tasks.StatusChanged, idem: true, mode: os.ModeDir | 0o750, owner: "sshplay", statPath: d},
		{name: "copy content", mod: "copy", args: map[string]any{"content": "port = 5432\n#ssl = off\n", "dest": d + "/pg.conf", "mode": "0640"},
			want: tasks.StatusChanged, idem: true, mode: 0o640, owner: "sshplay", statPath: d + "/pg.conf"},
		{name: "lineinfile", mod: "lineinfile", args: map[string]any{"path": d + "/pg.conf", "regexp": `^#?ssl\s*=`, "line": "ssl = on"},
			want: tasks.StatusChanged, idem: true, mode: 0o640, owner: "sshplay", statPath: d + "/pg.conf"},
		{name: "blockinfile", mod: "blockinfile", args: map[string]any{"path": d + "/pg.conf", "block": "ssl_cert_file = 'server.crt'"},
			want: tasks.StatusChanged, idem: true, mode: 0o640, statPath: d + "/pg.conf"},
		{name: "replace with backup", mod: "replace", args: map[string]any{"path": d + "/pg.conf", "regexp": `^port = (\d+)$`, "replace": `port = 5433`, "backup": true},
			want: tasks.StatusChanged, idem: true, mode: 0o640, statPath: d + "/pg.conf"},
		{name: "stat", mod: "stat", args: map[string]any{"path": d + "/pg.conf"}, want: tasks.StatusOK},
		{name: "command creates", mod: "command", args: map[string]any{"argv": []any{"touch", "marker"}, "chdir": d, "creates": "marker"},
			want: tasks.StatusChanged, idem: true},
		{name: "shell", mod: "shell", args: map[string]any{"_raw_params": "echo $((6*7)) | tr 4 X", "chdir": d}, want: tasks.StatusChanged},
		{name: "symlink", mod: "file", args: map[string]any{"path": d + "/link", "src": "pg.conf", "state": "link"}, want: tasks.StatusChanged, idem: true},
		{name: "fetch", mod: "fetch", args: map[string]any{"src": d + "/pg.conf", "dest": local}, want: tasks.StatusChanged, idem: true},
		{name: "copy as root owned by postgres", as: "root", mod: "copy",
			args: map[string]any{"content": "a = 1\n", "dest": "/etc/sshplay-core-lab.conf", "owner": "postgres", "group": "postgres", "mode": "0600"},
			want: tasks.StatusChanged, idem: true, mode: 0o600, owner: "postgres", statPath: "/etc/sshplay-core-lab.conf"},
		{name: "lineinfile as root keeps owner", as: "root", mod: "lineinfile", args: map[string]any{"path": "/etc/sshplay-core-lab.conf", "line": "b = 2"},
			want: tasks.StatusChanged, idem: true, mode: 0o600, owner: "postgres", statPath: "/etc/sshplay-core-lab.conf"},
		{name: "lineinfile as postgres in data dir", as: "postgres", mod: "lineinfile", args: map[string]any{"path": pgFile, "line": "ssl = on", "create": true, "mode": "0600"},
			want: tasks.StatusChanged, idem: true, mode: 0o600, owner: "postgres", statPath: pgFile},
		{name: "chown tree as root", as: "root", mod: "file", args: map[string]any{"path": "/tmp/sshplay-core-lab", "state": "directory", "owner": "postgres", "recurse": true},
			want: tasks.StatusChanged, idem: true, owner: "postgres", statPath: d + "/pg.conf"},
		{name: "wait_for postgres port", mod: "wait_for", args: map[string]any{"host": h.Addr, "port": h.PGPort, "timeout": 10}, want: tasks.StatusOK},
		{name: "service by commands", as: "root", mod: "service", args: map[string]any{"name": "fake",
			"state": "started", "start_command": "touch /tmp/sshplay-core-lab/running", "stop_command": "rm -f /tmp/sshplay-core-lab/running",
			"status_command": "test -e /tmp/sshplay-core-lab/running"}, want: tasks.StatusChanged, idem: true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c := conn
			if s.as != "" {
				c = conn.Become(transport.Become{Enabled: true, User: s.as})
			}
			mod, ok := coreModules().Lookup("ansible.builtin." + s.mod)
			if !ok {
				t.Fatalf("no module %s", s.mod)
			}
			env := &tasks.Env{Host: h.Name, Conn: c, Local: transport.Local(), Vars: map[string]any{},
				Render: func(s string) (string, error) { return s, nil }}
			// Check mode first: it must report the change and leave the host alone.
			ov := overlay.NewOverlay()
			chk := tasks.Execute(ctx, mod, env, s.args, tasks.ExecOptions{Check: true, Overlay: ov})
			if chk.Status == tasks.StatusFailed {
				t.Fatalf("check: %v", chk.Err)
			}
			out := tasks.Execute(ctx, mod, env, s.args, tasks.ExecOptions{})
			if out.Status != s.want {
				t.Fatalf("status %v, want %v: %v %v", out.Status, s.want, out.Err, out.Result)
			}
			if s.want == tasks.StatusChanged && s.mod != "command" && s.mod != "shell" && chk.Status != tasks.StatusChanged {
				t.Errorf("check mode said %v, the real run changed", chk.Status)
			}
			if s.mod == "shell" && out.Result["stdout"] != "X2" {
				t.Errorf("shell stdout %q", out.Result["stdout"])
			}
			if s.idem {
				again := tasks.Execute(ctx, mod, env, s.args, tasks.ExecOptions{Check: true})
				if again.Status != tasks.StatusOK || again.Change.Action != tasks.None {
					t.Errorf("second plan: %v %s", again.Status, again.Change.Summary)
				}
			}
			if s.statPath != "" {
				fi, err := c.Stat(ctx, s.statPath)
				if err != nil {
					t.Fatal(err)
				}
				if s.mode != 0 && fi.Mode != s.mode {
					t.Errorf("mode %v, want %v", fi.Mode, s.mode)
				}
				if s.owner != "" && fi.Owner != s.owner {
					t.Errorf("owner %s, want %s", fi.Owner, s.owner)
				}
			}
		})
	}
	data, err := os.ReadFile(filepath.Join(local, h.Name, d, "pg.conf"))
	if err != nil || !strings.Contains(string(data), "port = 5433\nssl = on\n") {
		t.Errorf("fetched %q %v", data, err)
	}
	res, err := root.Run(ctx, fmt.Sprintf("ls %s | grep -c 'pg.conf\\..*~$'", d), transport.RunOptions{})
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "1" {
		t.Errorf("backup files: %q %v", res.Stdout, err)
	}
}
