package transport

// pool.go keeps one connection per host for a whole run: a host is dialled
// at most once (concurrent callers wait for the same dial, a failed dial is
// remembered and returned again; within that one Dial, attempts that fail
// for a transient reason are retried, see Target.Retries), dials run in
// parallel up to a limit, and every warning about a host's connection
// settings is printed once (an ignored ssh option once for all hosts).
// Close closes every host at once, so a host that stopped answering costs
// the run one wait (see SSHConn.Close), not one per host. It never dials a
// host twice in a run and never drops a warning silently.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sshplay/sshplay/internal/syncio"
	"golang.org/x/sync/errgroup"
)

// PoolOptions configure a Pool.
type PoolOptions struct {
	Overrides Overrides
	// Stderr receives warnings (ignored ssh options, host key checking
	// off), what ProxyCommands print on their standard error and
	// passphrase prompts; nil means os.Stderr. The pool serialises its
	// writes, so it need not be safe for concurrent use.
	Stderr io.Writer
	// MaxParallelDials bounds concurrent dials (a bastion's sshd drops
	// unauthenticated connections beyond MaxStartups, 10 by default);
	// 0 means 8.
	MaxParallelDials int
	// Trace, when set, receives one line per remote operation with its
	// duration (sshplay -vvv).
	Trace io.Writer
	// RetryLog, when set, receives one line per connection attempt that
	// failed for a transient reason and is tried again (sshplay -vv).
	RetryLog io.Writer
}

// HostVars is one inventory host and its variables.
type HostVars struct {
	Name string
	Vars map[string]any
}

// Pool hands out one Conn per host name for the run. It is safe for
// concurrent use.
type Pool struct {
	opts PoolOptions
	sem  chan struct{}

	mu     sync.Mutex
	hosts  map[string]*poolEntry
	warned map[string]bool
	closed bool
}

type poolEntry struct {
	done chan struct{}
	conn Conn
	err  error
}

// NewPool returns an empty pool.
func NewPool(opts PoolOptions) *Pool {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	opts.Stderr = syncio.NewWriter(opts.Stderr)
	if opts.RetryLog != nil {
		opts.RetryLog = syncio.NewWriter(opts.RetryLog)
	}
	n := opts.MaxParallelDials
	if n <= 0 {
		n = 8
	}
	return &Pool{opts: opts, sem: make(chan struct{}, n), hosts: map[string]*poolEntry{}, warned: map[string]bool{}}
}

// Conn returns the connection to host name, dialling it on first use with
// the target built from vars (TargetFromVars with the pool's Overrides).
// Later calls for the same name return the same Conn, or the same error:
// an *UnreachableError when the host could not be reached, a *TargetError
// when its connection variables are invalid. Close the pool, not the Conn.
func (p *Pool) Conn(ctx context.Context, name string, vars map[string]any) (Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("host %s: connection pool closed", name)
	}
	e, ok := p.hosts[name]
	if ok {
		p.mu.Unlock()
		select {
		case <-e.done:
			return e.conn, e.err
		case <-ctx.Done():
			return nil, fmt.Errorf("host %s: connect: %w", name, ctx.Err())
		}
	}
	e = &poolEntry{done: make(chan struct{})}
	p.hosts[name] = e
	p.mu.Unlock()

	e.conn, e.err = p.dial(ctx, name, vars)
	p.mu.Lock()
	if e.err != nil && ctx.Err() != nil {
		// Cancelled, not unreachable: let a later call try again.
		delete(p.hosts, name)
	}
	if p.closed && e.conn != nil {
		e.conn.Close()
		e.conn, e.err = nil, fmt.Errorf("host %s: connection pool closed", name)
	}
	close(e.done)
	conn, err := e.conn, e.err
	p.mu.Unlock()
	return conn, err
}

func (p *Pool) dial(ctx context.Context, name string, vars map[string]any) (Conn, error) {
	t, warns, err := TargetFromVars(name, vars, p.opts.Overrides)
	p.warn(warns...)
	if err != nil {
		return nil, err
	}
	if t.Local {
		return p.traced(NewLocalConn(name)), nil
	}
	t.Stderr = p.opts.Stderr
	if log := p.opts.RetryLog; log != nil {
		t.OnRetry = func(attempt int, err error, pause time.Duration) {
			fmt.Fprintf(log, "host %s: connection attempt %d failed, trying again in %s: %v\n", name, attempt, pause.Round(10*time.Millisecond), hostless(name, err))
		}
	}
	if t.HostKeyChecking == HostKeyOff {
		p.warn(fmt.Sprintf("host %s: host key checking is off: the server's identity is not verified", name))
	}
	for _, j := range t.ProxyJump {
		if j.HostKeyChecking == HostKeyOff && t.HostKeyChecking != HostKeyOff {
			p.warn(fmt.Sprintf("host %s: host key checking is off for jump host %s", name, j.Name))
		}
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("host %s: connect: %w", name, ctx.Err())
	}
	defer func() { <-p.sem }()
	c, err := Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	return p.traced(c), nil
}

// Stats reports, per host name, what each SSH connection of the pool has
// asked of its host so far (hosts reached over SSH only).
func (p *Pool) Stats() map[string]Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]Stats{}
	for name, e := range p.hosts {
		select {
		case <-e.done:
		default:
			continue
		}
		c := e.conn
		if tc, ok := c.(*traced); ok {
			c = tc.c
		}
		if sc, ok := c.(*SSHConn); ok {
			out[name] = sc.Stats()
		}
	}
	return out
}

func (p *Pool) traced(c Conn) Conn {
	if p.opts.Trace == nil {
		return c
	}
	return Traced(c, p.opts.Trace)
}

// warn prints each distinct warning once per pool. An ignored ssh option
// is one warning for the whole pool, naming the first host it was seen on:
// the same ansible_ssh_common_args on 30 hosts is one mistake, not 30.
func (p *Pool) warn(ws ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range ws {
		key, text := w, w
		if host, opt, ok := parseIgnoredOption(w); ok {
			key = "ignored ssh option " + opt
			text = fmt.Sprintf("ignoring ssh option %s (host %s; not repeated for other hosts)", opt, host)
		}
		if p.warned[key] {
			continue
		}
		p.warned[key] = true
		fmt.Fprintf(p.opts.Stderr, "warning: %s\n", text)
	}
}

// DialAll connects to every host, forks at a time (0: all at once, still
// bounded by MaxParallelDials), and returns the error of each host that
// could not be connected, by name (nil map entries never appear).
func (p *Pool) DialAll(ctx context.Context, hosts []HostVars, forks int) map[string]error {
	var g errgroup.Group
	if forks > 0 {
		g.SetLimit(forks)
	}
	var mu sync.Mutex
	failed := map[string]error{}
	for _, h := range hosts {
		g.Go(func() error {
			if _, err := p.Conn(ctx, h.Name, h.Vars); err != nil {
				mu.Lock()
				failed[h.Name] = err
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return failed
}

// Close closes every connection of the pool. Conns handed out stop
// working; later Conn calls fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := p.hosts
	p.hosts = map[string]*poolEntry{}
	p.mu.Unlock()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, e := range entries {
		select {
		case <-e.done:
		default:
			// A dial in flight closes its own result (see Conn).
			continue
		}
		if e.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.conn.Close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
