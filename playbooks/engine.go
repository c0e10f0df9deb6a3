package playbooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/tasks/overlay"

	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
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
	Inventory Inventory
	Connector Connector
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
	// TaskTimeout bounds each attempt of a task on a host (Ansible's
	// TASK_TIMEOUT, --task-timeout); 0: no limit. See tasktimeout.go.
	TaskTimeout   time.Duration
	Check, Diff   bool
	ExtraVars     map[string]any
	Tags          []string
	SkipTags      []string
	StartAtTask   string
	ForceHandlers bool
	Verbose       int
	// Trace receives, at Verbose >= 3, one line per remote operation of
	// every task (transport.TracedWith), secrets masked and no_log tasks'
	// commands hidden. nil: no trace.
	Trace io.Writer

	Out io.Writer
	// Format is "text" (default) or "json".
	Format string
	// Color and Progress are decided by the caller (terminal, NO_COLOR).
	Color, Progress bool
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

// hostState is one host across the whole run.
type hostState struct {
	name    string
	conn    transport.Conn
	connErr error
	// connReady is closed once the connection attempt is over (see connect).
	connReady chan struct{}
	overlay   *overlay.Overlay
	mu        sync.Mutex
	facts     map[string]any // set_fact, include_vars, register
	failed    bool           // failed in the current play (stops the host)
	unreach   bool
	ended     bool // meta: end_host / end_play
	notified  map[*Task]bool
	stats     *Stats
	// secretSet holds the secret values seen in the host's variables.
	secretSet secretSet
}

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
	groups     map[string][]string
	global     secretSet // secrets of the inventory and extra vars
}

// Run validates and runs the playbooks in order. Parse errors have been
// reported by Load/Parse before; Run returns an error only when the run
// could not start (a pattern error); host failures are in the Summary.
func Run(ctx context.Context, pbs []*Playbook, opts Options) (*Summary, error) {
	return run(ctx, pbs, opts, nil)
}

func run(ctx context.Context, pbs []*Playbook, opts Options, rep reporter) (*Summary, error) {
	Register()
	if opts.Forks < 1 {
		opts.Forks = 5
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Local == nil {
		return nil, errors.New("playbooks: Options.Local is required")
	}
	if opts.Trace != nil {
		opts.Trace = &lockedWriter{w: opts.Trace}
	}
	r := &runner{opts: opts, tpl: template.New(), hosts: map[string]*hostState{}, started: opts.StartAtTask == "", runStarted: runStartedNow()}
	r.groups = opts.Inventory.Groups()
	r.runSecrets()
	switch {
	case rep != nil:
		r.rep = rep
	case opts.Format == "json":
		r.rep = newJSONReporter(opts.Out, opts.Check)
	default:
		r.rep = newTextReporter(opts.Out, opts)
	}
	// Resolve every play's hosts up front: a bad pattern is bad input and
	// nothing may run.
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			pattern, err := r.playPattern(play)
			if err != nil {
				return nil, err
			}
			hosts, err := opts.Inventory.Hosts(pattern)
			if err != nil {
				return nil, fmt.Errorf("%s: hosts %q: %w", play.Pos, pattern, err)
			}
			if err := r.checkHostVars(play, hosts); err != nil {
				return nil, err
			}
		}
	}
	if err := checkStartAt(pbs, opts.StartAtTask); err != nil {
		return nil, err
	}
	start := time.Now()
	stopped := false
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			if stopped || ctx.Err() != nil {
				break
			}
			if !r.runPlay(ctx, pb, play) {
				stopped = true
			}
		}
	}
	sum := &Summary{Stats: map[string]*Stats{}, Duration: time.Since(start), Interrupted: ctx.Err() != nil}
	for _, h := range r.order {
		sum.Hosts = append(sum.Hosts, h)
		sum.Stats[h] = r.hosts[h].stats
	}
	r.rep.Recap(sum)
	return sum, nil
}

// checkStartAt makes --start-at-task name a task of the playbooks: an
// unknown name would silently run nothing.
func checkStartAt(pbs []*Playbook, name string) error {
	if name == "" {
		return nil
	}
	var names []string
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			for _, sec := range [][]*Task{play.PreTasks, play.Tasks, play.PostTasks} {
				for _, t := range allTasks(sec) {
					if t.Name == name {
						return nil
					}
					if t.Name != "" {
						names = append(names, t.Name)
					}
				}
			}
		}
	}
	return &ParseError{File: "--start-at-task", Msg: fmt.Sprintf("no task named %q in the playbooks%s", name, suggest.Hint(name, names))}
}

func (r *runner) host(name string) *hostState {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.hosts[name]
	if !ok {
		h = &hostState{name: name, facts: map[string]any{}, stats: &Stats{}, notified: map[*Task]bool{}}
		if r.opts.Check {
			h.overlay = overlay.NewOverlay()
		}
		r.hosts[name] = h
		r.order = append(r.order, name)
	}
	return h
}

