package transport

// liveness.go tells a host that answers from one that does not. Every SSH
// connection reads through a watchedConn, which notes when the host last
// sent anything at all; that one clock drives three rules:
//
//   - the keepalive: a connection from which nothing arrived for
//     ServerAliveInterval × ServerAliveCountMax is closed, as ssh(1) does;
//   - cancellation: an operation whose context ends (Ctrl-C, a task
//     timeout) sends a keepalive, and a host that then sends nothing at
//     all for hangAfter (not the end of the killed command, not the
//     keepalive's reply) is declared dead and its connection closed, which
//     ends every operation still waiting on it;
//   - the handshake (dial.go): a handshake fails when the server stops
//     sending, not when it is slow as a whole.
//
// A dead host's operations fail with an *UnreachableError wrapping a
// *NoAnswerError. Nothing here ever waits on the host itself: probes are
// sent from their own goroutines and only the clock is read.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxHangAfter is how long a host may send nothing at all after an
// operation on it was cancelled before it is declared dead. A live sshd
// answers a keepalive in milliseconds; 5 s leaves room for a loaded one,
// and bounds how long Ctrl-C waits for a frozen host.
const maxHangAfter = 5 * time.Second

// hangAfter is maxHangAfter, or the keepalive's own limit when that is
// shorter: a user who declares a host dead after 2 s of silence does not
// want a cancel to wait 5.
func (h *sshHost) hangAfter() time.Duration {
	t := h.target
	if limit := t.KeepaliveInterval * time.Duration(max(t.KeepaliveCountMax, 1)); limit > 0 {
		return min(limit, maxHangAfter)
	}
	return maxHangAfter
}

// NoAnswerError is why a connection was closed: the host sent nothing —
// no output, no reply to a keepalive — for Silence. It comes wrapped in an
// *UnreachableError.
type NoAnswerError struct {
	Silence time.Duration
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer from host for %s", e.Silence.Round(time.Second))
}

// watchedConn is a net.Conn that notes when the peer last sent data and
// whether its first line (the SSH banner) has arrived.
type watchedConn struct {
	net.Conn
	// lastRead is the UnixNano of the last Read that returned data, or of
	// the TCP connect while none has.
	lastRead atomic.Int64
	banner   atomic.Bool
	// broken is set once a Read failed: the connection has ended.
	broken atomic.Bool
	// sent is set by a Write and cleared by the next Read that returns
	// data; turns counts those Reads: the times the client spoke and then
	// heard back, the sequential round trips on the wire (requests sent
	// together count once).
	sent  atomic.Bool
	turns atomic.Int64
}

func (c *watchedConn) Write(p []byte) (int, error) {
	c.sent.Store(true)
	return c.Conn.Write(p)
}

func newWatchedConn(c net.Conn) *watchedConn {
	w := &watchedConn{Conn: c}
	w.lastRead.Store(time.Now().UnixNano())
	return w
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if c.sent.Swap(false) {
			c.turns.Add(1)
		}
		c.lastRead.Store(time.Now().UnixNano())
		if !c.banner.Load() && bytes.IndexByte(p[:n], '\n') >= 0 {
			c.banner.Store(true)
		}
	}
	if err != nil {
		c.broken.Store(true)
	}
	return n, err
}

// heard is when the peer last sent anything (the connect, before that).
func (c *watchedConn) heard() time.Time { return time.Unix(0, c.lastRead.Load()) }

// probe asks the host for a reply (keepalive@openssh.com) without waiting
// for it: the reply, or a refusal, shows up as data on the watchedConn.
func probe(c *ssh.Client) {
	go func() { _, _, _ = c.SendRequest("keepalive@openssh.com", true, nil) }()
}

// keepalive watches the connection while it is open: when the host has
// sent nothing for interval it is probed (at most once per interval), and
// when it has sent nothing for interval × countMax — with a probe left
// unanswered for a whole interval, so that a control machine waking from
// sleep asks before it judges — it is declared dead.
func (h *sshHost) keepalive(interval time.Duration, countMax int) {
	limit := interval * time.Duration(countMax)
	tick := time.NewTicker(min(interval, time.Second))
	defer tick.Stop()
	var probed time.Time
	for {
		select {
		case <-h.stopKA:
			return
		case <-h.lost:
			return
		case <-tick.C:
		}
		heard := h.wc.heard()
		silent := time.Since(heard)
		if silent >= limit && probed.After(heard) && time.Since(probed) >= interval {
			h.declareDead(silent)
			return
		}
		if silent >= interval && time.Since(probed) >= interval {
			probed = time.Now()
			probe(h.client)
		}
	}
}

// declareDead records why the host is given up on and closes its
// connection, which ends every operation waiting on it.
func (h *sshHost) declareDead(silent time.Duration) {
	h.mu.Lock()
	if h.dead == nil {
		h.dead = &NoAnswerError{Silence: silent}
	}
	h.mu.Unlock()
	h.client.Close()
}

// deadCause is the *NoAnswerError the host was given up with, or nil.
func (h *sshHost) deadCause() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dead == nil {
		return nil
	}
	return h.dead
}

// watchCancelled runs once an operation's context has ended, until done
// is closed (the operation returned): it probes the host every
// hangAfter(), and declares it dead when nothing at all arrived since the
// last probe.
// A live host keeps answering, so an operation on it is waited for as
// long as it takes to end (a killed command, a file operation).
func (h *sshHost) watchCancelled(done <-chan struct{}) {
	for {
		asked := time.Now()
		probe(h.client)
		select {
		case <-done:
			return
		case <-h.lost:
			return
		case <-time.After(h.hangAfter()):
		}
		if heard := h.wc.heard(); heard.Before(asked) {
			h.declareDead(time.Since(heard))
			return
		}
	}
}

// guard runs op (which may block on the host without honouring ctx, as
// SFTP calls do) and, once ctx ends, watches the host: op on a host that
// stops answering returns when its connection is closed. op always runs
// to its end before guard returns; nothing is left running behind the
// caller's back.
func (h *sshHost) guard(ctx context.Context, op func()) {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { h.watchCancelled(done) })
	op()
	close(done)
	stop()
}

// newSession opens a session channel. Opening waits for the host's
// confirmation, which a frozen host never sends: once ctx ends, the host
// is watched (watchCancelled) until the confirmation comes, the session
// then being closed at once, or the host is given up on.
func (h *sshHost) newSession(ctx context.Context) (*ssh.Session, error) {
	type opened struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan opened, 1)
	h.stats.sessions.Add(1)
	go func() {
		s, err := h.client.NewSession()
		ch <- opened{s, err}
	}()
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
	}
	arrived := make(chan struct{})
	go func() {
		if o := <-ch; o.s != nil {
			o.s.Close()
		}
		close(arrived)
	}()
	h.watchCancelled(arrived)
	return nil, ctx.Err()
}
