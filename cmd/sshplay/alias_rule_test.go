package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/yamlx/yamlxtest"
)

// TestAliasBombExitsFiveAndRunsNothing: a billion laughs in a playbook, a
// vars file, an inventory or sshplay.yaml is bad input: exit 5, one line
// naming file:line:col of the alias, and the playbook (which would create
// a marker file on the control machine) never runs.
func TestAliasBombExitsFiveAndRunsNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	marker := filepath.Join(dir, "ran")
	tasks := "  tasks:\n    - file:\n        path: " + marker + "\n        state: touch\n      delegate_to: localhost\n"
	files := map[string]string{
		"inv.ini":      "[db]\nctl ansible_connection=local\n",
		"bomb-inv.yml": "all:\n  vars:\n" + yamlxtest.Laughs(7, "    ") + "  hosts:\n    ctl: {ansible_connection: local}\n",
		"bomb.yml":     "- hosts: all\n  vars:\n" + yamlxtest.Laughs(7, "    ") + tasks,
		"vars.yml":     yamlxtest.Laughs(7, ""),
		"site.yml":     "- hosts: all\n" + tasks,
		"config.yml":   "forks: 3\n" + yamlxtest.Laughs(7, ""),
	}
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{"playbook vars", "", []string{"play", "bomb.yml", "-i", "inv.ini"}, "bomb.yml:9:14: excessive aliasing: alias *l5"},
		{"-e @file", "", []string{"play", "site.yml", "-i", "inv.ini", "-e", "@vars.yml"}, "vars.yml:7:10: excessive aliasing: alias *l5"},
		{"inventory", "", []string{"play", "site.yml", "-i", "bomb-inv.yml"}, "bomb-inv.yml:9:14: excessive aliasing: alias *l5"},
		{"inventory --list", "", []string{"inventory", "--list", "-i", "bomb-inv.yml"}, "bomb-inv.yml:9:14: excessive aliasing: alias *l5"},
		{"sshplay.yaml", "config.yml", []string{"play", "site.yml", "-i", "inv.ini"}, "sshplay.yaml:8:10: excessive aliasing: alias *l5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.config != "" {
				if err := os.Rename(tc.config, "sshplay.yaml"); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = os.Rename("sshplay.yaml", tc.config) }()
			}
			code, out, stderr := runCLI(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q\n%s", code, stderr, exitUsage, tc.want, out)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("error is not one line: %q", stderr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the playbook ran")
			}
		})
	}
	if code, out, stderr := runCLI(t, "play", "site.yml", "-i", "inv.ini"); code != exitOK {
		t.Fatalf("the same run without a bomb: exit %d\n%s%s", code, out, stderr)
	}
}
