// Command sshplay is an agentless, Ansible-style provisioner. This file only
// wires sub-commands and turns errors into exit codes; the work lives in the
// packages inventory, transport, tasks, playbooks, pg, pki and lab.
//
// Never put logic here: parsing, planning, connecting and reporting belong
// in the packages, and each command file (cmd_*.go) only fills an options
// struct and calls them. Never call os.Exit outside main: commands return
// errors (typed where the outcome matters: usageError, *hostsError,
// BadInput), and exitCode is the only place that maps them to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, as Ansible has them.
const (
	exitOK          = 0
	exitError       = 1
	exitHostFailed  = 2
	exitUnreachable = 4
	exitUsage       = 5
	exitInterrupted = 99
	// exitChanges is Terraform's "succeeded, with changes" under
	// --detailed-exitcode; it shares 2 with exitHostFailed, which is why a
	// failed host exits exitError under that flag.
	exitChanges = 2
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	force, stop := onInterrupt(cancel, os.Stderr)
	g := newGlobals(os.Stdout, os.Stderr)
	root := newRootCommand(g)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-force:
		os.Exit(exitInterrupted)
	}
	stop()
	code := exitCode(ctx, err)
	if err != nil && !reported(err) {
		fmt.Fprintln(os.Stderr, "sshplay: "+err.Error())
	}
	os.Exit(code)
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "sshplay",
		Short:         "Agentless, Ansible-style provisioner over plain SSH",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.load(cmd)
		},
		// An unknown sub-command is bad input (exit 5), not an error (1).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return usageError{errors.New(msg)}
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		Example: "  sshplay exec all -i inventory.ini -- uptime\n" +
			"  sshplay play postgres-tls -i inventory.ini --check --diff\n" +
			"  sshplay pg status -i inventory.ini\n" +
			"  sshplay lab up 3",
		// SuggestionsFor only suggests with a distance set.
		SuggestionsMinimumDistance: 2,
	}
	g.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.Version = versionLine(readBuildInfo())
	root.SetVersionTemplate("{{.Version}}\n")

	// Each command gets only the shared flags it uses: those that connect
	// get -i, -l and the SSH flags; ca reads an inventory (narrowed by -l)
	// to find its directory; inventory only reads one; lab uses none.
	execCmd, playCmd, pgCmd := newExecCommand(g), newPlayCommand(g), newPGCommand(g)
	for _, c := range []*cobra.Command{execCmd, playCmd, pgCmd} {
		g.AddInventoryFlags(c.PersistentFlags(), true)
		g.AddConnectionFlags(c.PersistentFlags())
	}
	for _, c := range []*cobra.Command{execCmd, playCmd} {
		g.AddPromptFlags(c.PersistentFlags())
		jsonErrors(c, g)
	}
	caCmd, invCmd := newCACommand(g), newInventoryCommand(g)
	g.AddInventoryFlags(caCmd.PersistentFlags(), true)
	g.AddInventoryFlags(invCmd.Flags(), false)
	root.AddCommand(
		execCmd,
		playCmd,
		invCmd,
		newLabCommand(g),
		caCmd,
		pgCmd,
		newReportCommand(g),
		newVersionCommand(g),
		newPlaybooksCommand(g),
	)
	registerCompletions(root, g)
	return root
}

// jsonErrors makes a command with --output json print the sshplay.error/v1
// document on stdout when it fails before printing its own (bad flags,
// configuration, arguments, playbook or inventory, or any other error that
// ends the run early), so that a script reading stdout always gets a
// document; main still prints the one-line message on stderr. A flag that
// cannot be parsed is caught only after --output json on the command line
// (flags are parsed in order) or with SSHPLAY_OUTPUT=json.
func jsonErrors(cmd *cobra.Command, g *globals) {
	doc := func(c *cobra.Command, err error) error {
		if err == nil || reported(err) || !wantsJSON(c) {
			return err
		}
		ctx := c.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		_ = writeJSON(g.Stdout, newErrorDoc(err, exitCode(ctx, err)))
		return err
	}
	args, run := cmd.Args, cmd.RunE
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return doc(c, usageError{err}) })
	if args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return doc(c, args(c, a)) }
	}
	// The root's hook (loading the configuration) runs from here: cobra
	// runs only the nearest PersistentPreRunE.
	cmd.PersistentPreRunE = func(c *cobra.Command, a []string) error {
		pre := c.Root().PersistentPreRunE
		if pre == nil {
			return nil
		}
		return doc(c, pre(c, a))
	}
	cmd.RunE = func(c *cobra.Command, a []string) error { return doc(c, run(c, a)) }
}

// wantsJSON says whether the command's --output is json: given on the
// command line (so far as parsed) or loaded from the configuration, else
// SSHPLAY_OUTPUT (the configuration is not read yet when a flag fails).
func wantsJSON(c *cobra.Command) bool {
	if f := c.Flags().Lookup("output"); f != nil && (f.Changed || f.Value.String() != outputText) {
		return f.Value.String() == outputJSON
	}
	return os.Getenv("SSHPLAY_OUTPUT") == outputJSON
}

// usageError marks bad command-line input: exit 5, nothing was run.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// hostsError is the outcome of a run in which some host did not finish
// well: the command has printed its report (PLAY RECAP, the exec recap, the
// pg status table) and exitCode turns the counts into 99, 2 or 4. Commands
// return it (see hostsOutcome); they never pick an exit code themselves.
//
// Under --detailed-exitcode (Detailed) a run that ended well but changed
// (or, with --check, would change) some host is also a *hostsError, with
// Changed set, so that scripts can ask "is anything pending?" from the exit
// code alone, as with `terraform plan -detailed-exitcode`.
type hostsError struct {
	Failed      int  // hosts with a failed task
	Unreachable int  // hosts that could not be reached
	Interrupted bool // the run was cancelled before it finished
	Changed     int  // hosts with a change; counted only when Detailed
	Detailed    bool // --detailed-exitcode: 0 no changes, 1 error, 2 changes
}

func (e *hostsError) Error() string {
	switch {
	case e.Interrupted:
		return "run interrupted"
	case e.Failed == 0 && e.Unreachable == 0:
		return fmt.Sprintf("%d hosts changed", e.Changed)
	}
	return fmt.Sprintf("%d hosts failed, %d unreachable", e.Failed, e.Unreachable)
}

// reported says whether the command has already told the user about err
// (a *hostsError: its report is printed), so main prints nothing more.
func reported(err error) bool {
	var he *hostsError
	return errors.As(err, &he)
}

// exitCode is the one place where an error becomes an exit code: 0 ok, 1
// error, 2 a host failed (even if others were unreachable, as
// ansible-playbook), 4 hosts unreachable and none failed, 5 bad input
// (nothing was run), 99 interrupted. Under --detailed-exitcode 2 means only
// "ended well, with changes", so a failed host is 1 there.
func exitCode(ctx context.Context, err error) int {
	var (
		ue usageError
		he *hostsError
	)
	hosts := errors.As(err, &he)
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupted
	case hosts && he.Interrupted:
		return exitInterrupted
	case hosts && he.Failed > 0 && he.Detailed:
		return exitError
	case hosts && he.Failed > 0:
		return exitHostFailed
	case hosts && he.Unreachable > 0:
		return exitUnreachable
	case hosts && he.Detailed && he.Changed > 0:
		return exitChanges
	case errors.As(err, &ue), isUsage(err):
		return exitUsage
	}
	return exitError
}
