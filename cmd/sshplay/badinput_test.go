package main

// The command layer's guards: bad connection settings exit 5 before
// anything runs, unknown commands and config keys are bad input, the recap
// never counts unrun hosts as ok, inventory output masks secrets, exec
// quotes words with shellescape.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/playbooks"
)

// TestBadConnectionVarsRunNothing: one host has a bad connection setting,
// another (local) would create a marker file: exit 5, one line naming the
// bad host and where it is defined, and the marker never appears.
func TestBadConnectionVarsRunNothing(t *testing.T) {
	for _, tc := range []struct{ name, vars, want string }{
		{"port", "ansible_port=99999", `invalid port "99999"`},
		{"unclosed quote", `ansible_ssh_common_args="-o 'User=x"`, "ansible_ssh_common_args"},
		{"winrm", "ansible_connection=winrm", `unsupported connection type "winrm"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			marker := filepath.Join(dir, "ran")
			inv := filepath.Join(dir, "inventory.ini")
			text := "[db]\nctl ansible_connection=local\nbad ansible_host=127.0.0.1 " + tc.vars + "\n"
			if err := os.WriteFile(inv, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, "exec", "all", "-i", inv, "--", "touch", marker)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			for _, want := range []string{"inventory.ini:3: host bad:", tc.want} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("error is not one line: %q", stderr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran on the good host")
			}
			// Limited to the good host, it runs.
			code, _, stderr = runCLI(t, "exec", "all", "-i", inv, "-l", "ctl", "--", "touch", marker)
			if _, err := os.Stat(marker); code != exitOK || err != nil {
				t.Errorf("-l ctl: exit %d, marker %v, stderr %q", code, err, stderr)
			}
		})
	}
}

func TestUnknownCommandExitsFive(t *testing.T) {
	code, _, stderr := runCLI(t, "exce", "all")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "exce"`) || !strings.Contains(stderr, `did you mean "exec"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestUnknownConfigKeyExitsFive(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	inv := filepath.Join(dir, "inv.ini")
	if err := os.WriteFile(inv, []byte("[db]\nctl ansible_connection=local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A key of another command (check, of play/exec) is fine.
	if err := os.WriteFile("sshplay.yaml", []byte("forks: 3\ncheck: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "inventory", "-i", inv, "--graph"); code != exitOK {
		t.Fatalf("known keys: exit %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile("sshplay.yaml", []byte("forkz: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "inventory", "-i", inv, "--graph")
	if code != exitUsage || !strings.Contains(stderr, `sshplay.yaml: unknown key "forkz" (did you mean "forks"?)`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestExecRecapInterrupted(t *testing.T) {
	var b bytes.Buffer
	printExecRecap(&b, &playbooks.Summary{
		Hosts:       []string{"a", "b", "c"},
		Stats:       map[string]*playbooks.Stats{"a": {OK: 1}, "b": {}},
		Interrupted: true,
		Duration:    time.Second,
	})
	want := "RECAP: 3 hosts: ok=1 changed=0 failed=0 unreachable=0 skipped=0 not_run=2 interrupted (1.00s)\n"
	if b.String() != want {
		t.Errorf("recap %q, want %q", b.String(), want)
	}
}

func TestInventoryShowSecrets(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inv.ini")
	if err := os.WriteFile(inv, []byte("[db]\ndb1 ansible_password=hunter2 ansible_become_pass=s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--list"}, {"--host", "db1"}} {
		code, out, _ := runCLI(t, append([]string{"inventory", "-i", inv}, args...)...)
		if code != exitOK || strings.Contains(out, "hunter2") || strings.Contains(out, "s3cret") || !strings.Contains(out, `"********"`) {
			t.Errorf("%v: exit %d, secrets not masked:\n%s", args, code, out)
		}
		code, out, _ = runCLI(t, append([]string{"inventory", "-i", inv, "--show-secrets"}, args...)...)
		if code != exitOK || !strings.Contains(out, "hunter2") {
			t.Errorf("%v --show-secrets: exit %d:\n%s", args, code, out)
		}
	}
}

func TestJoinCommandQuotes(t *testing.T) {
	got := joinCommand([]string{"echo", "it's", "a b", "", "$HOME"})
	want := `echo 'it'"'"'s' 'a b' '' '$HOME'`
	if got != want {
		t.Errorf("joinCommand = %s, want %s", got, want)
	}
}
