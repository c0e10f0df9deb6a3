package playbooks

// The engine's entry point: Run, what it needs (Options: the modules, the
// inventory, the connections) and what it gives back (a Summary: PLAY
// RECAP's counters), and the runner, the state of one run, with its loop
// over the plays. A play is run in play.go, a task in task.go.

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/sshplay/sshplay/internal/syncio"
	"github.com/sshplay/sshplay/internal/vault"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// Inventory is what the engine needs of an inventory. The command adapts
// inventory.Inventory to it (applying --limit in Hosts).
type Inventory interface {
	// Hosts returns the names matching a pattern, in inventory order.
	Hosts(pattern string) ([]string, error)
	// HostVars returns a host's variables, magic variables included
	// (inventory_hostname, group_names, inventory_dir, ...).
	HostVars(host string) map[string]any
	// Groups maps each group name to its hosts (the groups variable).
	Groups() map[string][]string
}

// Connector opens (or reuses) the one connection of a host for the run
// (transport.Pool in production).
type Connector interface {
	// Conn returns the connection to host, dialled with the host's
	// variables (ansible_host, ansible_port, ansible_user, keys, ...). The
	// engine calls it from many goroutines at once, one per host of a
	// batch, so implementations must be safe for concurrent use. When the
	// host cannot be reached (dial, SSH handshake, host key, authentication,
	// ctx cancelled) the error is a *transport.UnreachableError naming the
	// host; the engine reports any other error as unreachable too, wrapping
	// it, since a host without a connection can run nothing. Conn never
	// returns a nil Conn with a nil error. The engine does not close the
	// Conn: its owner (the pool) does, after the run.
	Conn(ctx context.Context, host string, vars map[string]any) (transport.Conn, error)
}

// Options say how to run playbooks.
type Options struct {
	// Modules are the modules tasks may use: the registry the playbooks
	// were parsed with. Required.
	Modules   *tasks.Registry
	Inventory Inventory
	// Vault decrypts the vault data the run reads (vars_files); what it
	// reveals is masked in the output. Nil: the keyring Run's ctx carries.
	Vault     *vault.Keyring
	Connector Connector
	// Gathering is Ansible's gathering setting: GatherImplicit gathers
	// facts at the start of every play unless it says gather_facts: false
	// (Ansible's default, and sshplay play's); GatherExplicit, and the
	// zero value, only where a play says true; GatherSmart once per host
	// per run (facts.go).
	Gathering Gathering
	// Local is the control machine (delegate_to: localhost, fetch).
	Local transport.Conn
	// Become maps a host's variables (ansible_become, ansible_become_user,
	// ansible_become_password, as play and task keywords set them) to a
	// transport.Become; nil uses those variables directly.
	Become func(vars map[string]any) transport.Become
	// BecomeDefault and BecomeUser come from -b / --become-user: they sit
	// above inventory variables and below play and task keywords.
	BecomeDefault bool
	BecomeUser    string

	Forks int
	// Prompt asks vars_prompt questions; nil: the terminal of stdin.
	Prompt PromptFunc
	// TaskTimeout bounds each attempt of a task on a host (Ansible's
	// TASK_TIMEOUT, --task-timeout); 0: no limit. See tasktimeout.go.
	TaskTimeout   time.Duration
	Check, Diff   bool
	ExtraVars     map[string]any
	Tags          []string
	SkipTags      []string
	StartAtTask   string
	ForceHandlers bool
	// RolesPath are the folders include_role looks for a role named by a
	// template in, as LoadOptions.RolesPath at load time.
	RolesPath []string
	// Step (--step), when set, is asked before each task (not meta tasks
	// or handlers, as in Ansible) whether to run it: false skips it.
	Step    func(task string) bool
	Verbose int
	// Trace receives, at Verbose >= 3, one line per remote operation of
	// every task (transport.TracedWith), secrets masked and no_log tasks'
	// commands hidden. nil: no trace.
	Trace io.Writer

	Out io.Writer
	// Format is "text" (default) or "json".
	Format string
	// Color and Progress are decided by the caller (terminal, NO_COLOR).
	Color, Progress bool
	// Timings is TimingsAuto (""), TimingsAlways or TimingsNever: when the
	// text output shows durations (see timings.go).
	Timings string
	// Log receives the text output too, without colour or progress lines,
	// whatever Format is (--log-file); nil: none.
	Log io.Writer
}

// Stats are a host's counters for PLAY RECAP.
type Stats struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
}

// Summary is the outcome of a run: per-host counters, and whether the run
// was interrupted (ctx cancelled). Failed and Unreachable count hosts.
type Summary struct {
	Hosts       []string // in the order first seen
	Stats       map[string]*Stats
	Interrupted bool
	Duration    time.Duration
	// Transport is what each host's connection asked of the host
	// (sessions, sudo, SFTP requests, commands), when the Connector counts
	// it (StatsConnector).
	Transport map[string]transport.Stats
}

