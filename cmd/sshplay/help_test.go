package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/sshplay/sshplay/internal/golden"
)

// addAllGlobalFlags registers every shared flag on one flag set, as a
// command that reads an inventory and connects has them.
func addAllGlobalFlags(g *globals, f *pflag.FlagSet) {
	g.AddFlags(f)
	g.AddInventoryFlags(f, true)
	g.AddConnectionFlags(f)
}

// userCommands returns every command of the sshplay tree a user can run,
// root first, leaving out those cobra adds itself (help, completion).
func userCommands(root *cobra.Command) []*cobra.Command {
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return cmds
}

// commandArgs is the command line that reaches c, without "sshplay".
func commandArgs(c *cobra.Command) []string {
	return strings.Fields(strings.TrimPrefix(c.CommandPath(), "sshplay"))
}

// TestHelpGolden pins `sshplay <command> --help` for every command byte for
// byte, so a changed flag, usage line or example shows up in review; the
// files are rewritten with `go test ./cmd/sshplay -run TestHelpGolden -update`
// (the package's one -update flag, shared with the other golden tests).
func TestHelpGolden(t *testing.T) {
	for _, c := range userCommands(newRootCommand(newGlobals(os.Stdout, os.Stderr))) {
		args := commandArgs(c)
		name := "sshplay"
		if len(args) > 0 {
			name = strings.Join(args, "-")
		}
		t.Run(name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append(args, "--help")...)
			if code != exitOK || stderr != "" {
				t.Fatalf("%s --help: exit %d, stderr %q", c.CommandPath(), code, stderr)
			}
			golden.File(t, filepath.Join("testdata", "help", name+".golden"), []byte(out))
		})
	}
}

// TestEveryCommandHasExamples: each command's help shows 2 to 4 example
// lines, each a complete sshplay command line.
func TestEveryCommandHasExamples(t *testing.T) {
	for _, c := range userCommands(newRootCommand(newGlobals(os.Stdout, os.Stderr))) {
		lines := strings.Split(c.Example, "\n")
		if c.Example == "" || len(lines) < 2 || len(lines) > 4 {
			t.Errorf("%s: want 2-4 example lines, got %d: %q", c.CommandPath(), len(lines), c.Example)
			continue
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "  sshplay ") {
				t.Errorf("%s: example line %q does not start with \"  sshplay \"", c.CommandPath(), l)
			}
		}
	}
}

// TestConnectionFlagsOnlyOnCommandsThatConnect: exec, play and pg (status)
// take the SSH flags; the root, ca, lab, inventory and version never
// connect, so their help must not offer them.
func TestConnectionFlagsOnlyOnCommandsThatConnect(t *testing.T) {
	var conn []string
	probe := pflag.NewFlagSet("probe", pflag.ContinueOnError)
	newGlobals(nil, nil).AddConnectionFlags(probe)
	probe.VisitAll(func(f *pflag.Flag) { conn = append(conn, f.Name) })

	connects := map[string]bool{"sshplay exec": true, "sshplay play": true, "sshplay pg": true, "sshplay pg status": true}
	for _, c := range userCommands(newRootCommand(newGlobals(os.Stdout, os.Stderr))) {
		for _, name := range conn {
			has := c.LocalFlags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
			if has != connects[c.CommandPath()] {
				t.Errorf("%s: has --%s = %v, want %v", c.CommandPath(), name, has, connects[c.CommandPath()])
			}
		}
	}
}
