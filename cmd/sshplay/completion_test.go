package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/internal/golden"
	"github.com/sshplay/sshplay/pki"
)

// completionInventory and completionPlaybook are the test inventory (groups
// dbservers, web, prod) and a playbook with tags on a play, tasks, a block
// and a handler.
const (
	completionInventory = "testdata/completion/inventory.ini"
	completionPlaybook  = "testdata/completion/site.yml"
)

// complete runs `sshplay __complete ARGS...` in-process, as the shell
// scripts of `sshplay completion` do on TAB, and returns its stdout: one
// completion a line (TAB, description), then ":DIRECTIVE".
func complete(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := runCLI(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if code != exitOK || !strings.Contains(stderr, "Completion ended with directive") {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, code, stderr)
	}
	return out
}

// completions returns only the completed words of complete's output.
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	var words []string
	for _, l := range strings.Split(strings.TrimSpace(complete(t, args...)), "\n") {
		if !strings.HasPrefix(l, ":") {
			words = append(words, strings.SplitN(l, "\t", 2)[0])
		}
	}
	return words
}

// TestCompletionGolden pins what TAB offers for playbook names, host
// patterns from an inventory, tags, and enum flags: the command line, then
// __complete's answer, for each case in one golden file (rewritten with
// -update).
func TestCompletionGolden(t *testing.T) {
	inv, pb := completionInventory, completionPlaybook
	cases := [][]string{
		{"play", ""},
		{"play", "po"},
		{"play", "zz"},
		{"play", "testdata/"},
		{"playbooks", "show", ""},
		{"playbooks", "show", "postgres-tls", ""},
		{"exec", "-i", inv, ""},
		{"exec", "-i", inv, "web:!d"},
		{"exec", "-i", inv, "prod,&w"},
		{"exec", "-i", inv, "db01", "--", ""},
		{"exec", "-i", "testdata/completion/no-such.ini", ""},
		{"exec", "all", ""},
		{"exec", "all", "-m", "pg_h"},
		{"play", "postgres-tls", "-i", inv, "-l", "dbservers:"},
		{"play", "postgres-tls", "--inventory=" + inv, "--limit", "@testdata/completion/in"},
		{"play", "postgres-tls", "-e", "@testdata/comp"},
		{"play", "postgres-tls", "-e", "pg_port=5"},
		{"pg", "status", "-i", inv, "--hosts", "w"},
		{"inventory", "-i", inv, "--graph", ""},
		{"inventory", "-i", inv, "--host", "d"},
		{"play", pb, "-t", ""},
		{"play", pb, "--skip-tags", "site,c"},
		{"play", pb, "--tags", "pac"},
		{"play", pb, "--output", ""},
		{"exec", "all", "--host-key-checking", ""},
		{"ca", "init", "--key-type", ""},
		{"pg", "status", "--ca-dir", ""},
		{"play", "site.yml", "-i", ""},
	}
	var b strings.Builder
	for _, args := range cases {
		fmt.Fprintf(&b, "$ sshplay __complete %s\n%s\n", shellWords(args), complete(t, args...))
	}
	golden.File(t, filepath.Join("testdata", "completion", "complete.golden"), []byte(b.String()))
}

