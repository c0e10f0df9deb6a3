package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

// Golden diffs are tasks.UnifiedDiff's output as it is today: go-difflib's
// SplitLines adds a final "\n" line, hence the trailing " \n" context line.
type moduleCase struct {
	name    string
	setup   func(h, l *tasktest.Conn)
	mod     string
	args    map[string]any
	action  tasks.Action
	summary string // exact golden summary
	diff    string // exact golden unified diff ("" = no diff checked)
	errText string // Plan error (substring)
	result  map[string]any
	// after checks the host once the change is applied.
	after func(t *testing.T, h, l *tasktest.Conn)
	// noIdem: a second plan still changes (touch, restarted, command).
	noIdem bool
}

func pgConf(h, _ *tasktest.Conn) {
	h.AddFileOwned("/etc/pg/postgresql.conf", "port = 5432\n#ssl = off\n", 0o640, "postgres", "postgres")
}

var moduleCases = []moduleCase{
	// lineinfile
	{name: "lineinfile replace by regexp", setup: pgConf, mod: "lineinfile",
		args:   map[string]any{"path": "/etc/pg/postgresql.conf", "regexp": `^#?ssl\s*=`, "line": "ssl = on"},
		action: tasks.Update, summary: "would update /etc/pg/postgresql.conf: line replaced",
		diff: "--- before: /etc/pg/postgresql.conf\n+++ after: /etc/pg/postgresql.conf\n@@ -1,2 +1,2 @@\n port = 5432\n-#ssl = off\n+ssl = on\n",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			n := h.Node("/etc/pg/postgresql.conf")
			if string(n.Data) != "port = 5432\nssl = on\n" || n.Mode.Perm() != 0o640 || n.Owner != "postgres" {
				t.Errorf("got %q %v %s", n.Data, n.Mode, n.Owner)
			}
		}},
	{name: "lineinfile already there", setup: pgConf, mod: "lineinfile",
		args:   map[string]any{"dest": "/etc/pg/postgresql.conf", "line": "port = 5432"},
		action: tasks.None, summary: "/etc/pg/postgresql.conf is up to date"},
	{name: "lineinfile missing file", mod: "lineinfile",
		args: map[string]any{"path": "/etc/x.conf", "line": "a"}, errText: "Destination /etc/x.conf does not exist !"},
	{name: "lineinfile create with parents and mode", mod: "lineinfile",
		args:   map[string]any{"path": "/etc/new/dir/x.conf", "line": "a", "create": "yes", "mode": "0600"},
		action: tasks.Create, summary: "would create /etc/new/dir/x.conf (0600, 2 bytes)",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if n := h.Node("/etc/new/dir/x.conf"); n == nil || string(n.Data) != "a\n" || n.Mode.Perm() != 0o600 {
				t.Errorf("got %+v", n)
			}
		}},
	{name: "lineinfile mode only", setup: pgConf, mod: "lineinfile",
		args:   map[string]any{"path": "/etc/pg/postgresql.conf", "line": "port = 5432", "mode": 0o600},
		action: tasks.Update, summary: "would change /etc/pg/postgresql.conf: mode 0640 → 0600",
		result: map[string]any{"msg": "ownership, perms or SE linux context changed"}},
	{name: "lineinfile backrefs without match", setup: pgConf, mod: "lineinfile",
		args:   map[string]any{"path": "/etc/pg/postgresql.conf", "regexp": `^listen_addresses`, "line": `x`, "backrefs": true},
		action: tasks.None},
	{name: "lineinfile absent", setup: pgConf, mod: "lineinfile",
		args:   map[string]any{"path": "/etc/pg/postgresql.conf", "regexp": `^#`, "state": "absent"},
		action: tasks.Update, summary: "would update /etc/pg/postgresql.conf: 1 line(s) removed",
		result: map[string]any{"found": 1}},
	{name: "lineinfile through symlink edits target", mod: "lineinfile",
		setup: func(h, _ *tasktest.Conn) {
			h.AddFile("/etc/real.conf", "a\n", 0o644)
			h.AddSymlink("/etc/link.conf", "real.conf")
		},
		args:   map[string]any{"path": "/etc/link.conf", "line": "b"},
		action: tasks.Update, summary: "would update /etc/real.conf: line added",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if h.Content("/etc/real.conf") != "a\nb\n" || h.Node("/etc/link.conf").Target != "real.conf" {
				t.Error("symlink not followed")
			}
		}},
	{name: "lineinfile unknown arg", mod: "lineinfile", args: map[string]any{"path": "/x", "lien": "a"}, errText: `unsupported argument "lien" (did you mean "line"?)`},
	{name: "lineinfile backrefs needs regexp", mod: "lineinfile", args: map[string]any{"path": "/x", "line": "a", "backrefs": true}, errText: "regexp is required with backrefs=true"},
	{name: "lineinfile exclusive", mod: "lineinfile", args: map[string]any{"path": "/x", "line": "a", "insertafter": "a", "insertbefore": "b"}, errText: "mutually exclusive: insertbefore|insertafter"},
	{name: "lineinfile on dir", mod: "lineinfile", setup: func(h, _ *tasktest.Conn) { h.AddDir("/etc/d", 0o755) },
		args: map[string]any{"path": "/etc/d", "line": "a"}, errText: "Path /etc/d is a directory !"},

	// blockinfile
	{name: "blockinfile insert", setup: pgConf, mod: "blockinfile",
		args:   map[string]any{"path": "/etc/pg/postgresql.conf", "block": "ssl = on\nssl_cert_file = 'server.crt'\n"},
		action: tasks.Update, summary: "would update /etc/pg/postgresql.conf: Block inserted",
		diff: "--- before: /etc/pg/postgresql.conf\n+++ after: /etc/pg/postgresql.conf\n@@ -1,2 +1,6 @@\n port = 5432\n #ssl = off\n+# BEGIN ANSIBLE MANAGED BLOCK\n+ssl = on\n+ssl_cert_file = 'server.crt'\n+# END ANSIBLE MANAGED BLOCK\n"},
	{name: "blockinfile absent file absent state", mod: "blockinfile",
		args: map[string]any{"path": "/etc/none", "state": "absent"}, errText: "Path /etc/none does not exist !"},
	{name: "blockinfile create", mod: "blockinfile",
		args:   map[string]any{"path": "/etc/b.conf", "block": "x", "create": true},
		action: tasks.Create, summary: "would create /etc/b.conf (0644, 60 bytes)",
		result: map[string]any{"msg": "File created"}},

	// replace
	{name: "replace all", setup: pgConf, mod: "replace",
		args:   map[string]any{"path": "/etc/pg/postgresql.conf", "regexp": `^#(ssl) = off$`, "replace": `\1 = on`, "backup": "yes"},
		action: tasks.Update, summary: "would update /etc/pg/postgresql.conf: 1 replacements made",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if h.Content("/etc/pg/postgresql.conf") != "port = 5432\nssl = on\n" {
				t.Errorf("got %q", h.Content("/etc/pg/postgresql.conf"))
			}
			if b := h.Content("/etc/pg/postgresql.conf.2024-01-02@03:04:05~"); b != "" {
				t.Errorf("backup named with fake clock, want real clock: %q", b)
			}
			found := false
			for _, w := range h.Fake().Writes() {
				if strings.HasPrefix(w, "write /etc/pg/postgresql.conf.") && strings.HasSuffix(w, "~") {
					found = true
				}
			}
			if !found {
				t.Errorf("no backup written: %v", h.Fake().Writes())
			}
		}},
	{name: "replace missing file", mod: "replace", args: map[string]any{"path": "/nope", "regexp": "a"}, errText: "Path /nope does not exist !"},

	// copy
	{name: "copy content new", mod: "copy", setup: func(h, _ *tasktest.Conn) { h.AddDir("/etc/ssl", 0o755) },
		args:   map[string]any{"content": "hello\n", "dest": "/etc/ssl/x.txt", "mode": "0600", "owner": "postgres", "group": "postgres"},
		action: tasks.Create, summary: "would create /etc/ssl/x.txt (0600, 6 bytes)",
		diff:   "--- before: /etc/ssl/x.txt\n+++ after: /etc/ssl/x.txt\n@@ -0,0 +1 @@\n+hello\n",
		result: map[string]any{"checksum": "f572d396fae9206628714fb2ce00f72e94f2258f", "dest": "/etc/ssl/x.txt"},
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			n := h.Node("/etc/ssl/x.txt")
			if string(n.Data) != "hello\n" || n.Mode.Perm() != 0o600 || n.Owner != "postgres" || n.Group != "postgres" {
				t.Errorf("got %+v", n)
			}
		}},
	{name: "copy src into dir", mod: "copy",
		setup: func(h, l *tasktest.Conn) {
			h.AddDir("/srv", 0o755)
			l.AddFile("/play/files/ca.crt", "CERT\n", 0o644)
		},
		args:   map[string]any{"src": "ca.crt", "dest": "/srv/"},
		action: tasks.Create, summary: "would create /srv/ca.crt (0644, 5 bytes)"},
	{name: "copy same content other mode", mod: "copy",
		setup:  func(h, _ *tasktest.Conn) { h.AddFile("/srv/a", "x", 0o644) },
		args:   map[string]any{"content": "x", "dest": "/srv/a", "mode": "u=rw,g=,o="},
		action: tasks.Update, summary: "would change /srv/a: mode 0644 → 0600"},
	{name: "copy force no", mod: "copy",
		setup:  func(h, _ *tasktest.Conn) { h.AddFile("/srv/a", "old", 0o644) },
		args:   map[string]any{"content": "new", "dest": "/srv/a", "force": "no"},
		action: tasks.None, summary: "/srv/a exists (force: no)"},
	{name: "copy missing parent", mod: "copy", args: map[string]any{"content": "x", "dest": "/nodir/a"}, errText: "Destination directory /nodir does not exist"},
	{name: "copy remote_src", mod: "copy",
		setup:  func(h, _ *tasktest.Conn) { h.AddFile("/srv/a", "data", 0o600) },
		args:   map[string]any{"src": "/srv/a", "dest": "/srv/b", "remote_src": true, "mode": "preserve"},
		action: tasks.Create, summary: "would create /srv/b (0600, 4 bytes)"},
	{name: "copy missing local src", mod: "copy", args: map[string]any{"src": "nope", "dest": "/tmp/x"}, errText: "could not find or access"},
	{name: "copy content and src", mod: "copy", args: map[string]any{"src": "a", "content": "b", "dest": "/tmp/x"}, errText: "mutually exclusive"},
	{name: "copy validate failing", mod: "copy", setup: func(h, _ *tasktest.Conn) {
		h.AddFile("/etc/sudoers", "ok\n", 0o440)
		h.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
			if strings.HasPrefix(cmd, "visudo -cf ") {
				return &transport.Result{ExitCode: 1, Stderr: []byte("syntax error\n")}, true
			}
			return nil, false
		})
	}, args: map[string]any{"content": "bad\n", "dest": "/etc/sudoers", "validate": "visudo -cf %s"},
		action: tasks.Update, summary: "would update /etc/sudoers"},

	// template
	{name: "template renders", mod: "template",
		setup: func(h, l *tasktest.Conn) {
			h.AddDir("/etc/pg", 0o755)
			l.AddFile("/play/templates/pg.conf.j2", "port = {{ pg_port }}\n", 0o644)
		},
		args:   map[string]any{"src": "pg.conf.j2", "dest": "/etc/pg/pg.conf"},
		action: tasks.Create, summary: "would create /etc/pg/pg.conf (0644, 12 bytes)",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if h.Content("/etc/pg/pg.conf") != "port = 5432\n" {
				t.Errorf("got %q", h.Content("/etc/pg/pg.conf"))
			}
		}},

	// fetch
	{name: "fetch to host dir", mod: "fetch",
		setup:  func(h, _ *tasktest.Conn) { h.AddFile("/etc/pg/server.crt", "CRT", 0o644) },
		args:   map[string]any{"src": "/etc/pg/server.crt", "dest": "/out"},
		action: tasks.Create, summary: "would fetch /etc/pg/server.crt to /out/db1/etc/pg/server.crt (3 bytes)",
		after: func(t *testing.T, _, l *tasktest.Conn) {
			if l.Content("/out/db1/etc/pg/server.crt") != "CRT" {
				t.Error("not fetched")
			}
		}},
	{name: "fetch flat", mod: "fetch",
		setup: func(h, l *tasktest.Conn) {
			h.AddFile("/etc/pg/server.crt", "CRT", 0o644)
			l.AddFile("/out/db1.crt", "OLD", 0o644)
		},
		args:   map[string]any{"src": "/etc/pg/server.crt", "dest": "/out/db1.crt", "flat": "yes"},
		action: tasks.Update, summary: "would update /out/db1.crt from /etc/pg/server.crt"},
	{name: "fetch missing ignored", mod: "fetch",
		args:   map[string]any{"src": "/nope", "dest": "/out", "fail_on_missing": false},
		action: tasks.None, result: map[string]any{"msg": "the remote file does not exist, not transferring, ignored"}},
	{name: "fetch missing fails", mod: "fetch", args: map[string]any{"src": "/nope", "dest": "/out"}, errText: "the remote file does not exist"},

	// file
	{name: "file directory with parents", mod: "file",
		args:   map[string]any{"path": "/srv/a/b", "state": "directory", "mode": "0750"},
		action: tasks.Create, summary: "would create directory /srv, /srv/a, /srv/a/b (0750)",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			for _, d := range []string{"/srv", "/srv/a", "/srv/a/b"} {
				if n := h.Node(d); n == nil || !n.Mode.IsDir() || n.Mode.Perm() != 0o750 {
					t.Errorf("%s: %+v", d, n)
				}
			}
		}},
	{name: "file directory exists as file", mod: "file", setup: func(h, _ *tasktest.Conn) { h.AddFile("/srv/f", "", 0o644) },
		args: map[string]any{"path": "/srv/f", "state": "directory"}, errText: "/srv/f already exists as a file"},
	{name: "file absent", mod: "file", setup: func(h, _ *tasktest.Conn) { h.AddFile("/srv/d/f", "x", 0o644) },
		args:   map[string]any{"path": "/srv/d", "state": "absent"},
		action: tasks.Delete, summary: "would remove /srv/d (directory, recursively)",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if h.Node("/srv/d") != nil || h.Node("/srv/d/f") != nil {
				t.Error("not removed")
			}
		}},
	{name: "file absent already", mod: "file", args: map[string]any{"path": "/srv/none", "state": "absent"}, action: tasks.None, summary: "/srv/none is absent"},
	{name: "file touch new", mod: "file", setup: func(h, _ *tasktest.Conn) { h.AddDir("/srv", 0o755) },
		args:   map[string]any{"path": "/srv/t", "state": "touch", "mode": "0600"},
		action: tasks.Create, summary: "would create empty file /srv/t", noIdem: true},
	{name: "file touch existing always changes", mod: "file", setup: func(h, _ *tasktest.Conn) { h.AddFile("/srv/t", "", 0o644) },
		args: map[string]any{"path": "/srv/t", "state": "touch"}, action: tasks.Update, summary: "would touch /srv/t", noIdem: true},
	{name: "file state file missing", mod: "file", args: map[string]any{"path": "/srv/none"}, errText: "file (/srv/none) is absent, cannot continue"},
	{name: "file owner change", mod: "file", setup: func(h, _ *tasktest.Conn) { h.AddFileOwned("/srv/k", "", 0o644, "sshplay", "sshplay") },
		args:   map[string]any{"path": "/srv/k", "owner": "postgres", "group": "26", "mode": "0600"},
		action: tasks.Update, summary: "would change /srv/k: mode 0644 → 0600, owner sshplay → postgres, group sshplay → 26"},
	{name: "file link", mod: "file", setup: func(h, _ *tasktest.Conn) { h.AddFile("/srv/target", "", 0o644) },
		args:   map[string]any{"path": "/srv/l", "src": "target", "state": "link"},
		action: tasks.Create, summary: "would link /srv/l -> target",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if n := h.Node("/srv/l"); n == nil || n.Target != "target" {
				t.Errorf("got %+v", n)
			}
		}},
	{name: "file link retarget", mod: "file", setup: func(h, _ *tasktest.Conn) {
		h.AddFile("/srv/t2", "", 0o644)
		h.AddSymlink("/srv/l", "t1")
	}, args: map[string]any{"path": "/srv/l", "src": "/srv/t2", "state": "link"},
		action: tasks.Update, summary: "would replace /srv/l (link to t1) with a link to /srv/t2"},
	{name: "file link missing src", mod: "file", args: map[string]any{"path": "/srv/l", "src": "/none", "state": "link"}, errText: "src file does not exist"},
	{name: "file link over file refused", mod: "file", setup: func(h, _ *tasktest.Conn) {
		h.AddFile("/srv/t", "", 0o644)
		h.AddFile("/srv/f", "", 0o644)
	}, args: map[string]any{"path": "/srv/f", "src": "/srv/t", "state": "link"}, errText: "refusing to convert from file to symlink for /srv/f"},
	{name: "file hard unsupported", mod: "file", args: map[string]any{"path": "/srv/f", "state": "hard", "src": "/x"}, errText: "state=hard is not supported"},

	// stat
	{name: "stat file", mod: "stat", setup: func(h, _ *tasktest.Conn) { h.AddFileOwned("/srv/s", "abc", 0o640, "postgres", "postgres") },
		args:   map[string]any{"path": "/srv/s", "checksum_algorithm": "sha256"},
		action: tasks.None, summary: "/srv/s exists (mode 0640)"},
	{name: "stat missing", mod: "stat", args: map[string]any{"path": "/srv/none"}, action: tasks.None, summary: "/srv/none does not exist",
		result: map[string]any{"stat": map[string]any{"exists": false}}},

	// command / shell
	{name: "command runs", mod: "command", args: map[string]any{"_raw_params": "echo 'a b' c"},
		action: tasks.Run, summary: "would run: echo 'a b' c", noIdem: true},
	{name: "command creates exists", mod: "command", setup: func(h, _ *tasktest.Conn) { h.AddFile("/srv/done", "", 0o644) },
		args:   map[string]any{"cmd": "touch /srv/done", "creates": "/srv/done"},
		action: tasks.None, summary: "skipped, since /srv/done exists", result: map[string]any{"rc": 0, "msg": "skipped, since /srv/done exists"}},
	{name: "command creates relative to chdir", mod: "command", setup: func(h, _ *tasktest.Conn) { h.AddFile("/srv/done", "", 0o644) },
		args:   map[string]any{"argv": []any{"touch", "done"}, "chdir": "/srv", "creates": "done"},
		action: tasks.None, summary: "skipped, since done exists"},
	{name: "command removes missing", mod: "command", args: map[string]any{"cmd": "rm /srv/x", "removes": "/srv/x"},
		action: tasks.None, summary: "skipped, since /srv/x does not exist"},
	{name: "command creates absent runs", mod: "command", setup: func(h, _ *tasktest.Conn) { h.AddDir("/srv", 0o755) },
		args:   map[string]any{"cmd": "touch /srv/done", "creates": "/srv/done"},
		action: tasks.Run, summary: "would run: touch /srv/done",
		after: func(t *testing.T, h, _ *tasktest.Conn) {
			if h.Node("/srv/done") == nil {
				t.Error("command did not run")
			}
		}},
	{name: "shell runs", mod: "shell", args: map[string]any{"_raw_params": "echo $HOME | wc -c"},
		action: tasks.Run, summary: "would run: echo $HOME | wc -c", noIdem: true},
	{name: "command bad quote", mod: "command", args: map[string]any{"_raw_params": "echo 'x"}, errText: "no closing quotation"},

	// service
	{name: "service start with commands", mod: "service",
		args:   map[string]any{"name": "postgresql", "state": "started", "start_command": "pgstart", "stop_command": "pgstop", "status_command": "pgstatus"},
		action: tasks.Update, summary: "would start postgresql", noIdem: true},
	{name: "service restart stop+start", mod: "service",
		args:   map[string]any{"name": "postgresql", "state": "restarted", "start_command": "pgstart", "stop_command": "pgstop", "status_command": "pgstatus"},
		action: tasks.Update, summary: "would restart postgresql", noIdem: true},
	{name: "service reload needs command", mod: "service",
		setup:   func(h, _ *tasktest.Conn) { h.AddFile("/run/pg.running", "", 0o644) },
		args:    map[string]any{"name": "postgresql", "state": "reloaded", "start_command": "pgstart", "stop_command": "pgstop", "status_command": "pgstatus"},
		errText: "state=reloaded needs reload_command"},
	{name: "service no manager", mod: "service", args: map[string]any{"name": "x", "state": "started"}, errText: "no service manager found"},
	{name: "systemd started already", mod: "systemd", setup: func(h, _ *tasktest.Conn) { systemdFake(h, map[string]bool{"postgresql": true}) },
		args: map[string]any{"name": "postgresql", "state": "started"}, action: tasks.None, summary: "postgresql is started"},
	{name: "systemd enable and restart", mod: "ansible.builtin.systemd", setup: func(h, _ *tasktest.Conn) { systemdFake(h, map[string]bool{"postgresql": true}) },
		args: map[string]any{"name": "postgresql", "state": "restarted", "enabled": "yes"}, action: tasks.Update,
		summary: "would enable postgresql, then restart postgresql", noIdem: true},

	// debug / fail / ping
	// setup: one read-only command, facts filtered
	{name: "setup gathers facts", mod: "setup", setup: func(h, _ *tasktest.Conn) {
		h.Fake().SetHandler(func(_ context.Context, _ *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
			return &transport.Result{Stdout: []byte("\n@@sshplay:os_release\nID=debian\nVERSION_ID=\"12\"\n")}, strings.Contains(cmd, "@@sshplay:")
		})
	}, args: map[string]any{"filter": "ansible_distribution"}, action: tasks.None,
		result: map[string]any{"ansible_facts": map[string]any{"ansible_distribution": "Debian"}}},
	{name: "debug msg", mod: "debug", args: map[string]any{"msg": "hi"}, action: tasks.None, summary: "hi", result: map[string]any{"msg": "hi"}},
	{name: "debug msg given as null prints null", mod: "debug", args: map[string]any{"msg": nil}, action: tasks.None, summary: "null", result: map[string]any{"msg": nil}},
	{name: "debug without msg says hello", mod: "debug", args: map[string]any{}, action: tasks.None, summary: "Hello world!", result: map[string]any{"msg": "Hello world!"}},
	{name: "debug var path", mod: "debug", args: map[string]any{"var": "nested.list[1].k"}, action: tasks.None, result: map[string]any{"nested.list[1].k": "v"}},
	{name: "debug var undefined", mod: "debug", args: map[string]any{"var": "nope"}, action: tasks.None, result: map[string]any{"nope": "VARIABLE IS NOT DEFINED!"}},
	{name: "fail", mod: "fail", args: map[string]any{"msg": "stop here"}, errText: "stop here"},
	{name: "ping", mod: "ping", args: map[string]any{}, action: tasks.None, result: map[string]any{"ping": "pong"}},
	{name: "async_status refuses a jid that is not a file name", mod: "async_status", args: map[string]any{"jid": "../x"}, errText: "not a job id"},

	// wait_for (path)
	{name: "wait_for path present", mod: "wait_for", setup: func(h, _ *tasktest.Conn) { h.AddFile("/run/pg.pid", "123\nready\n", 0o644) },
		args: map[string]any{"path": "/run/pg.pid", "search_regex": "^(re)ady$", "timeout": 5}, action: tasks.None, summary: "file /run/pg.pid is started",
		result: map[string]any{"match_groups": []string{"re"}}},
}