// StatsConnector is a Connector that counts the remote work of each
// connection (transport.Pool does).
type StatsConnector interface {
	Stats() map[string]transport.Stats
}

// Failed is the number of hosts with a failed task (rescued and ignored
// failures do not count). The command turns it into an exit code; playbooks
// decides no exit code itself.
func (s *Summary) Failed() int {
	n := 0
	for _, st := range s.Stats {
		if st.Failed > 0 {
			n++
		}
	}
	return n
}

// Unreachable is the number of hosts that could not be reached.
func (s *Summary) Unreachable() int {
	n := 0
	for _, st := range s.Stats {
		if st.Unreachable > 0 {
			n++
		}
	}
	return n
}

// Changed is the number of hosts with at least one changed task (with
// --check: a change the plan would make), whatever else happened to them;
// --detailed-exitcode turns it into an exit code.
func (s *Summary) Changed() int {
	n := 0
	for _, st := range s.Stats {
		if st.Changed > 0 {
			n++
		}
	}
	return n
}

// Run validates and runs the playbooks in order. Parse errors have been
// reported by Load/Parse before; Run returns an error only when the run
// could not start (a pattern error); host failures are in the Summary.
func Run(ctx context.Context, pbs []*Playbook, opts Options) (*Summary, error) {
	return run(ctx, pbs, opts, nil)
}

// run is Run with the reporter given (the ad-hoc lines), or nil for the
// one Options.Format names: it checks every play before any host is
// connected, runs the plays in order and prints the recap.
func run(ctx context.Context, pbs []*Playbook, opts Options, rep reporter) (*Summary, error) {
	opts.Vault = cmp.Or(opts.Vault, vault.FromContext(ctx))
	r, err := newRunner(opts, rep)
	if err != nil {
		return nil, err
	}
	if err := r.preflight(pbs); err != nil {
		return nil, err
	}
	start := time.Now()
	r.runPlays(ctx, pbs)
	sum := &Summary{Stats: map[string]*Stats{}, Duration: time.Since(start), Interrupted: ctx.Err() != nil}
	for _, h := range r.order {
		sum.Hosts = append(sum.Hosts, h)
		sum.Stats[h] = r.hosts[h].stats
	}
	if sc, ok := opts.Connector.(StatsConnector); ok {
		sum.Transport = sc.Stats()
	}
	r.rep.Recap(sum)
	return sum, nil
}

// runner is the state of one run: its options, reporter, every host seen
// so far (in the order first seen), and what --start-at-task has found.
type runner struct {
	opts    Options
	tpl     *template.Engine
	rep     reporter
	hosts   map[string]*hostState
	order   []string
	mu      sync.Mutex
	started bool // --start-at-task found
	// runStarted identifies this run among others on the same hosts
	// (sshplay_run_started): when it began, to the nanosecond, plus a
	// random tie-breaker; fixed width, so that comparing two as strings
	// orders the runs.
	runStarted string
	// runMagic are the run-wide magic variables (magicVars), made once.
	runMagic map[string]any
	groups   map[string][]string
	global   secretSet // secrets of the inventory and extra vars
	// localOverlay is the control machine's planned state in a check run
	// (what delegate_to: localhost tasks would write); nil otherwise.
	localOverlay *overlay.Overlay
}

// newRunner checks opts, fills in the defaults (5 forks, no output) and
// returns the runner of one run.
func newRunner(opts Options, rep reporter) (*runner, error) {
	if opts.Modules == nil {
		return nil, errors.New("playbooks: Options.Modules is required")
	}
	if opts.Local == nil {
		return nil, errors.New("playbooks: Options.Local is required")
	}
	if opts.Forks < 1 {
		opts.Forks = 5
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Trace != nil {
		opts.Trace = syncio.NewWriter(opts.Trace)
	}
	r := &runner{opts: opts, tpl: template.NewWithVault(opts.Vault), hosts: map[string]*hostState{}, started: opts.StartAtTask == "", runStarted: runStartedNow()}
	r.runMagic = magicVars(&opts, controlPython())
	if opts.Check {
		r.localOverlay = overlay.NewOverlay()
	}
	r.groups = opts.Inventory.Groups()
	r.runSecrets()
	r.rep = rep
	if rep == nil {
		r.rep = newPlaybookReporter(opts)
	}
	return r, nil
}

// runPlays runs every play of every playbook in order, until one says the
// run must stop or ctx is cancelled.
func (r *runner) runPlays(ctx context.Context, pbs []*Playbook) {
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			if ctx.Err() != nil || !r.runPlay(ctx, pb, play) {
				return
			}
		}
	}
}

// runStartedNow is a run's sshplay_run_started value.
func runStartedNow() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405.000000000Z") + "." + hex.EncodeToString(b[:])
}
