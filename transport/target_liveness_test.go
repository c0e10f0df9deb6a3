package transport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeepaliveAndRetriesFromSettings: the keepalive comes from
// ServerAliveInterval / ServerAliveCountMax (ssh args, then ssh_config,
// else 15 s × 3) and the retries from ansible_ssh_retries, then
// ConnectionAttempts (args, then ssh_config; attempts = retries + 1), then
// --retries, else 0 as in Ansible.
func TestKeepaliveAndRetriesFromSettings(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("Host cfg*\n  ServerAliveInterval 7\n  ServerAliveCountMax 5\n  ConnectionAttempts 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		host     string
		vars     map[string]any
		flag     int
		interval time.Duration
		count    int
		retries  int
	}{
		{"defaults", "db1", nil, 0, 15 * time.Second, 3, 0},
		{"--retries", "db1", nil, 2, 15 * time.Second, 3, 2},
		{"ssh_config", "cfg1", nil, 4, 7 * time.Second, 5, 1},
		{"ssh args beat ssh_config", "cfg1", map[string]any{"ansible_ssh_common_args": "-o ServerAliveInterval=2 -o ServerAliveCountMax=4 -o ConnectionAttempts=3"}, 0, 2 * time.Second, 4, 2},
		{"ansible_ssh_retries beats ConnectionAttempts", "cfg1", map[string]any{"ansible_ssh_retries": 4}, 0, 7 * time.Second, 5, 4},
		{"keepalive off", "db1", map[string]any{"ansible_ssh_extra_args": "-o ServerAliveInterval=0"}, 0, 0, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, warns, err := TargetFromVars(tc.host, tc.vars, Overrides{SSHConfigFile: cfg, Retries: tc.flag})
			if err != nil || len(warns) != 0 {
				t.Fatalf("err %v, warnings %q", err, warns)
			}
			if tg.KeepaliveInterval != tc.interval || tg.KeepaliveCountMax != tc.count || tg.Retries != tc.retries {
				t.Errorf("keepalive %s × %d, retries %d; want %s × %d, retries %d",
					tg.KeepaliveInterval, tg.KeepaliveCountMax, tg.Retries, tc.interval, tc.count, tc.retries)
			}
		})
	}
	for vars, want := range map[string]string{
		"ansible_ssh_retries=-1":                 `ansible_ssh_retries: invalid count "-1"`,
		"-o ServerAliveCountMax=x":               `ssh option ServerAliveCountMax: invalid count "x"`,
		"-o ConnectionAttempts=0":                `ssh option ConnectionAttempts: invalid count "0"`,
		"-o ServerAliveInterval=soon":            `ssh option ServerAliveInterval: invalid time "soon"`,
		"-o ServerAliveInterval=1 -o Bogus=1 -v": "",
	} {
		v := map[string]any{"ansible_ssh_common_args": vars}
		if k, val, ok := strings.Cut(vars, "="); ok && !strings.HasPrefix(vars, "-") {
			v = map[string]any{k: val}
		}
		_, _, err := TargetFromVars("db1", v, Overrides{SSHConfigFile: "none"})
		var te *TargetError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", vars, err)
		case want != "" && (!errors.As(err, &te) || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want a bad-input error with %q", vars, err, want)
		}
	}
}