// systemdFake scripts systemctl on h: units in running are active.
func systemdFake(h *tasktest.Conn, running map[string]bool) {
	h.AddDir("/run/systemd/system", 0o755)
	h.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
		switch {
		case cmd == "test -d /run/systemd/system && command -v systemctl >/dev/null":
			return &transport.Result{}, true
		case strings.HasPrefix(cmd, "systemctl is-active --quiet -- "):
			if running[strings.TrimPrefix(cmd, "systemctl is-active --quiet -- ")] {
				return &transport.Result{}, true
			}
			return &transport.Result{ExitCode: 3}, true
		case strings.HasPrefix(cmd, "systemctl is-enabled --quiet -- "):
			return &transport.Result{ExitCode: 1}, true
		case strings.HasPrefix(cmd, "systemctl "):
			return &transport.Result{}, true
		}
		return nil, false
	})
}

// pgCommandFake scripts the service extension commands: pgstatus checks
// /run/pg.running, pgstart/pgstop create and remove it.
func pgCommandFake(h *tasktest.Conn) {
	h.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
		switch cmd {
		case "pgstatus":
			if c.Node("/run/pg.running") != nil {
				return &transport.Result{}, true
			}
			return &transport.Result{ExitCode: 3}, true
		case "pgstart":
			c.AddFile("/run/pg.running", "", 0o644)
			return &transport.Result{}, true
		case "pgstop":
			_ = c.Remove(ctx, "/run/pg.running")
			return &transport.Result{}, true
		case "echo $HOME | wc -c":
			return &transport.Result{Stdout: []byte("14\n")}, true
		}
		return nil, false
	})
}

