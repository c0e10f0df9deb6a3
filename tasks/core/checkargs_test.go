package core

import (
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
)

func TestCheckArgs(t *testing.T) {
	cases := []struct {
		mod  string
		args map[string]any
		want string // "" = accepted
	}{
		{"file", map[string]any{"path": "/x", "state": "directry"}, `got "directry" (did you mean "directory"?)`},
		{"file", map[string]any{"path": "/x", "stat": "directory"}, `unsupported argument "stat" (did you mean "state"?)`},
		{"file", map[string]any{"path": []any{"a", "b"}}, "argument path must be a string"},
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
		{"stat", map[string]any{"path": "/x", "checksum_algorithm": "sha3"}, "must be one of"},
		{"fetch", map[string]any{"src": "/x", "dest": "/y", "flat": "{{ flat }}"}, ""},
		{"wait_for", map[string]any{"port": "abc"}, "must be an integer"},
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
