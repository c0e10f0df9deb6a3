// Command sshplay is an agentless, Ansible-style provisioner. This file only
// wires sub-commands and turns errors into exit codes; the work lives in the
// packages inventory, transport, tasks, playbooks, pg, pki and lab.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := newGlobals(os.Stdout, os.Stderr)
	root := newRootCommand(g)
	err := root.ExecuteContext(ctx)
	code := exitCode(ctx, err)
	var es exitStatusError
	if err != nil && !errors.Is(err, errSilent) && !errors.As(err, &es) {
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
		// SuggestionsFor only suggests with a distance set.
		SuggestionsMinimumDistance: 2,
	}
	g.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newExecCommand(g),
		newPlayCommand(g),
		newInventoryCommand(g),
		newLabCommand(g),
		newCACommand(g),
		newPGCommand(g),
	)
	return root
}

// usageError marks bad command-line input: exit 5, nothing was run.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitStatusError carries an exit code decided by a command that has already
// printed its own report (host failed, unreachable).
type exitStatusError struct{ code int }

func (e exitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errSilent marks an error already reported to the user.
var errSilent = errors.New("already reported")

func exitCode(ctx context.Context, err error) int {
	var (
		ue usageError
		es exitStatusError
	)
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &es):
		return es.code
	case errors.As(err, &ue), isUsage(err):
		return exitUsage
	}
	return exitError
}
