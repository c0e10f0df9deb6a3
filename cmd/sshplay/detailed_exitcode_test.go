package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/playbooks"
)

// TestDetailedExitCode: under --detailed-exitcode, as Terraform's plan has
// it, 0 is "ok, no changes", 2 only "ok, with changes" and a failed host 1;
// unreachable, bad input and interrupted keep their codes. Without the flag
// changes never show in the exit code.
func TestDetailedExitCode(t *testing.T) {
	changed := map[string]*playbooks.Stats{"a": {OK: 2, Changed: 1}, "b": {OK: 2}}
	for _, c := range []struct {
		name     string
		sum      *playbooks.Summary
		detailed bool
		want     int
	}{
		{"no changes", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {OK: 2}}}, true, exitOK},
		{"no hosts", &playbooks.Summary{}, true, exitOK},
		{"changes", &playbooks.Summary{Stats: changed}, true, exitChanges},
		{"changes without the flag", &playbooks.Summary{Stats: changed}, false, exitOK},
		{"failed host", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {Failed: 1}, "b": {Changed: 1}}}, true, exitError},
		{"failed host without the flag", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {Failed: 1}}}, false, exitHostFailed},
		{"failed and unreachable", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {Failed: 1}, "b": {Unreachable: 1}}}, true, exitError},
		{"unreachable with changes", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {Unreachable: 1}, "b": {Changed: 1}}}, true, exitUnreachable},
		{"interrupted with changes", &playbooks.Summary{Stats: changed, Interrupted: true}, true, exitInterrupted},
	} {
		err := hostsOutcome(c.sum, c.detailed)
		if got := exitCode(context.Background(), err); got != c.want {
			t.Errorf("%s: exit %d, want %d (%v)", c.name, got, c.want, err)
		}
		if err != nil && !reported(err) {
			t.Errorf("%s: main would print %q after the recap", c.name, err)
		}
	}
}

// detailedRun runs sshplay with args and fails the test unless it exits
// want.
func detailedRun(t *testing.T, want int, args ...string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != want {
		t.Errorf("sshplay %q: exit %d, want %d\n%s%s", args, code, want, stdout, stderr)
	}
}

// checkDetailedExitCode drives play and exec with --detailed-exitcode on
// the hosts of inv (group dbservers), each of which writes into its own
// file, the variable dest set by extra (-e, -b...): a check of a fresh host exits 2 and writes nothing, a
// real run exits 2, the same check afterwards 0; a failing host exits 1;
// without the flag the codes are unchanged.
func checkDetailedExitCode(t *testing.T, inv string, extra, dests []string) {
	t.Helper()
	site := filepath.Join(t.TempDir(), "site.yml")
	if err := os.WriteFile(site, []byte(`- hosts: dbservers
  tasks:
    - copy:
        content: "pending\n"
        dest: "{{ dest }}"
        mode: "0644"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	play := func(flags ...string) []string {
		return append(append([]string{"play", site, "-i", inv}, extra...), flags...)
	}
	exec := func(flags ...string) []string {
		return append(append([]string{"exec", "dbservers", "-i", inv}, extra...), flags...)
	}

	detailedRun(t, exitChanges, play("--check", "--detailed-exitcode")...)
	for _, d := range dests {
		if _, err := os.Stat(d); err == nil {
			t.Fatalf("--check --detailed-exitcode wrote %s", d)
		}
	}
	detailedRun(t, exitOK, play("--check")...) // without the flag: changes do not show
	detailedRun(t, exitChanges, play("--detailed-exitcode")...)
	for _, d := range dests {
		if b, err := os.ReadFile(d); err != nil || string(b) != "pending\n" {
			t.Errorf("after the real run %s: %q, %v", d, b, err)
		}
	}
	detailedRun(t, exitOK, play("--check", "--detailed-exitcode")...)
	detailedRun(t, exitOK, play("--detailed-exitcode", "--output", "json")...)

	detailedRun(t, exitChanges, exec("--check", "--detailed-exitcode", "-m", "file", "-a", "path={{ dest }} mode=0600")...)
	detailedRun(t, exitOK, exec("--check", "--detailed-exitcode", "-m", "file", "-a", "path={{ dest }} mode=0644")...)
	detailedRun(t, exitError, exec("--detailed-exitcode", "--", "false")...)
	detailedRun(t, exitHostFailed, exec("--", "false")...)
}

// TestDetailedExitCodeLocal runs play and exec with --detailed-exitcode
// over the local connection (no lab needed).
func TestDetailedExitCodeLocal(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "motd")
	inv := filepath.Join(dir, "hosts")
	if err := os.WriteFile(inv, []byte("[dbservers]\nlocal1 ansible_connection=local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkDetailedExitCode(t, inv, []string{"-e", "dest=" + dest}, []string{dest})
}

// TestDetailedExitCodeOnLabHosts: the same against real sshd lab hosts,
// writing as root (become) into a directory of the test.
func TestDetailedExitCodeOnLabHosts(t *testing.T) {
	l := labtest.New(t, 2)
	dir := t.TempDir()
	var dests []string
	for _, h := range l.Hosts {
		dests = append(dests, filepath.Join(dir, h.Name+".txt"))
	}
	extra := []string{"-b", "-e", "dest=" + dir + "/{{ inventory_hostname }}.txt"}
	checkDetailedExitCode(t, l.InventoryINI(), extra, dests)
}