// shellWords prints args as a shell would need them: quoted when empty
// or holding ! or &.
func shellWords(args []string) string {
	var out []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, "!&") {
			a = "'" + a + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// TestCompletionPositionalPattern: the PATTERN argument of exec and of pg
// status completes to the inventory's groups and hosts; a second argument
// does not.
func TestCompletionPositionalPattern(t *testing.T) {
	want := "db01 db02 web01"
	for _, args := range [][]string{
		{"exec", "-i", completionInventory, "d"},
		{"pg", "status", "-i", completionInventory, "d"},
	} {
		if got := strings.Join(completions(t, append(args[:len(args)-1:len(args)-1], "-l", "")...), " "); !strings.Contains(got, "dbservers prod ungrouped web "+want) {
			t.Errorf("%q -l: got %q", args, got)
		}
		if got := strings.Join(completions(t, args...), " "); got != "dbservers db01 db02" {
			t.Errorf("%q: got %q, want dbservers db01 db02", args, got)
		}
	}
}

// TestCompletionEnumFlagsEverywhere: every flag of the tree named output,
// host-key-checking, color, timings or key-type completes to its values,
// wherever a command defines it (color and timings only where they exist).
func TestCompletionEnumFlagsEverywhere(t *testing.T) {
	want := map[string]string{
		"output":            "text json",
		"host-key-checking": "strict accept-new off",
		"color":             "auto always never",
		"timings":           "auto always never",
		"key-type":          strings.Join(pki.KeyTypes, " "),
	}
	seen := map[string]int{}
	root := newRootCommand(newGlobals(os.Stdout, os.Stderr))
	for _, c := range userCommands(root) {
		for name, vals := range want {
			fl := c.Flags().Lookup(name)
			if fl == nil {
				fl = c.InheritedFlags().Lookup(name)
			}
			if fl == nil || c.HasSubCommands() {
				continue
			}
			seen[name]++
			args := append(commandArgs(c), "--"+name, "")
			if got := strings.Join(completions(t, args...), " "); got != vals {
				t.Errorf("sshplay %s: got %q, want %q", strings.Join(args, " "), got, vals)
			}
		}
	}
	for _, name := range []string{"output", "host-key-checking", "key-type"} {
		if seen[name] == 0 {
			t.Errorf("no command has --%s", name)
		}
	}
}

// TestCompletionTagsListedOnce: tags found in several playbooks are
// offered once, and the special ones after them.
func TestCompletionTagsListedOnce(t *testing.T) {
	got := completions(t, "play", completionPlaybook, completionPlaybook, "postgres-tls", "-t", "")
	want := "blocky config packages restart site web all always never tagged untagged"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCompletionOfferedByTheShellScripts: `sshplay completion SHELL`
// prints a script that calls back into __complete, for each shell.
func TestCompletionOfferedByTheShellScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, stderr := runCLI(t, "completion", sh)
		if code != exitOK || stderr != "" || !strings.Contains(out, cobra.ShellCompRequestCmd) {
			t.Errorf("completion %s: exit %d, stderr %q, script calls __complete: %v", sh, code, stderr, strings.Contains(out, cobra.ShellCompRequestCmd))
		}
	}
}

// TestCompletionRegistersOnlyExistingFlags: registering on a tree twice
// (two roots in one process) works, and the functions land on the flags
// the commands have.
func TestCompletionRegistersOnlyExistingFlags(t *testing.T) {
	for i := 0; i < 2; i++ {
		root := newRootCommand(newGlobals(os.Stdout, os.Stderr))
		play, _, err := root.Find([]string{"play"})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"output", "tags", "skip-tags", "inventory", "limit"} {
			if _, ok := play.GetFlagCompletionFunc(name); !ok {
				t.Errorf("play --%s: no completion registered", name)
			}
		}
		lab, _, _ := root.Find([]string{"lab", "up"})
		lab.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if _, ok := lab.GetFlagCompletionFunc(f.Name); ok && f.Name != "dir" {
				t.Errorf("lab up --%s: unexpected completion", f.Name)
			}
		})
	}
}

// TestCompletionPlaybookFilesBesideNames: PLAYBOOK offers the shipped
// names and the *.yml/*.yaml files of the working directory that start
// with what was typed; with no name matching, the shell completes files
// itself, filtered to those extensions.
func TestCompletionPlaybookFilesBesideNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"check-web.yml", "cheap.yaml", "chores.txt", "site.yml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("- hosts: all\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "check.yml.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, c := range []struct{ typed, want string }{
		{"ch", "check cheap.yaml check-web.yml"},
		{"", "check postgres-tls cheap.yaml check-web.yml site.yml"},
		{"s", "yml yaml"},
	} {
		if got := strings.Join(completions(t, "play", c.typed), " "); got != c.want {
			t.Errorf("play %q: got %q, want %q", c.typed, got, c.want)
		}
	}
}

// TestCompletionIgnoresABadConfigFile: a broken sshplay.yaml fails every
// command (exit 5), but TAB still completes, since completions never read
// the configuration.
func TestCompletionIgnoresABadConfigFile(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("sshplay.yaml", []byte("forks: [1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, "playbooks", "list"); code != exitUsage {
		t.Fatalf("playbooks list with a broken sshplay.yaml: exit %d, want 5", code)
	}
	if got := strings.Join(completions(t, "playbooks", "show", "po"), " "); got != "postgres-tls" {
		t.Errorf("got %q, want postgres-tls", got)
	}
	if code, out, _ := runCLI(t, cobra.ShellCompNoDescRequestCmd, "playbooks", "show", "po"); code != exitOK || out != "postgres-tls\n:4\n" {
		t.Errorf("%s: exit %d, %q", cobra.ShellCompNoDescRequestCmd, code, out)
	}
}
