package core

// Directory copy (copy with a directory src) on fake hosts: "dir/" copies
// the contents, "dir" the directory itself, nested directories are created
// (directory_mode), each changed file gets its own diff, check mode writes
// nothing and its overlay makes a second plan a no-op, and a plan after the
// real run finds nothing to do.

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

func addTree(l *tasktest.Conn) {
	l.AddFile("/play/files/conf/a.conf", "a = 1\n", 0o640)
	l.AddFile("/play/files/conf/sub/b.conf", "b = 2\n", 0o644)
	l.AddFile("/play/files/conf/sub/deep/c.conf", "c = 3\n", 0o600)
}

func TestCopyDirectory(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(h, l *tasktest.Conn)
		root    bool // run as root
		args    map[string]any
		diffs   int               // diffs in the plan
		want    map[string]string // dest file → content after the run
		modes   map[string]fs.FileMode
		owners  map[string]string
		absent  []string
		msg     string // substring of the registered msg
		errText string
	}{
		{name: "trailing slash copies contents", setup: func(h, l *tasktest.Conn) { addTree(l) },
			args:  map[string]any{"src": "conf/", "dest": "/home/sshplay/app"},
			diffs: 3,
			want: map[string]string{"/home/sshplay/app/a.conf": "a = 1\n", "/home/sshplay/app/sub/b.conf": "b = 2\n",
				"/home/sshplay/app/sub/deep/c.conf": "c = 3\n"},
			absent: []string{"/home/sshplay/app/conf"}},
		{name: "no slash copies the directory", setup: func(h, l *tasktest.Conn) { addTree(l) },
			args:  map[string]any{"src": "conf", "dest": "/home/sshplay/app/", "directory_mode": "0750", "mode": "preserve"},
			diffs: 3,
			want:  map[string]string{"/home/sshplay/app/conf/a.conf": "a = 1\n", "/home/sshplay/app/conf/sub/deep/c.conf": "c = 3\n"},
			modes: map[string]fs.FileMode{"/home/sshplay/app/conf": fs.ModeDir | 0o750, "/home/sshplay/app/conf/sub/deep": fs.ModeDir | 0o750,
				"/home/sshplay/app/conf/a.conf": 0o640, "/home/sshplay/app/conf/sub/deep/c.conf": 0o600}},
		{name: "existing tree: one diff per changed file", setup: func(h, l *tasktest.Conn) {
			addTree(l)
			h.AddFile("/home/sshplay/app/a.conf", "a = 1\n", 0o644)
			h.AddFile("/home/sshplay/app/sub/b.conf", "b = 0\n", 0o644)
			h.AddDir("/home/sshplay/app/sub", 0o700)
		},
			args:  map[string]any{"src": "conf/", "dest": "/home/sshplay/app", "directory_mode": "0755", "backup": true},
			diffs: 2,
			want:  map[string]string{"/home/sshplay/app/sub/b.conf": "b = 2\n", "/home/sshplay/app/sub/deep/c.conf": "c = 3\n"},
			// directory_mode only applies to new directories
			modes: map[string]fs.FileMode{"/home/sshplay/app/sub": fs.ModeDir | 0o700, "/home/sshplay/app/sub/deep": fs.ModeDir | 0o755}},
		{name: "as root with owner", root: true, setup: func(h, l *tasktest.Conn) { addTree(l) },
			args:   map[string]any{"src": "conf/", "dest": "/srv/pg", "owner": "postgres", "group": "postgres", "mode": "0600"},
			diffs:  3,
			want:   map[string]string{"/srv/pg/sub/b.conf": "b = 2\n"},
			modes:  map[string]fs.FileMode{"/srv/pg/sub/b.conf": 0o600},
			owners: map[string]string{"/srv/pg": "postgres", "/srv/pg/sub": "postgres", "/srv/pg/sub/b.conf": "postgres"}},
		{name: "symlinks followed by default", setup: func(h, l *tasktest.Conn) {
			addTree(l)
			l.AddFile("/elsewhere/shared/d.conf", "d = 4\n", 0o644)
			l.AddSymlink("/play/files/conf/link.conf", "a.conf")
			l.AddSymlink("/play/files/conf/shared", "/elsewhere/shared")
		},
			args:  map[string]any{"src": "conf/", "dest": "/home/sshplay/app"},
			diffs: 5,
			want:  map[string]string{"/home/sshplay/app/link.conf": "a = 1\n", "/home/sshplay/app/shared/d.conf": "d = 4\n"}},
		{name: "local_follow false skips symlinks", setup: func(h, l *tasktest.Conn) {
			addTree(l)
			l.AddSymlink("/play/files/conf/link.conf", "a.conf")
		},
			args:   map[string]any{"src": "conf/", "dest": "/home/sshplay/app", "local_follow": false},
			diffs:  3,
			want:   map[string]string{"/home/sshplay/app/a.conf": "a = 1\n"},
			absent: []string{"/home/sshplay/app/link.conf"},
			msg:    "skipped 1 symlink(s)"},
		{name: "remote_src directory", setup: func(h, l *tasktest.Conn) {
			h.AddFile("/home/sshplay/src/x.conf", "x\n", 0o644)
			h.AddFile("/home/sshplay/src/in/y.conf", "y\n", 0o644)
		},
			args:  map[string]any{"src": "/home/sshplay/src", "dest": "/home/sshplay/dst", "remote_src": true},
			diffs: 2,
			want:  map[string]string{"/home/sshplay/dst/src/x.conf": "x\n", "/home/sshplay/dst/src/in/y.conf": "y\n"}},
		{name: "dest is a file", setup: func(h, l *tasktest.Conn) {
			addTree(l)
			h.AddFile("/home/sshplay/app", "x", 0o644)
		},
			args: map[string]any{"src": "conf/", "dest": "/home/sshplay/app"}, errText: "exists and is not a directory"},
		{name: "checksum with a directory", setup: func(h, l *tasktest.Conn) { addTree(l) },
			args: map[string]any{"src": "conf/", "dest": "/home/sshplay/app", "checksum": "abc"}, errText: "checksum can not be used"},
		{name: "bad directory_mode", args: map[string]any{"src": "conf/", "dest": "/x", "directory_mode": "u=zz"}, errText: "directory_mode"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, l := newHosts()
			if tc.setup != nil {
				tc.setup(h, l)
			}
			env := testEnv(h, l)
			if tc.root {
				env.Conn = h.Become(transport.Become{Enabled: true})
			}
			mod := modByName(t, "copy")
			h.Fake().Reset()

			// Check mode: reports the change, one diff per changed file,
			// writes nothing; a second plan over its overlay is a no-op.
			ov := overlay.NewOverlay()
			chk := tasks.Execute(ctx, mod, env, tc.args, tasks.ExecOptions{Check: true, Overlay: ov})
			if tc.errText != "" {
				if chk.Status != tasks.StatusFailed || !strings.Contains(chk.Result["msg"].(string), tc.errText) {
					t.Fatalf("want failure %q, got %v %v", tc.errText, chk.Status, chk.Result["msg"])
				}
				return
			}
			if chk.Status != tasks.StatusChanged {
				t.Fatalf("check: %v %v", chk.Status, chk.Err)
			}
			if w := h.Fake().Writes(); len(w) != 0 {
				t.Fatalf("check mode wrote %v", w)
			}
			if got := len(chk.Change.Diffs); got != tc.diffs {
				t.Errorf("%d diffs, want %d: %+v", got, tc.diffs, chk.Change.Diffs)
			}
			for _, d := range chk.Change.Diffs {
				if d.Unified == "" || !strings.HasPrefix(d.Unified, "--- before: ") {
					t.Errorf("diff for %s: %q", d.Path, d.Unified)
				}
			}
			if again := tasks.Execute(ctx, mod, env, tc.args, tasks.ExecOptions{Check: true, Overlay: ov}); again.Status != tasks.StatusOK {
				t.Errorf("second check over the overlay: %v %s %v", again.Status, summary(again), again.Err)
			}
			if tc.msg != "" && !strings.Contains(chk.Result["msg"].(string), tc.msg) {
				t.Errorf("msg %q, want %q", chk.Result["msg"], tc.msg)
			}

			// Real run, then a plan finds nothing to do.
			out := tasks.Execute(ctx, mod, env, tc.args, tasks.ExecOptions{})
			if out.Status != tasks.StatusChanged {
				t.Fatalf("apply: %v %v", out.Status, out.Err)
			}
			for p, want := range tc.want {
				if got := h.Content(p); got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
			for p, want := range tc.modes {
				if n := h.Node(p); n == nil || n.Mode != want {
					t.Errorf("%s mode %+v, want %v", p, n, want)
				}
			}
			for p, want := range tc.owners {
				if n := h.Node(p); n == nil || n.Owner != want || n.Group != want {
					t.Errorf("%s owner %+v, want %s", p, n, want)
				}
			}
			for _, p := range tc.absent {
				if h.Node(p) != nil {
					t.Errorf("%s exists", p)
				}
			}
			files, _ := out.Result["changed_files"].([]string)
			if len(files) != tc.diffs || out.Result["dest"] == nil {
				t.Errorf("result %v", out.Result)
			}
			plan, err := planOnly(t, env, "copy", tc.args)
			if err != nil || plan.Action != tasks.None {
				t.Errorf("plan after apply: %v %v", plan, err)
			}
		})
	}
}

// A file changed between plan and apply stops the directory copy.
func TestCopyDirectoryDrift(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	addTree(l)
	h.AddFile("/home/sshplay/app/a.conf", "old\n", 0o644)
	env := testEnv(h, l)
	args := map[string]any{"src": "conf/", "dest": "/home/sshplay/app"}
	ch, err := planOnly(t, env, "copy", args)
	if err != nil || ch.Action != tasks.Update {
		t.Fatalf("plan: %v %v", ch, err)
	}
	h.AddFile("/home/sshplay/app/a.conf", "changed behind our back\n", 0o644)
	err = tasks.CheckPreconditions(context.Background(), h, ch.Reads)
	if _, ok := err.(*tasks.DriftError); !ok {
		t.Fatalf("want drift, got %v", err)
	}
}
