package pg

// fleet.go is `sshplay pg status` across hosts: it checks every host's
// variables before dialing anything, inspects the hosts in parallel (each
// through the dial function it is given), and sums the outcome up as a
// *StatusError. It never changes a host, never closes the connections dial
// returns (their owner does), and never decides exit codes (cmd does).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sshplay/sshplay/transport"
)

// StatusVars are the host variables `sshplay pg status` reads besides the
// connection variables (ansible_*, sshplay_*). A caller without a template
// engine must refuse a host where one of them holds a template.
var StatusVars = []string{
	"pg_port", "pg_user", "pg_database", "pg_host", "pg_socket_dir", "pg_tls_enforce", "pg_os_user",
	"pg_password", "pg_password_file", "pg_passfile",
	"tls_ca_mode", "tls_ca_dir", "tls_csr_dir", "inventory_dir", "inventory_file",
}

// StatusHost is one host to inspect: its inventory name and merged
// variables.
type StatusHost struct {
	Name string
	Vars map[string]any
}

// DialFunc opens (or hands out) the SSH connection to one host. An error
// that is a *transport.UnreachableError marks the host unreachable.
type DialFunc func(ctx context.Context, name string, vars map[string]any) (transport.Conn, error)

// StatusAllOptions say how to inspect a fleet.
type StatusAllOptions struct {
	// Forks bounds the hosts inspected at once; < 1 means 1.
	Forks int
	// Trust overrides the root every host is verified against.
	Trust TrustOverride
	// OSUser is the cluster's OS user psql runs as (sudo) when a host has
	// no pg_os_user; "" means postgres.
	OSUser string
	// Timeout bounds each PostgreSQL connect (0: pgx's default).
	Timeout time.Duration
	// Now is the time certificates' days left count from (zero: now).
	Now time.Time
}

// StatusError sums up a fleet that is not fully as wanted: NotOK reachable
// hosts are not ok, Unreachable hosts could not be reached.
type StatusError struct {
	NotOK       int
	Unreachable int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("pg status: %d host(s) not ok, %d unreachable", e.NotOK, e.Unreachable)
}

// StatusAll inspects every host (at most o.Forks at once) and returns one
// status per host, in the order given. Every host's variables are checked
// first: a bad one is an *InputError and nothing is dialed. When a host is
// not ok the statuses come back with a *StatusError; ctx ending is returned
// as ctx.Err() with the statuses gathered so far (nil for hosts not done).
func StatusAll(ctx context.Context, hosts []StatusHost, dial DialFunc, o StatusAllOptions) ([]*HostStatus, error) {
	opts := make([]StatusOptions, len(hosts))
	for i, h := range hosts {
		so, err := StatusOptionsFromVars(h.Name, h.Vars, nil, o.Timeout)
		if err != nil {
			return nil, err
		}
		so.Now = o.Now
		opts[i] = so
	}
	forks := max(o.Forks, 1)
	sem := make(chan struct{}, forks)
	results := make([]*HostStatus, len(hosts))
	var wg sync.WaitGroup
dispatch:
	for i, h := range hosts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break dispatch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = hostStatus(ctx, h, dial, o, opts[i])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return results, err
	}
	var se StatusError
	for _, s := range results {
		switch {
		case s.Unreachable:
			se.Unreachable++
		case !s.OK():
			se.NotOK++
		}
	}
	if se.NotOK > 0 || se.Unreachable > 0 {
		return results, &se
	}
	return results, nil
}

// hostStatus dials one host and inspects it as its cluster OS user.
func hostStatus(ctx context.Context, h StatusHost, dial DialFunc, o StatusAllOptions, so StatusOptions) *HostStatus {
	conn, err := dial(ctx, h.Name, h.Vars)
	if err != nil {
		var u *transport.UnreachableError
		return &HostStatus{Host: h.Name, Unreachable: errors.As(err, &u), Err: err.Error()}
	}
	root, rootErr := RootFor(h.Vars, o.Trust)
	so.Verify.RootPEM = root
	osUser := VarString(h.Vars, "pg_os_user")
	if osUser == "" {
		osUser = o.OSUser
	}
	if osUser == "" {
		osUser = "postgres"
	}
	s := Status(ctx, conn.Become(transport.Become{Enabled: true, User: osUser}), h.Name, so)
	if rootErr != nil && s.Err == "" {
		for _, v := range s.Verify {
			v.Error = "no CA root: " + rootErr.Error()
		}
	}
	return s
}
