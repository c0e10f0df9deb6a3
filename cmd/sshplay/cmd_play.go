package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// playOptions are the flags of `sshplay play`.
type playOptions struct {
	ExtraVars     []string
	Vault         vaultOptions
	Check         bool
	Diff          bool
	Tags          []string
	SkipTags      []string
	StartAtTask   string
	ForceHandlers bool
	Output        runOutput
	// Timings is auto, always or never (playbooks.Options.Timings).
	Timings   string
	ListHosts bool
	ListTasks bool
	ListTags  bool
	// Step asks before each task whether to run it (--step).
	Step        bool
	SyntaxCheck bool
	// DetailedExitcode makes the exit code say whether anything changed.
	DetailedExitcode bool
	CADir            string // --ca-dir: the tls_ca_dir of every host (playCADir)
}

// AddFlags registers the play command's flags.
func (o *playOptions) AddFlags(f *pflag.FlagSet) {
	f.StringArrayVarP(&o.ExtraVars, "extra-vars", "e", nil, "extra variables: k=v, a JSON/YAML mapping, or @file (repeatable)")
	f.BoolVarP(&o.Check, "check", "C", false, "plan only: show what would change, change nothing")
	f.BoolVarP(&o.Diff, "diff", "D", false, "show the diff of every file change")
	f.StringSliceVarP(&o.Tags, "tags", "t", nil, "only run tasks with these tags")
	f.StringSliceVar(&o.SkipTags, "skip-tags", nil, "skip tasks with these tags")
	f.StringVar(&o.StartAtTask, "start-at-task", "", "start at the task with this name")
	f.BoolVar(&o.ForceHandlers, "force-handlers", false, "run notified handlers even on hosts that failed")
	o.Output.AddFlags(f)
	o.Vault.AddFlags(f)
	f.StringVar(&o.Timings, "timings", playbooks.TimingsAuto, "show task durations, each host's total and the slowest tasks: auto (runs over 30s), always or never")
	f.BoolVar(&o.ListHosts, "list-hosts", false, "list the hosts each play would run on, and exit")
	f.BoolVar(&o.ListTasks, "list-tasks", false, "list the tasks each play would run, and exit")
	f.BoolVar(&o.ListTags, "list-tags", false, "list the tags of each play's tasks, and exit")
	f.BoolVar(&o.Step, "step", false, "ask before each task: (N)o, (y)es or (c)ontinue without asking")
	f.BoolVar(&o.SyntaxCheck, "syntax-check", false, "check the playbooks and exit")
	f.BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, detailedExitcodeHelp)
	f.StringVar(&o.CADir, "ca-dir", "", playCADirHelp)
}

