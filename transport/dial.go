package transport

// dial.go opens the SSH connection of one host: the TCP connect (direct,
// through a ProxyCommand or through ProxyJump bastions), the handshake,
// host key check and login, and the retries of attempts that failed for a
// transient reason.
//
// Timeouts measure progress, not the whole: Target.ConnectTimeout bounds
// the TCP connect, then the wait for the server's SSH banner; after the
// banner the handshake fails only when the server sends nothing for that
// long. A handshake queued behind hundreds of others on a busy sshd keeps
// going as long as bytes keep coming; a server that stopped answering is
// given up on after the timeout.
//
// Transient (retried, up to Target.Retries times): a refused or reset TCP
// connect (sshd restarting, a host booting), a temporary DNS failure, a
// jump host that could not reach the target, no banner within the
// timeout, a server that closed or reset the connection during the
// handshake (sshd's MaxStartups drops), a handshake that stalled, a TCP
// connect that timed out (a listen queue full under a burst of connects
// drops SYNs; OpenSSH's ConnectionAttempts retries it too; a host that is
// down costs Retries more timeouts, as asked). Not transient: host name
// not found, host key unknown or changed,
// authentication refused, protocol disagreements (no common algorithm),
// bad settings. Those would fail the same way again.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// Dial connects to t (through t.ProxyJump, if any), checks its host key and
// logs in, trying again after a short pause when an attempt failed for a
// transient reason, up to t.Retries more times. Any failure is an
// *UnreachableError wrapping the cause of the last attempt: a
// *HostKeyError, an *AuthError, or a network error.
func Dial(ctx context.Context, t Target) (*SSHConn, error) {
	t = dialDefaults(t)
	for attempt := 1; ; attempt++ {
		c, err := dialAttempt(ctx, t)
		if err == nil {
			return c, nil
		}
		if attempt > t.Retries || !isTransient(err) || ctx.Err() != nil {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, &UnreachableError{Host: t.Name, Err: err}
		}
		pause := retryPause(attempt)
		if t.OnRetry != nil {
			t.OnRetry(attempt, err, pause)
		}
		select {
		case <-ctx.Done():
			return nil, &UnreachableError{Host: t.Name, Err: fmt.Errorf("connect: %w (after attempt %d: %v)", ctx.Err(), attempt, err)}
		case <-time.After(pause):
		}
	}
}

// dialDefaults fills in what t leaves zero.
func dialDefaults(t Target) Target {
	if t.Name == "" {
		t.Name = t.Addr
	}
	if t.Port == 0 {
		t.Port = 22
	}
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = defaultConnectTimeout
	}
	if t.HostKeyChecking == "" {
		t.HostKeyChecking = HostKeyStrict
	}
	t.Retries = max(t.Retries, 0)
	return t
}

// retryPause is the pause after failed attempt n (1, 2, ...). Ansible's
// ssh connection plugin pauses 2**k - 1 seconds (0, 1, 3, 7, ... capped at
// 30; lib/ansible/plugins/connection/ssh.py, _ssh_retry); sshplay starts
// at half a second and spreads each pause by ±25 %, so that a crowd of
// hosts turned away at once (MaxStartups) does not come back at once.
func retryPause(n int) time.Duration {
	d := min(500*time.Millisecond<<min(n-1, 6), 30*time.Second)
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// dialAttempt is one attempt at the whole chain: every jump host, then the
// target. Errors are not yet wrapped in *UnreachableError.
func dialAttempt(ctx context.Context, t Target) (*SSHConn, error) {
	h := &sshHost{target: t, slots: make(chan struct{}, maxSessionsPerHost), stopKA: make(chan struct{}), sftps: newSFTPCache()}
	var via *ssh.Client
	for _, hop := range t.ProxyJump {
		hop = hopDefaults(hop, t)
		c, _, err := dialOne(ctx, hop, via)
		if err != nil {
			h.closeHops()
			return nil, fmt.Errorf("jump host %s: %w", hop.Name, hostless(hop.Name, err))
		}
		h.hops = append(h.hops, c)
		via = c
	}
	c, wc, err := dialOne(ctx, t, via)
	if err != nil {
		h.closeHops()
		return nil, err
	}
	h.client, h.wc = c, wc
	h.lost = make(chan struct{})
	go func() {
		c.Wait()
		close(h.lost)
	}()
	h.ids = newRemoteIDs()
	if t.KeepaliveInterval > 0 {
		go h.keepalive(t.KeepaliveInterval, max(t.KeepaliveCountMax, 1))
	}
	return &SSHConn{h: h}, nil
}

// hopDefaults fills in what a jump host leaves zero from the target.
func hopDefaults(hop, t Target) Target {
	if hop.Port == 0 {
		hop.Port = 22
	}
	if hop.ConnectTimeout <= 0 {
		hop.ConnectTimeout = t.ConnectTimeout
	}
	if hop.HostKeyChecking == "" {
		hop.HostKeyChecking = t.HostKeyChecking
	}
	if hop.Stderr == nil {
		hop.Stderr = t.Stderr
	}
	return hop
}

// dialOne opens one SSH connection to t, over via when set, and returns it
// with the watchedConn it reads through.
func dialOne(ctx context.Context, t Target, via *ssh.Client) (*ssh.Client, *watchedConn, error) {
	addr := t.Address()
	cb, algos, err := hostKeyCallback(t)
	if err != nil {
		return nil, nil, err
	}
	auth := buildAuth(t)
	defer auth.close()
	cfg := &ssh.ClientConfig{User: t.User, Auth: auth.methods, HostKeyCallback: cb, HostKeyAlgorithms: algos}
	nc, proxy, err := connect(ctx, t, via)
	if err != nil {
		return nil, nil, err
	}
	wc := newWatchedConn(nc)
	w := watchHandshake(ctx, wc, addr, t.ConnectTimeout)
	sc, chans, reqs, err := ssh.NewClientConn(wc, addr, cfg)
	why := w.stop()
	if why == nil && err == nil && proxy != nil && !proxy.detach() {
		// From here the ProxyCommand lives as long as the connection,
		// unless the dial was cancelled just now.
		why = fmt.Errorf("ssh handshake with %s: %w", addr, ctx.Err())
	}
	if why != nil {
		if sc != nil {
			sc.Close()
		}
		wc.Close()
		return nil, nil, why
	}
	if err != nil {
		wc.Close()
		return nil, nil, handshakeError(t, addr, auth, err)
	}
	return ssh.NewClient(sc, chans, reqs), wc, nil
}

// connect makes the byte stream to t: a TCP connection (direct or through
// via), or a ProxyCommand. Only the TCP connect is bounded by
// t.ConnectTimeout here; a ProxyCommand's connect shows as the wait for
// the banner, which the handshake watch bounds.
func connect(ctx context.Context, t Target, via *ssh.Client) (net.Conn, *proxyConn, error) {
	addr := t.Address()
	if via == nil && t.ProxyCommand != "" {
		proxy, err := dialProxyCommand(ctx, t.ProxyCommand, addr, t.stderr())
		if err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
		}
		return proxy, proxy, nil
	}
	dctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if via == nil {
		var d net.Dialer
		nc, err = d.DialContext(dctx, "tcp", addr)
	} else {
		nc, err = via.DialContext(dctx, "tcp", addr)
	}
	switch {
	case err == nil:
		return nc, nil, nil
	case dctx.Err() != nil && ctx.Err() == nil:
		return nil, nil, &transientError{fmt.Errorf("connect to %s: timed out after %s", addr, t.ConnectTimeout)}
	case transientConnect(err):
		return nil, nil, &transientError{fmt.Errorf("connect to %s: %w", addr, err)}
	}
	return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
}

