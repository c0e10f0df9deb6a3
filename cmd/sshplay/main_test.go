package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
)

// runCLI runs the sshplay command line in-process, as main does, and returns
// its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIStdin(t, nil, args...)
}

// runCLIStdin is runCLI with stdin (nil: none).
func runCLIStdin(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCommand(newGlobals(&out, &errb))
	root.SetArgs(args)
	if stdin != nil {
		root.SetIn(bytes.NewReader(stdin))
	}
	root.SetOut(&out)
	root.SetErr(&errb)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	if err != nil {
		errb.WriteString(err.Error() + "\n")
	}
	return exitCode(ctx, err), out.String(), errb.String()
}

func TestBadInputExitsFive(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte("[dbservers]\ndb1 ansible_host=127.0.0.99\n[web]\nw1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.ini")
	if err := os.WriteFile(bad, []byte("[dbservers]\ndb1\n[db:child]\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no match", []string{"exec", "dbx", "-i", inv, "--", "true"}, `no hosts matched "dbx"; groups: dbservers, web`},
		{"bad inventory", []string{"exec", "all", "-i", bad, "--", "true"}, `bad.ini:3: unknown section type "[db:child]"`},
		{"bad flag value", []string{"exec", "all", "-i", inv, "--host-key-checking", "maybe", "--", "true"}, "--host-key-checking"},
		{"bad forks", []string{"exec", "all", "-i", inv, "-f", "0", "--", "true"}, "--forks"},
		{"unknown flag", []string{"exec", "all", "-i", inv, "--frobnicate", "--", "true"}, "unknown flag"},
		{"no inventory", []string{"exec", "all", "--", "true"}, "no inventory"},
		{"nothing to run", []string{"exec", "all", "-i", inv}, "nothing to run"},
		{"unknown module", []string{"exec", "all", "-i", inv, "-m", "comand", "-a", "true"}, `did you mean "command"`},
		{"no raw module", []string{"exec", "all", "-i", inv, "-m", "raw", "-a", "uptime"}, `unknown module "raw"`},
		{"no script module", []string{"exec", "all", "-i", inv, "-m", "script", "-a", "x.sh"}, `unknown module "script"`},
		{"bad output", []string{"exec", "all", "-i", inv, "--output", "xml", "--", "true"}, "--output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("error is not one line: %q", stderr)
			}
		})
	}
}

// TestExecOnLabHosts runs ad-hoc commands on real sshd hosts, one of them
// stopped: the others succeed, the stopped one is unreachable, exit 4.
func TestExecOnLabHosts(t *testing.T) {
	l := labtest.New(t, 3)
	inv := l.InventoryINI()

	code, out, stderr := runCLI(t, "exec", "all", "-i", inv, "--", "echo", "hello world")
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	for _, h := range l.Hosts {
		if !strings.Contains(out, h.Name+" | CHANGED | rc=0 >>\nhello world\n") {
			t.Errorf("no output for %s in:\n%s", h.Name, out)
		}
	}
	if !strings.Contains(out, "RECAP: 3 hosts: ok=3 changed=3 failed=0 unreachable=0") {
		t.Errorf("no recap line in:\n%s", out)
	}

	// become to postgres reaches the cluster over its socket.
	code, out, _ = runCLI(t, "exec", "dbservers", "-i", inv, "-b", "--become-user", "postgres", "--", "id", "-un")
	if code != exitOK || strings.Count(out, "\npostgres\n") != 3 {
		t.Errorf("become postgres: exit %d\n%s", code, out)
	}

	// A failing command on some hosts: exit 2.
	code, out, _ = runCLI(t, "exec", "all", "-i", inv, "--", "sh -c 'test $(hostname) = nohost'")
	if code != exitHostFailed {
		t.Errorf("failing command: exit %d, want 2\n%s", code, out)
	}

	if err := l.StopHost(context.Background(), l.Hosts[1].Name); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "exec", "all", "-i", inv, "--output", "json", "--", "true")
	if code != exitUnreachable {
		t.Fatalf("one host stopped: exit %d, want 4\n%s", code, out)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--output json is not one JSON document: %v\n%s", err, out)
	}
	for i, h := range l.Hosts {
		want := `"unreachable": true`
		if i != 1 {
			want = `"rc": 0`
		}
		if !strings.Contains(jsonHostBlock(t, out, h.Name), want) {
			t.Errorf("%s: want %s in its JSON result", h.Name, want)
		}
	}
}

// jsonHostBlock returns the JSON text that follows a host's first key.
func jsonHostBlock(t *testing.T, doc, host string) string {
	t.Helper()
	i := strings.Index(doc, `"`+host+`": {`)
	if i < 0 {
		t.Fatalf("host %s not in JSON:\n%s", host, doc)
	}
	rest := doc[i:]
	if j := strings.Index(rest, "\n      }"); j > 0 {
		return rest[:j]
	}
	return rest
}

// TestPlayBadInputRunsNothing: a --limit typo and a host with a bad port
// are exit 5 before anything runs (the playbook would create a marker file
// on the control machine).
func TestPlayBadInputRunsNothing(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	inv := filepath.Join(dir, "hosts")
	if err := os.WriteFile(inv, []byte("[db]\nok1 ansible_connection=local\nbad ansible_port=99999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(pb, []byte("- hosts: db\n  tasks:\n    - file:\n        path: "+marker+"\n        state: touch\n      delegate_to: localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"limit typo", []string{"play", pb, "-i", inv, "-l", "nomatch"}, `no hosts matched "nomatch"`},
		{"bad port", []string{"play", pb, "-i", inv}, "host bad: ansible_port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 5 and %q\n%s", code, stderr, tc.want, out)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the playbook ran")
			}
		})
	}
	// The limit narrowing to the good host runs.
	if code, out, stderr := runCLI(t, "play", pb, "-i", inv, "-l", "ok1"); code != exitOK {
		t.Fatalf("play -l ok1: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("marker not created: %v", err)
	}
}