func TestModulePlans(t *testing.T) {
	t.Parallel()
	for _, tc := range moduleCases {
		t.Run(tc.name, func(t *testing.T) {
			h, l := newHosts()
			h = h.Become(transport.Become{Enabled: true}).(*tasktest.Conn) // root, so chown works
			pgCommandFake(h)
			if tc.setup != nil {
				tc.setup(h, l)
			}
			env := testEnv(h, l)
			before := h.Fake().Snapshot() + l.Fake().Snapshot()
			ch, err := planOnly(t, env, tc.mod, tc.args)
			if after := h.Fake().Snapshot() + l.Fake().Snapshot(); after != before {
				t.Fatalf("Plan changed the host:\nbefore\n%s\nafter\n%s", before, after)
			}
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("want error containing %q, got %v", tc.errText, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if ch.Action != tc.action {
				t.Errorf("action %v, want %v (%s)", ch.Action, tc.action, ch.Summary)
			}
			if tc.summary != "" && ch.Summary != tc.summary {
				t.Errorf("summary\n got %q\nwant %q", ch.Summary, tc.summary)
			}
			if tc.diff != "" {
				if len(ch.Diffs) != 1 || ch.Diffs[0].Unified != tc.diff {
					var got string
					if len(ch.Diffs) > 0 {
						got = ch.Diffs[0].Unified
					}
					t.Errorf("diff\n got %q\nwant %q", got, tc.diff)
				}
			}
			for k, want := range tc.result {
				if got := ch.Result[k]; !equalish(got, want) {
					t.Errorf("result[%s] = %#v, want %#v", k, got, want)
				}
			}
			if ch.Action == tasks.None {
				if ch.Apply != nil {
					t.Error("Action None with an Apply")
				}
				return
			}
			// Apply through Execute, then plan again: nothing left to do.
			out := tasks.Execute(context.Background(), modByName(t, tc.mod), env, tc.args, tasks.ExecOptions{})
			if tc.name == "copy validate failing" {
				var f *tasks.Failed
				if out.Status != tasks.StatusFailed || !errors.As(out.Err, &f) || !strings.Contains(f.Msg, "failed to validate") || h.Content("/etc/sudoers") != "ok\n" {
					t.Fatalf("validate: got %v %v, content %q", out.Status, out.Err, h.Content("/etc/sudoers"))
				}
				return
			}
			if out.Status != tasks.StatusChanged {
				t.Fatalf("apply: status %v, err %v, result %v", out.Status, out.Err, out.Result)
			}
			if tc.after != nil {
				tc.after(t, h, l)
			}
			again, err := planOnly(t, env, tc.mod, tc.args)
			if err != nil {
				t.Fatalf("second plan: %v", err)
			}
			if !tc.noIdem && again.Action != tasks.None {
				t.Errorf("second plan: %v %s, want none", again.Action, again.Summary)
			}
		})
	}
}

func equalish(a, b any) bool {
	if m, ok := b.(map[string]any); ok {
		am, ok := a.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range m {
			if !equalish(am[k], v) {
				return false
			}
		}
		return true
	}
	if s, ok := b.([]string); ok {
		as, ok := a.([]string)
		return ok && strings.Join(as, "\x00") == strings.Join(s, "\x00")
	}
	return a == b
}

// TestCommandApply checks the registered values of a command run.
func TestCommandApply(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	env := testEnv(h, l)
	out := tasks.Execute(context.Background(), modByName(t, "command"), env, map[string]any{"_raw_params": "echo 'a  b' c"}, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged || out.Result["stdout"] != "a  b c" || out.Result["rc"] != 0 {
		t.Fatalf("got %v %v", out.Status, out.Result)
	}
	if cmd, _ := out.Result["cmd"].([]string); strings.Join(cmd, "|") != "echo|a  b|c" {
		t.Errorf("cmd = %#v", out.Result["cmd"])
	}
	if runs := h.Fake().Runs(); runs[len(runs)-1] != "echo 'a  b' c" {
		t.Errorf("sent %q", runs[len(runs)-1])
	}
	out = tasks.Execute(context.Background(), modByName(t, "command"), env, map[string]any{"_raw_params": "false"}, tasks.ExecOptions{})
	if out.Status != tasks.StatusFailed || out.Result["msg"] != "non-zero return code" || out.Result["rc"] != 1 {
		t.Fatalf("got %v %v", out.Status, out.Result)
	}
	// Check mode: a command is reported, never run.
	h.Fake().Reset()
	out = tasks.Execute(context.Background(), modByName(t, "command"), env, map[string]any{"_raw_params": "touch /x"}, tasks.ExecOptions{Check: true})
	if !out.WouldRun || len(h.Fake().Runs()) != 0 {
		t.Fatalf("check mode ran the command: %v %v", out, h.Fake().Runs())
	}
}

// TestWaitForTimeout uses a fake clock: a port that never opens times out.
func TestWaitForTimeout(t *testing.T) {
	t.Parallel()
	h, l := newHosts()
	now := time.Unix(0, 0)
	clock := waitClock{now: func() time.Time { return now }, sleep: func(ctx context.Context, d time.Duration) error { now = now.Add(d); return nil }}
	probes := 0
	h.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, _ []byte) (*transport.Result, bool) {
		if strings.HasPrefix(cmd, "timeout 5 bash -c") {
			probes++
			if strings.HasSuffix(cmd, " 127.0.0.1 5433") && probes > 3 {
				return &transport.Result{}, true
			}
			return &transport.Result{ExitCode: 1}, true
		}
		return nil, false
	})
	w := waitFor{clock: clock}
	_, err := w.Plan(context.Background(), testEnv(h, l), map[string]any{"port": 5432, "timeout": 10, "delay": 2})
	var f *tasks.Failed
	if !errors.As(err, &f) || f.Msg != "Timeout when waiting for 127.0.0.1:5432" || f.Result["elapsed"] != 10 {
		t.Fatalf("got %v", err)
	}
	ch, err := w.Plan(context.Background(), testEnv(h, l), map[string]any{"port": "5433", "timeout": 60})
	if err != nil || ch.Action != tasks.None || ch.Result["port"] != 5433 {
		t.Fatalf("got %v %v", ch, err)
	}
}
