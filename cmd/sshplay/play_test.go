package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlayBadInputAndListTasks(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.ini")
	site := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(inv, []byte("[dbservers]\ndb1 ansible_host=127.0.0.99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(site, []byte(`- hosts: dbservers
  tasks:
    - {name: install certs, command: "true", tags: [tls]}
    - {name: restart postgres, command: "true", tags: [restart]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad -e", []string{"play", site, "-i", inv, "-e", "bad"}, `-e: want k=v, a JSON/YAML mapping or @file, got "bad"`},
		{"unknown start-at-task", []string{"play", site, "-i", inv, "--start-at-task", "restart postgre"}, `did you mean "restart postgres"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want 5 and %q", code, stderr, tc.want)
			}
		})
	}
	code, out, stderr := runCLI(t, "play", site, "-i", inv, "--list-tasks", "--skip-tags", "restart")
	if code != 0 || !strings.Contains(out, "install certs") || strings.Contains(out, "restart postgres") {
		t.Errorf("--list-tasks --skip-tags restart: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "play", site, "-i", inv, "--list-tasks", "-t", "restart")
	if code != 0 || strings.Contains(out, "install certs") || !strings.Contains(out, "restart postgres") {
		t.Errorf("--list-tasks -t restart: exit %d\n%s", code, out)
	}
}
