package playbooks

// One host across the whole run (hostState): its connection, dialled for a
// batch in parallel and waited for by the host's first task; its facts and
// registered results, the handlers it notified, its PLAY RECAP counters and
// whether it failed, became unreachable or ended.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

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
	gathered  map[string]any // setup's facts, below play vars (facts.go)
	failed    bool           // failed in the current play (stops the host)
	unreach   bool
	ended     bool // meta: end_host / end_play
	notified  map[*Task]bool
	stats     *Stats
	// secretSet holds the secret values seen in the host's variables.
	secretSet secretSet
	// listed is set once the host is in the run's order (a recap line);
	// a host that only received delegated facts is not (facts.go).
	listed bool
}

// host returns the run's state of a host, made when the host is first met.
func (r *runner) host(name string) *hostState {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hostLocked(name)
	if !h.listed {
		h.listed = true
		r.order = append(r.order, name)
	}
	return h
}

// hostLocked is the run's state of a host, made (not listed in the
// recap) when first met; r.mu is held.
func (r *runner) hostLocked(name string) *hostState {
	h, ok := r.hosts[name]
	if !ok {
		h = &hostState{name: name, facts: map[string]any{}, stats: &Stats{}, notified: map[*Task]bool{}}
		if r.opts.Check {
			h.overlay = overlay.NewOverlay()
			if r.implicitLocalhost(name) {
				h.overlay = r.localOverlay // what delegate_to: localhost plans too
			}
		}
		r.hosts[name] = h
	}
	return h
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
		if r.implicitLocalhost(h.name) {
			h.conn = r.opts.Local
			close(ready)
			continue
		}
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

func (h *hostState) isFailed() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.failed }

func (h *hostState) isUnreach() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.unreach }

func (h *hostState) isEnded() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.ended }

func (h *hostState) setFailed(v bool) { h.mu.Lock(); h.failed = v; h.mu.Unlock() }

func (h *hostState) setUnreach(v bool) {
	h.mu.Lock()
	h.unreach = v
	h.mu.Unlock()
}

func (h *hostState) setEnded(v bool) { h.mu.Lock(); h.ended = v; h.mu.Unlock() }

// keepFacts keeps the ansible_facts a module returned (set_fact,
// include_vars, pg_facts) as the host's facts, unless the module failed.
func (h *hostState) keepFacts(t *Task, out *tasks.Outcome) {
	facts, ok := out.Result["ansible_facts"].(map[string]any)
	if !ok || out.Status == tasks.StatusFailed {
		return
	}
	if gathersFacts(t) {
		h.keepGathered(facts)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range facts {
		h.facts[k] = template.Literal{V: v}
	}
}

// hostFailed records a failure outside of a task (vars_files).
func (r *runner) hostFailed(h *hostState, t *Task, err error) {
	h.setFailed(true)
	h.stats.Failed++
	r.rep.HostResult(&HostResult{Host: h.name, Task: t, Status: tasks.StatusFailed, Msg: err.Error(),
		Result: map[string]any{"failed": true, "msg": err.Error()}, Secrets: r.secrets(h)})
}

// matchesNoHostYet reports whether err says that pattern selected no
// host although every name in it exists: an empty group, an
// intersection or exclusion that leaves nothing, or a --limit. Ansible
// then prints "skipping: no hosts matched" and goes on with the next
// play; a name the inventory does not have stays an error (a typo).
func matchesNoHostYet(inv Inventory, pattern string, err error) bool {
	var nm *inventory.NoMatchError
	if !errors.As(err, &nm) {
		return false
	}
	groups := inv.Groups()
	for _, term := range strings.FieldsFunc(pattern, func(r rune) bool { return r == ',' || r == ':' }) {
		name := strings.TrimLeft(strings.TrimSpace(term), "!&")
		if i := strings.IndexByte(name, '['); i > 0 {
			name = name[:i]
		}
		if _, ok := groups[name]; ok || name == "all" || name == "*" {
			continue
		}
		if !strings.ContainsAny(name, "*?~") {
			return false
		}
	}
	return true
}

// implicitLocalhost reports whether name is Ansible's implicit localhost:
// "localhost" or "127.0.0.1" when the inventory does not have it. It runs
// on the control machine's connection and is not in the all group.
func (r *runner) implicitLocalhost(name string) bool {
	if name != "localhost" && name != "127.0.0.1" {
		return false
	}
	return !slices.Contains(r.opts.Inventory.Groups()["all"], name)
}

// playHosts are the hosts a play's pattern selects: the inventory's, or
// the implicit localhost when the pattern is just its name.
func (r *runner) playHosts(pattern string) ([]string, error) {
	names, err := r.opts.Inventory.Hosts(pattern)
	if err != nil && r.implicitLocalhost(strings.TrimSpace(pattern)) {
		return []string{strings.TrimSpace(pattern)}, nil
	}
	return names, err
}
