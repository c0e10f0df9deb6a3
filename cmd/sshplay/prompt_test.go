package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/sshplay/sshplay/transport"
)

// runCLITerminal runs the command line in-process with a terminal (a pty)
// as standard input, the answers typed into it beforehand, and returns the
// globals the run used.
func runCLITerminal(t *testing.T, answers string, args ...string) (*globals, int, string, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go func() { _, _ = bytes.NewBuffer(nil).ReadFrom(ptmx) }() // drain the echo
	if _, err := ptmx.Write([]byte(answers)); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	g := newGlobals(&out, &errb)
	g.Stdin = tty
	root := newRootCommand(g)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	if err != nil {
		errb.WriteString(err.Error() + "\n")
	}
	return g, exitCode(context.Background(), err), out.String(), errb.String()
}

// localInventory writes an inventory of one local-connection host, ctl,
// in a fresh working directory with no Ansible configuration around.
func localInventory(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	t.Chdir(dir)
	if err := os.WriteFile("inv.ini", []byte("ctl ansible_connection=local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAskPasswordsPromptOnTheTerminal: -k and -K ask once, as
// ansible-playbook asks ("SSH password: ", "BECOME password[defaults to
// SSH password]: ", empty meaning the SSH password), and the answers reach
// the connection and become settings of a host whose variables give none.
func TestAskPasswordsPromptOnTheTerminal(t *testing.T) {
	localInventory(t)
	g, code, stdout, stderr := runCLITerminal(t, "sshpw\n\n", "exec", "all", "-i", "inv.ini", "-k", "-K", "-o", "--", "echo", "hi")
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	if stderr != "SSH password: \nBECOME password[defaults to SSH password]: \n" {
		t.Errorf("prompts %q", stderr)
	}
	ov := g.transportOverrides()
	tg, _, err := transport.TargetFromVars("h", map[string]any{}, ov)
	if err != nil || tg.Password != "sshpw" {
		t.Errorf("SSH password %q, err %v", tg.Password, err)
	}
	b := transport.BecomeFromVars(map[string]any{"ansible_become": true}, ov)
	if b.Password != "sshpw" {
		t.Errorf("become password %q, want the SSH password", b.Password)
	}
	b = transport.BecomeFromVars(map[string]any{"ansible_become": true, "ansible_become_password": "inv"}, ov)
	if b.Password != "inv" {
		t.Errorf("the inventory's become password must win, got %q", b.Password)
	}
	g, code, _, stderr = runCLITerminal(t, "bpw\n", "exec", "all", "-i", "inv.ini", "-K", "-o", "--", "true")
	if code != exitOK || stderr != "BECOME password: \n" || g.becomePassword != "bpw" {
		t.Errorf("-K alone: exit %d, prompts %q, password %q", code, stderr, g.becomePassword)
	}
}

// TestPromptsRefuseWithoutTerminal: -k, -K and --step with no terminal to
// ask on are bad input (exit 5) before anything runs.
func TestPromptsRefuseWithoutTerminal(t *testing.T) {
	localInventory(t)
	if err := os.WriteFile("site.yml", []byte("- hosts: all\n  tasks:\n    - command: touch ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"exec", "all", "-i", "inv.ini", "-k", "--", "touch", "ran"},
		{"play", "site.yml", "-i", "inv.ini", "-K"},
		{"play", "site.yml", "-i", "inv.ini", "--step"},
	} {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		g := newGlobals(&out, &errb)
		g.Stdin = devnull
		root := newRootCommand(g)
		root.SetArgs(args)
		err = root.ExecuteContext(context.Background())
		devnull.Close()
		if code := exitCode(context.Background(), err); code != exitUsage || !strings.Contains(err.Error(), "standard input is not a terminal") {
			t.Errorf("%v: exit %d, %v", args, code, err)
		}
		if _, err := os.Stat("ran"); err == nil {
			t.Fatalf("%v ran a task", args)
		}
	}
}

// TestStepAsksBeforeEachTask: --step asks "Perform task: TASK: NAME
// (N)o/(y)es/(c)ontinue: " before each task, as ansible-playbook does: n
// (or nothing) skips it, y runs it, c runs it and every later one without
// asking.
func TestStepAsksBeforeEachTask(t *testing.T) {
	dir := localInventory(t)
	pb := "- hosts: all\n  tasks:\n"
	for _, n := range []string{"one", "two", "three", "four"} {
		pb += "    - name: " + n + "\n      command: touch " + filepath.Join(dir, n) + "\n"
	}
	if err := os.WriteFile("site.yml", []byte(pb), 0o644); err != nil {
		t.Fatal(err)
	}
	_, code, stdout, stderr := runCLITerminal(t, "n\ny\nc\n", "play", "site.yml", "-i", "inv.ini", "--step")
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	wantPrompts := "Perform task: TASK: one (N)o/(y)es/(c)ontinue: " +
		"Perform task: TASK: two (N)o/(y)es/(c)ontinue: " +
		"Perform task: TASK: three (N)o/(y)es/(c)ontinue: "
	if stderr != wantPrompts {
		t.Errorf("prompts:\n%q\nwant:\n%q", stderr, wantPrompts)
	}
	for n, want := range map[string]bool{"one": false, "two": true, "three": true, "four": true} {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != want {
			t.Errorf("task %s ran: %v, want %v", n, err == nil, want)
		}
	}
}