// handshakeError types a failed handshake: a *HostKeyError or *AuthError
// as such, a connection the server closed or reset as transient.
func handshakeError(t Target, addr string, auth *authSetup, err error) error {
	var hk *HostKeyError
	switch {
	case errors.As(err, &hk):
		return hk
	case isAuthFailure(err):
		return &AuthError{User: t.User, Addr: t.Addr, Tried: auth.tried, Err: err}
	case droppedByServer(err):
		return &transientError{fmt.Errorf("ssh handshake with %s: server closed the connection: %w", addr, unwrapHandshake(err))}
	}
	return fmt.Errorf("ssh handshake with %s: %w", addr, unwrapHandshake(err))
}

// unwrapHandshake drops x/crypto's "ssh: handshake failed:" prefix when the
// cause is our own error (host key callback).
func unwrapHandshake(err error) error {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "ssh: handshake failed: ") {
		return u
	}
	return err
}

// transientError marks the failure of a connection attempt that another
// attempt may well get past (see the list at the top of this file).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var te *transientError
	return errors.As(err, &te)
}

// transientConnect reports whether a failed TCP connect is worth another
// try: refused or reset (sshd not listening yet, or restarting), a
// temporary DNS failure, a jump host that could not connect onwards.
func transientConnect(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary
	}
	var oc *ssh.OpenChannelError
	return errors.As(err, &oc) && oc.Reason == ssh.ConnectionFailed
}

// droppedByServer reports whether a handshake ended because the server
// closed or reset the connection (an sshd over MaxStartups drops new
// connections exactly so).
func droppedByServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// handshakeWatch ends a handshake that makes no progress: no SSH banner
// within the timeout of the TCP connect, or, after the banner, nothing
// from the server for the timeout. It also ends it when ctx ends.
type handshakeWatch struct {
	quit, done chan struct{}
	why        error
}

func watchHandshake(ctx context.Context, wc *watchedConn, addr string, limit time.Duration) *handshakeWatch {
	w := &handshakeWatch{quit: make(chan struct{}), done: make(chan struct{})}
	go w.run(ctx, wc, addr, limit)
	return w
}

func (w *handshakeWatch) run(ctx context.Context, wc *watchedConn, addr string, limit time.Duration) {
	defer close(w.done)
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-ctx.Done():
			w.why = fmt.Errorf("ssh handshake with %s: %w", addr, ctx.Err())
			wc.Close()
			return
		case <-timer.C:
		}
		// Before the banner, heard is still the connect.
		if left := limit - time.Since(wc.heard()); left > 0 {
			timer.Reset(left)
			continue
		}
		if wc.banner.Load() {
			w.why = fmt.Errorf("ssh handshake with %s: stalled: nothing from the server for %s", addr, limit)
		} else {
			w.why = fmt.Errorf("ssh handshake with %s: no SSH banner from the server within %s", addr, limit)
		}
		w.why = &transientError{w.why}
		wc.Close()
		return
	}
}

// stop ends the watch and returns why it closed the connection, nil when
// it did not.
func (w *handshakeWatch) stop() error {
	close(w.quit)
	<-w.done
	return w.why
}