func newPlayCommand(g *globals) *cobra.Command {
	var opts playOptions
	cmd := &cobra.Command{
		Use:   "play PLAYBOOK...",
		Short: "Run playbooks (a file, or the name of a playbook shipped with sshplay)",
		Example: "  sshplay play postgres-tls -i inventory.ini --check --diff     # the plan, per host\n" +
			"  sshplay play postgres-tls -i inventory.ini -l 'db0*'          # do it\n" +
			"  sshplay play site.yml -i inventory.ini -e @vars.yml -t config",
		Long: "Run Ansible-shaped playbooks over SSH. PLAYBOOK is a file path, or NAME / NAME.yml of a\n" +
			"playbook shipped inside sshplay (" + strings.Join(playbooks.EmbeddedNames(), ", ") + ").\n" +
			"Each play gathers facts first (one command per host) unless it says gather_facts: false.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("play: give at least one playbook")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlay(cmd.Context(), g, opts, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// check refuses output flag values no run knows (exit 5).
func (o *playOptions) check() error {
	if err := o.Output.check(); err != nil {
		return err
	}
	if !slices.Contains(playbooks.TimingsModes(), o.Timings) {
		return usageError{fmt.Errorf("--timings: want %s, got %q", strings.Join(playbooks.TimingsModes(), ", "), o.Timings)}
	}
	return nil
}

func runPlay(ctx context.Context, g *globals, opts playOptions, args []string) error {
	if err := opts.check(); err != nil {
		return err
	}
	ctx, err := opts.Vault.vaultContext(ctx, g)
	if err != nil {
		return err
	}
	mods := newRegistry()
	extra, err := parseExtraVars(ctx, opts.ExtraVars)
	if err != nil {
		return err
	}
	pbs, err := loadPlaybooks(ctx, g, mods, args)
	defer playbooks.CleanupEmbedded()
	if err != nil {
		return err
	}
	if opts.SyntaxCheck {
		for _, pb := range pbs {
			fmt.Fprintf(g.Stdout, "\nplaybook: %s\n", pb.Path)
		}
		return nil
	}
	if len(g.Inventories) == 0 {
		return usageError{errors.New("play: no inventory given (use -i)")}
	}
	inv, err := inventory.LoadContext(ctx, g.Inventories)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	ad := &invAdapter{inv: inv, limit: g.Limit, shard: g.shard}
	if err := checkPlayTargets(inv, pbs, g, extra); err != nil {
		return err
	}
	if err := playCADir(inv, pbs, g, opts.CADir, extra); err != nil {
		return err
	}
	if opts.ListHosts || opts.ListTasks || opts.ListTags {
		return playbooks.List(g.Stdout, pbs, ad, playbooks.ListOptions{
			Hosts: opts.ListHosts, Tasks: opts.ListTasks, ListTags: opts.ListTags, Tags: opts.Tags, SkipTags: opts.SkipTags, ExtraVars: extra,
		})
	}
	return runPlayEngine(ctx, g, opts, ad, mods, pbs, extra)
}

// loadPlaybooks loads the playbooks named on the command line (files, or
// shipped names), roles found on the roles path.
func loadPlaybooks(ctx context.Context, g *globals, mods *tasks.Registry, args []string) ([]*playbooks.Playbook, error) {
	var pbs []*playbooks.Playbook
	for _, a := range args {
		pb, err := playbooks.LoadWith(ctx, mods, a, playbooks.LoadOptions{RolesPath: g.RolesPath})
		if err != nil {
			return nil, err
		}
		pbs = append(pbs, pb)
	}
	return pbs, nil
}

// runPlayEngine asks what must be asked on the terminal (--step, -k, -K),
// then runs the playbooks with the engine and turns the summary into the
// command's outcome.
func runPlayEngine(ctx context.Context, g *globals, opts playOptions, ad *invAdapter, mods *tasks.Registry, pbs []*playbooks.Playbook, extra map[string]any) error {
	step, err := playStep(g, opts.Step)
	if err != nil {
		return err
	}
	if err := g.promptPasswords(g.Stdin); err != nil {
		return err
	}
	eo, closeAll, err := runEngineOptions(g, ad, opts.Output)
	if err != nil {
		return err
	}
	defer closeAll()
	eo.Timings = opts.Timings
	eo.Modules = mods
	eo.RolesPath = g.RolesPath
	eo.Check, eo.Diff = opts.Check, opts.Diff
	eo.ExtraVars = extra
	eo.Tags, eo.SkipTags = opts.Tags, opts.SkipTags
	eo.StartAtTask = opts.StartAtTask
	eo.ForceHandlers = opts.ForceHandlers
	eo.Step = step
	sum, err := playbooks.Run(ctx, pbs, eo)
	if err != nil {
		return err
	}
	return hostsOutcome(sum, opts.DetailedExitcode)
}

// detailedExitcodeHelp is the help of --detailed-exitcode on play and exec.
const detailedExitcodeHelp = "exit 0 when no host changed (or, with --check, would change), 2 when some did, 1 when a host failed; 4, 5 and 99 as without it"

// hostsOutcome is nil when every host of the run is fine (and, when
// detailed, none changed), else the *hostsError that says how it ended.
func hostsOutcome(sum *playbooks.Summary, detailed bool) error {
	e := &hostsError{Failed: sum.Failed(), Unreachable: sum.Unreachable(), Interrupted: sum.Interrupted}
	if detailed {
		e.Detailed, e.Changed = true, sum.Changed()
	}
	if e.Failed == 0 && e.Unreachable == 0 && !e.Interrupted && e.Changed == 0 {
		return nil
	}
	return e
}

// checkPlayTargets runs before anything connects: a --limit that matches no
// host of the inventory is a typo (exit 5, not a quiet "no hosts"), and every
// host a play will reach must have valid connection settings. A limit that
// leaves one play without hosts only skips that play, as in Ansible.
func checkPlayTargets(inv *inventory.Inventory, pbs []*playbooks.Playbook, g *globals, extra map[string]any) error {
	if g.Limit != "" {
		if _, err := inv.Limit(inv.Hosts(), g.Limit); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	var hosts []*inventory.Host
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			matched, err := playHosts(inv, play, g, extra)
			if err != nil {
				return err
			}
			for _, h := range matched {
				if !seen[h.Name] {
					seen[h.Name] = true
					hosts = append(hosts, h)
				}
			}
		}
	}
	return validateTargets(inv, hosts, g)
}

// playHosts is the hosts play will run on: its hosts: rendered as the
// engine renders it (Play.Pattern), narrowed by -l and --shard. A limit
// that leaves the play no host gives none: the play is skipped, as in
// Ansible.
func playHosts(inv *inventory.Inventory, play *playbooks.Play, g *globals, extra map[string]any) ([]*inventory.Host, error) {
	pattern, err := play.Pattern(extra)
	if err != nil {
		return nil, err
	}
	matched, err := inv.Match(pattern)
	if p := strings.TrimSpace(pattern); err != nil && (p == "localhost" || p == "127.0.0.1") {
		return nil, nil // Ansible's implicit localhost: runs locally, no target to check
	}
	if err != nil {
		return nil, &playError{Pos: play.Pos, err: fmt.Errorf("hosts %q: %w", pattern, err)}
	}
	matched, err = g.limitHosts(inv, matched)
	var nm *inventory.NoMatchError
	if errors.As(err, &nm) {
		return nil, nil
	}
	return matched, err
}

// runEngineOptions are engineOptions with the run's output flags applied:
// colour as --color decides and the log file opened. The returned function
// closes the pool and the log. The only error is a log file that cannot be
// opened; then nothing is left open.
func runEngineOptions(g *globals, inv playbooks.Inventory, out runOutput) (playbooks.Options, func(), error) {
	logw, closeLog, err := openLog(out.LogFile)
	if err != nil {
		return playbooks.Options{}, nil, err
	}
	eo, closePool := engineOptions(g, inv, out.Format)
	eo.Color = useColor(out.Color, g.Stdout, os.Getenv)
	eo.Log = logw
	eo.Gathering = playbooks.GatherImplicit // gather_facts defaults to true, as in Ansible
	if g.Gathering != "" {
		eo.Gathering = g.Gathering // ansible.cfg gathering / ANSIBLE_GATHERING
	}
	return eo, func() { closePool(); closeLog() }, nil
}

// engineOptions builds the engine's options from the global flags: the
// inventory, the SSH connection pool, forks, become, output (colour under
// --color=auto). The returned function closes the pool. `sshplay exec`
// uses it too.
//
// The pool itself does not trace: at -vvv the engine traces each task's
// operations to stderr with secrets masked and no_log commands hidden.
func engineOptions(g *globals, inv playbooks.Inventory, format string) (playbooks.Options, func()) {
	po := g.poolOptions()
	po.Trace = nil
	pool := transport.NewPool(po)
	return playbooks.Options{
		Inventory: inv,
		Connector: pool,
		Local:     transport.Local(),
		Become: func(vars map[string]any) transport.Become {
			return transport.BecomeFromVars(vars, transport.Overrides{BecomePassword: g.becomePassword})
		},
		BecomeDefault: g.Become,
		BecomeUser:    g.BecomeUser,
		Forks:         g.Forks,
		TaskTimeout:   time.Duration(g.TaskTimeout) * time.Second,
		Verbose:       g.Verbose,
		Trace:         g.Stderr,
		Out:           g.Stdout,
		Format:        format,
		Color:         useColor(colorAuto, g.Stdout, os.Getenv),
		Progress:      interactive(g.Stdout, os.Getenv),
	}, func() { _ = pool.Close() }
}

func parseExtraVars(ctx context.Context, args []string) (map[string]any, error) {
	out := map[string]any{}
	for _, a := range args {
		m, err := playbooks.ParseExtraVarsContext(ctx, a)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// invAdapter gives the engine the inventory with --limit applied.
type invAdapter struct {
	inv   *inventory.Inventory
	limit string
	shard inventory.Shard // --shard, applied after the limit (globals.limitHosts)
}

func (a *invAdapter) Hosts(pattern string) ([]string, error) {
	hs, err := a.inv.Match(pattern)
	if err != nil {
		return nil, err
	}
	hs, err = a.inv.Limit(hs, a.limit)
	hs = a.shard.Apply(hs)
	var nm *inventory.NoMatchError
	if errors.As(err, &nm) {
		return nil, nil // the limit leaves this play no host: it is skipped
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out, nil
}

func (a *invAdapter) HostVars(host string) map[string]any { return a.inv.HostVars(host) }
func (a *invAdapter) Groups() map[string][]string         { return a.inv.GroupHosts() }

// HostVarLayers lets the engine put the playbook's group_vars and
// host_vars between the inventory's levels, as Ansible does.
func (a *invAdapter) HostVarLayers(host string) (inventory.VarLayers, bool) {
	return a.inv.HostVarLayers(host)
}

// playError is an error about a play, at its position in the playbook
// ("site.yml:3:3: hosts ...", and the error document's file, line and
// column); it unwraps to the cause, whose kind decides the exit code.
type playError struct {
	playbooks.Pos
	err error
}

func (e *playError) Error() string { return e.Pos.String() + ": " + e.err.Error() }
func (e *playError) Unwrap() error { return e.err }