// playRun is the state of one play.
type playRun struct {
	pb        *Playbook
	play      *Play
	hosts     []string // all hosts of the play (ansible_play_hosts)
	batch     []*hostState
	abort     bool // any_errors_fatal, max_fail_percentage, end_play
	fatal     bool // abort by any_errors_fatal or max_fail_percentage: handlers run only when forced
	endBatch  bool
	varsFiles map[string]any
	mu        sync.Mutex
}

// runPlay runs one play; false means the run must stop (a fatal error or
// a max_fail_percentage breach).
func (r *runner) runPlay(ctx context.Context, pb *Playbook, play *Play) bool {
	pattern, _ := r.playPattern(play) // rendered without error in Run
	names, _ := r.opts.Inventory.Hosts(pattern)
	var hosts []*hostState
	var live []string
	for _, n := range names {
		h := r.host(n)
		if h.isUnreach() || h.isFailed() {
			continue // failed hosts stay out of later plays, as in Ansible
		}
		h.setEnded(false)
		hosts = append(hosts, h)
		live = append(live, n)
	}
	r.rep.PlayStart(play, live)
	if len(hosts) == 0 {
		r.rep.Note("skipping: no hosts matched")
		return true
	}
	pr := &playRun{pb: pb, play: play, hosts: live}
	vf, err := r.loadVarsFiles(pb, play)
	if err != nil {
		for _, h := range hosts {
			r.hostFailed(h, nil, err)
		}
		return false
	}
	pr.varsFiles = vf
	for i, batch := range batches(hosts, play.Serial) {
		if ctx.Err() != nil || pr.abort {
			break
		}
		if i > 0 {
			r.rep.PlayStart(play, live) // Ansible repeats PLAY per batch
		}
		pr.batch = batch
		pr.endBatch = false
		r.connect(ctx, batch)
		for _, sec := range [][]*Task{play.PreTasks, play.Tasks, play.PostTasks} {
			if len(sec) == 0 {
				continue
			}
			r.runSection(ctx, pr, sec)
			if !pr.fatal || r.opts.ForceHandlers || pr.play.ForceHandlers {
				r.flushHandlers(ctx, pr)
			}
			if pr.abort || pr.endBatch {
				break
			}
		}
		if r.breached(pr) || allDown(batch) {
			// As in Ansible, a batch whose every host failed (or was
			// unreachable) ends the play and the run.
			pr.abort = true
		}
	}
	if pr.abort && !pr.endedByMeta() {
		r.rep.NoMoreHosts()
		return false
	}
	return true
}

func allDown(batch []*hostState) bool {
	for _, h := range batch {
		if !h.isFailed() && !h.isUnreach() {
			return false
		}
	}
	return len(batch) > 0
}

func (pr *playRun) endedByMeta() bool {
	for _, h := range pr.batch {
		if h.isFailed() || h.isUnreach() {
			return false
		}
	}
	return true
}

// breached reports whether max_fail_percentage is exceeded in the batch.
func (r *runner) breached(pr *playRun) bool {
	if pr.play.MaxFailPercentage == nil || len(pr.batch) == 0 {
		return false
	}
	failed := 0
	for _, h := range pr.batch {
		if h.isFailed() || h.isUnreach() {
			failed++
		}
	}
	return float64(failed)*100/float64(len(pr.batch)) > *pr.play.MaxFailPercentage
}

// batches splits hosts by serial: "2", "50%", and a list whose last entry
// repeats.
func batches(hosts []*hostState, serial []string) [][]*hostState {
	if len(serial) == 0 {
		return [][]*hostState{hosts}
	}
	var out [][]*hostState
	i := 0
	for idx := 0; i < len(hosts); idx++ {
		s := serial[min(idx, len(serial)-1)]
		n := 0
		if strings.HasSuffix(s, "%") {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			n = int(math.Floor(f * float64(len(hosts)) / 100))
		} else {
			n, _ = strconv.Atoi(s)
		}
		n = max(n, 1)
		end := min(i+n, len(hosts))
		out = append(out, hosts[i:end])
		i = end
	}
	return out
}

