package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

func TestCheckArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mod  string
		args map[string]any
		want string // "" = accepted
	}{
		{"file", map[string]any{"path": "/x", "state": "directry"}, `got "directry" (did you mean "directory"?)`},
		{"file", map[string]any{"path": "/x", "stat": "directory"}, `unsupported argument "stat" (did you mean "state"?)`},
		{"file", map[string]any{"path": []any{"a", "b"}}, "file: path: want a string, got a list"},
		{"file", map[string]any{"path": "/x", "state": "{{ want_state }}", "mode": "{{ m }}"}, ""},
		{"file", map[string]any{"path": "/x", "state": "link"}, "src is required for state=link"},
		{"file", map[string]any{"path": "/x", "mode": "u=rwz"}, "mode"},
		{"copy", map[string]any{"content": "x", "dest": "/x", "force": "maybe"}, "not a valid boolean"},
		{"copy", map[string]any{"content": "x", "dest": "{{ d }}", "force": "{{ f }}", "owner": "{{ o }}"}, ""},
		{"copy", map[string]any{"dest": "/x"}, "src (or content) is required"},
		{"template", map[string]any{"src": "a.j2", "dst": "/x"}, `did you mean "dest"?`},
		{"command", map[string]any{"_raw_params": "echo hi", "creates": "/x", "chdir": "/tmp"}, ""},
		{"command", map[string]any{"_raw_params": "echo 'hi", "creates": "/x"}, "no closing quotation"},
		{"command", map[string]any{"cmd": "ls", "craetes": "/x"}, `did you mean "creates"?`},
		{"shell", map[string]any{"_raw_params": "{{ script }}"}, ""},
		{"lineinfile", map[string]any{"path": "/x", "line": "a", "state": "presnt"}, `did you mean "present"?`},
		{"lineinfile", map[string]any{"path": "/x"}, "line is required"},
		{"blockinfile", map[string]any{"path": "/x", "block": "a", "state": "{{ s }}"}, ""},
		{"replace", map[string]any{"path": "/x"}, "missing required argument: regexp"},
		{"stat", map[string]any{"path": "/x", "checksum_algorithm": "sha3"}, "want one of md5, sha1"},
		{"fetch", map[string]any{"src": "/x", "dest": "/y", "flat": "{{ flat }}"}, ""},
		{"wait_for", map[string]any{"port": "abc"}, `wait_for: port: want an integer, got "abc"`},
		{"wait_for", map[string]any{"port": "{{ pg_port }}", "timeout": 10}, ""},
		{"wait_for", map[string]any{"port": 70000}, "out of range"},
		{"service", map[string]any{"name": "pg", "state": "start"}, `did you mean "started"?`},
		{"service", map[string]any{"name": "pg"}, "one of the following is required: state, enabled"},
		{"systemd", map[string]any{"name": "pg", "state": "{{ s }}", "daemon_reload": true}, ""},
	}
	for _, tc := range cases {
		m := modByName(t, tc.mod)
		ac, ok := m.(tasks.ArgChecker)
		if !ok {
			t.Fatalf("%s does not implement tasks.ArgChecker", tc.mod)
		}
		err := ac.CheckArgs(tc.args)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %v: unexpected error %v", tc.mod, tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %v: got %v, want error containing %q", tc.mod, tc.args, err, tc.want)
		}
	}
}

// TestCheckStaticConn: the static check hands Plan a Conn that stops the
// module at its first host access (success), and no longer hides panics.
func TestCheckStaticConn(t *testing.T) {
	t.Parallel()
	var seen error
	reach := func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
		if _, err := args.Parse("probe", raw, "path"); err != nil {
			return nil, err
		}
		_, err := env.Conn.Become(transport.Become{Enabled: true}).Stat(ctx, "/x")
		seen = err
		if err != nil {
			return nil, fmt.Errorf("host %s: stat /x: %w", env.Conn.Host(), err)
		}
		return nil, args.Errorf("probe", "", "reached past the host")
	}
	if err := checkStatic(reach, map[string]any{"path": "/x"}); err != nil || !errors.Is(seen, args.ErrStatic) {
		t.Fatalf("host access: CheckArgs %v, conn gave %v", err, seen)
	}
	if err := checkStatic(reach, map[string]any{"paht": "/x"}); err == nil || !strings.Contains(err.Error(), `did you mean "path"`) {
		t.Fatalf("bad argument before the host: %v", err)
	}
	for name, f := range map[string]func(env *tasks.Env) error{
		"run": func(env *tasks.Env) error {
			_, err := env.Conn.Run(context.Background(), "true", transport.RunOptions{})
			return err
		},
		"read": func(env *tasks.Env) error { _, err := env.Local.ReadFile(context.Background(), "/x"); return err },
		"write": func(env *tasks.Env) error {
			return env.Conn.WriteFile(context.Background(), "/x", nil, transport.WriteOptions{})
		},
		"remove": func(env *tasks.Env) error { return env.Conn.Remove(context.Background(), "/x") },
		"render": func(env *tasks.Env) error { _, err := env.Render("{{ x }}"); return err },
		"find":   func(env *tasks.Env) error { _, err := env.FindFile("files", "x"); return err },
	} {
		var got error
		err := checkStatic(func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
			got = f(env)
			return nil, got
		}, map[string]any{})
		if err != nil || !errors.Is(got, args.ErrStatic) {
			t.Errorf("%s: CheckArgs %v, got %v", name, err, got)
		}
	}
	// A real nil-pointer bug in a module is no longer swallowed.
	defer func() {
		if recover() == nil {
			t.Error("panic in Plan was hidden")
		}
	}()
	var nilEnv *tasks.Env
	_ = checkStatic(func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
		return nil, nilEnv.Conn.Close()
	}, map[string]any{})
}

// TestCheckArgsEveryModule: each checking module runs its static check on
// common argument shapes without panicking (no recover hides one now).
func TestCheckArgsEveryModule(t *testing.T) {
	t.Parallel()
	shapes := []map[string]any{
		{},
		{"path": "/x", "dest": "/y", "src": "/z", "content": "c", "name": "n", "state": "present"},
		{"_raw_params": "echo hi", "remote_src": true, "src": "/a", "dest": "/b", "line": "l", "regexp": "r", "port": 22, "block": "b"},
		{"path": "{{ p }}", "dest": "{{ d }}", "src": "{{ s }}", "name": "{{ n }}", "state": "{{ s }}"},
	}
	for name, m := range Modules() {
		ac, ok := m.(tasks.ArgChecker)
		if !ok {
			continue
		}
		for _, raw := range shapes {
			err := ac.CheckArgs(raw)
			var ae *args.Error
			if err != nil && !errors.As(err, &ae) {
				t.Errorf("%s %v: CheckArgs returned a non-argument error %v", name, raw, err)
			}
		}
	}
}
