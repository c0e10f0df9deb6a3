package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"al.essio.dev/pkg/shellescape"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/playbooks"
)

// execOptions are the flags of `sshplay exec` (Ansible's ad-hoc command).
type execOptions struct {
	Module    string
	Args      string
	ExtraVars []string
	Vault     vaultOptions
	Check     bool
	Diff      bool
	Output    runOutput
	// OneLine is -o/--one-line: each host's result on one line.
	OneLine bool
	// DetailedExitcode makes the exit code say whether anything changed.
	DetailedExitcode bool
}

// AddFlags registers the exec command's flags.
func (o *execOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.Module, "module-name", "m", "", "module to run (default: command, or shell when the command uses shell syntax)")
	f.StringVarP(&o.Args, "args", "a", "", "module arguments: k=v k2='a b' (free text for command/shell)")
	f.StringArrayVarP(&o.ExtraVars, "extra-vars", "e", nil, "extra variables: k=v, a JSON/YAML mapping, or @file (repeatable)")
	f.BoolVarP(&o.Check, "check", "C", false, "plan only: show what would change, change nothing")
	f.BoolVarP(&o.Diff, "diff", "D", false, "show the diff of every file change")
	o.Output.AddFlags(f)
	o.Vault.AddFlags(f)
	f.BoolVarP(&o.OneLine, "one-line", "o", false, "print each host's result on one line, as Ansible's -o does")
	f.BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, detailedExitcodeHelp)
}

func newExecCommand(g *globals) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec PATTERN [-m MODULE -a ARGS | -- COMMAND...]",
		Short: "Run one command or one module on every host matching PATTERN, in parallel",
		Example: "  sshplay exec all -i inventory.ini -- uptime\n" +
			"  sshplay exec 'dbservers:!db03' -i inv.yml -b --become-user postgres -- psql -XAtc 'show ssl'\n" +
			"  sshplay exec web -i inv.ini -m lineinfile -a 'path=/etc/motd line=hello' --check --diff",
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			var pattern string
			var command []string
			switch {
			case dash == 0 || len(args) == 0:
				return usageError{errors.New("exec: give a host pattern (e.g. all) before the command")}
			case dash < 0:
				pattern, command = args[0], args[1:]
			case dash == 1:
				pattern, command = args[0], args[1:]
			default:
				return usageError{fmt.Errorf("exec: one host pattern before --, got %q", strings.Join(args[:dash], " "))}
			}
			return runExec(cmd.Context(), g, opts, pattern, command)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runExec(ctx context.Context, g *globals, opts execOptions, pattern string, command []string) error {
	if err := opts.Output.check(); err != nil {
		return err
	}
	ctx, err := opts.Vault.vaultContext(ctx, g)
	if err != nil {
		return err
	}
	mod, args, err := execModule(opts, command)
	if err != nil {
		return err
	}
	if len(g.Inventories) == 0 {
		return usageError{errors.New("exec: no inventory given (use -i)")}
	}
	extra, err := parseExtraVars(ctx, opts.ExtraVars)
	if err != nil {
		return err
	}
	inv, err := inventory.LoadContext(ctx, g.Inventories)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	// Resolve the pattern and limit before connecting anywhere: a typo must
	// exit 5 with the groups listed, never look like success.
	hosts, err := inv.Match(pattern)
	if err != nil {
		return err
	}
	hosts, err = g.limitHosts(inv, hosts)
	if err != nil {
		return err
	}
	if err := validateTargets(inv, hosts, g); err != nil {
		return err
	}
	if err := g.promptPasswords(g.Stdin); err != nil {
		return err
	}
	eo, closeAll, err := runEngineOptions(g, &invAdapter{inv: inv, limit: g.Limit, shard: g.shard}, opts.Output)
	if err != nil {
		return err
	}
	defer closeAll()
	eo.Modules = newRegistry()
	eo.Check, eo.Diff, eo.ExtraVars = opts.Check, opts.Diff, extra
	sum, err := playbooks.Adhoc(ctx, playbooks.AdhocOptions{Options: eo, Pattern: pattern, Module: mod, Args: args, OneLine: opts.OneLine})
	if err != nil {
		return err
	}
	if opts.Output.Format == outputText && !opts.OneLine {
		printExecRecap(g.Stdout, sum)
	}
	if eo.Log != nil {
		printExecRecap(eo.Log, sum)
	}
	return hostsOutcome(sum, opts.DetailedExitcode)
}

// execModule is the module and arguments exec runs: -m/-a, or the command
// after -- (command, or shell for one word with shell syntax).
func execModule(opts execOptions, command []string) (mod, args string, err error) {
	mod, args = opts.Module, opts.Args
	switch {
	case len(command) > 0 && (mod != "" || args != ""):
		return "", "", usageError{errors.New("exec: give either -m/-a or a command after --, not both")}
	case len(command) > 0:
		args = joinCommand(command)
		mod = "command"
		if len(command) == 1 && needsShell(command[0]) {
			mod = "shell" // `-- 'a | b'` is one shell line, as a user means it
		}
	case mod == "" && args == "":
		return "", "", usageError{errors.New("exec: nothing to run: give -m MODULE [-a ARGS] or -- COMMAND")}
	case mod == "":
		mod = "command"
	}
	return mod, args, nil
}

// printExecRecap prints one line with the counters of the JSON document's
// "stats", added up over the hosts: one result per host, so ok counts the
// hosts that succeeded, changed or not (as Ansible counts ok), and changed,
// failed, unreachable and skipped the hosts that did so. A host with no
// result (the run was interrupted before it) counts as not run, and an
// interrupted run says so.
func printExecRecap(w io.Writer, sum *playbooks.Summary) {
	var total playbooks.Stats
	notRun := 0
	for _, h := range sum.Hosts {
		st := sum.Stats[h]
		if st == nil || *st == (playbooks.Stats{}) {
			notRun++
			continue
		}
		total.OK += st.OK
		total.Changed += st.Changed
		total.Failed += st.Failed
		total.Unreachable += st.Unreachable
		total.Skipped += st.Skipped
	}
	line := fmt.Sprintf("RECAP: %d hosts: ok=%d changed=%d failed=%d unreachable=%d skipped=%d",
		len(sum.Hosts), total.OK, total.Changed, total.Failed, total.Unreachable, total.Skipped)
	if notRun > 0 {
		line += fmt.Sprintf(" not_run=%d", notRun)
	}
	if sum.Interrupted {
		line += " interrupted"
	}
	fmt.Fprintf(w, "%s (%.2fs)\n", line, sum.Duration.Seconds())
}

// joinCommand turns the words after -- back into one command line for the
// command module, quoting each word with shellescape so that the module's
// shell-like split gives the same words back.
func joinCommand(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return shellescape.QuoteCommand(words)
}

// needsShell reports whether a one-word command line uses shell syntax that
// the command module would pass literally.
func needsShell(s string) bool { return strings.ContainsAny(s, "|&;<>()$`*?~") }