// connect opens every host's connection of a batch in parallel (forks at a
// time). A host that cannot be reached is reported unreachable at its
// first task.
func (r *runner) connect(ctx context.Context, batch []*hostState) {
	// Every host of the batch dials at once (up to forks); a host starts its
	// first task as soon as its own connection is ready, so one unreachable
	// host does not hold the others back for its whole connect timeout.
	sem := make(chan struct{}, DialParallelism(r.opts.Forks))
	for _, h := range batch {
		if h.connReady != nil {
			continue // connected (or failed) in an earlier play
		}
		ready := make(chan struct{})
		h.connReady = ready
		go func(h *hostState) {
			defer close(ready)
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				h.connErr = &transport.UnreachableError{Host: h.name, Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			c, err := r.opts.Connector.Conn(ctx, h.name, r.opts.Inventory.HostVars(h.name))
			if err != nil {
				var ue *transport.UnreachableError
				if !errors.As(err, &ue) {
					err = &transport.UnreachableError{Host: h.name, Err: err}
				}
				h.connErr = err
				return
			}
			h.conn = c
		}(h)
	}
}

// DialParallelism is how many connections are set up at once for a run
// with the given forks. Setting up a connection is waiting on the network and
// the server, not work on the control machine, so it is not held to forks
// (which bounds the tasks running at once): at least 50 dials go out
// together, so a 30-host fleet connects in one wave at the default forks.
func DialParallelism(forks int) int { return max(forks, 50) }

// waitConn waits until the host's connection attempt has finished; after
// it, h.conn or h.connErr is set (and never changes again).
func (h *hostState) waitConn(ctx context.Context) {
	if h.connReady == nil {
		return
	}
	select {
	case <-h.connReady:
	case <-ctx.Done():
		<-h.connReady // the dial honours ctx too, so this is short
	}
}

func (r *runner) loadVarsFiles(pb *Playbook, play *Play) (map[string]any, error) {
	out := map[string]any{}
	scope := r.tpl.Scope(mergeMaps(r.opts.ExtraVars, play.Vars))
	for _, f := range play.VarsFiles {
		name, err := scope.Render(f)
		if err != nil {
			return nil, fmt.Errorf("%s: vars_files %q: %w", play.Pos, f, err)
		}
		data, err := pb.readFile(name)
		if err != nil {
			return nil, fmt.Errorf("%s: vars_files: %w", play.Pos, err)
		}
		m, err := decodeVars(name, data)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// readFile reads a file relative to the playbook (from the embedded FS for
// an embedded playbook).
func (pb *Playbook) readFile(name string) ([]byte, error) {
	if pb.FS != nil && !filepath.IsAbs(name) {
		return fs.ReadFile(pb.FS, filepath.ToSlash(filepath.Join(pb.Dir, name)))
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(pb.Dir, name)
	}
	return os.ReadFile(name)
}

func mergeMaps(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// playPattern renders a play's hosts: as Ansible does, with the play's own
// vars and the extra vars (host variables do not exist yet), so
// `hosts: "{{ pg_hosts | default('dbservers') }}"` with `-e pg_hosts=db01`
// works. A template error is bad input.
func (r *runner) playPattern(play *Play) (string, error) {
	if !template.IsTemplate(play.Hosts) {
		return play.Hosts, nil
	}
	v, err := r.tpl.Scope(mergeMaps(play.Vars, r.opts.ExtraVars)).Render(play.Hosts)
	if err != nil {
		return "", &ParseError{File: play.Pos.File, Line: play.Pos.Line, Col: play.Pos.Col, Msg: fmt.Sprintf("hosts: %v", err)}
	}
	return strings.TrimSpace(v), nil
}

// hostFailed records a failure outside of a task (vars_files).
func (r *runner) hostFailed(h *hostState, t *Task, err error) {
	h.setFailed(true)
	h.stats.Failed++
	r.rep.HostResult(&HostResult{Host: h.name, Task: t, Status: tasks.StatusFailed, Msg: err.Error(),
		Result: map[string]any{"failed": true, "msg": err.Error()}, Secrets: r.secrets(h)})
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	sharedTpl     *template.Engine
	sharedTplOnce sync.Once
)

func templateEngine() *template.Engine {
	sharedTplOnce.Do(func() { sharedTpl = template.New() })
	return sharedTpl
}

func (h *hostState) isFailed() bool   { h.mu.Lock(); defer h.mu.Unlock(); return h.failed }
func (h *hostState) isUnreach() bool  { h.mu.Lock(); defer h.mu.Unlock(); return h.unreach }
func (h *hostState) isEnded() bool    { h.mu.Lock(); defer h.mu.Unlock(); return h.ended }
func (h *hostState) setFailed(v bool) { h.mu.Lock(); h.failed = v; h.mu.Unlock() }
func (h *hostState) setUnreach(v bool) {
	h.mu.Lock()
	h.unreach = v
	h.mu.Unlock()
}
func (h *hostState) setEnded(v bool) { h.mu.Lock(); h.ended = v; h.mu.Unlock() }

// lockedWriter serialises the trace lines of concurrent hosts.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runStartedNow is a run's sshplay_run_started value.
func runStartedNow() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405.000000000Z") + "." + hex.EncodeToString(b[:])
}
