package transport

// Fast tests of the liveness and dial rules against the in-process SSH
// server behind a relay that can freeze (a host that stops answering, as a
// frozen VM does: the TCP connection stays open, nothing comes back), slow
// every chunk down (a busy sshd), or turn connections away.

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// relay forwards TCP connections to target.
type relay struct {
	addr   string
	target string
	// turnAway is how many connections to close right after accepting
	// (as an sshd over MaxStartups does).
	turnAway atomic.Int32
	// delay holds back every chunk from the server this long.
	delay atomic.Int64
	// stallAfterFirst freezes the relay once the server's first chunk
	// (its banner) went through.
	stallAfterFirst atomic.Bool
	// accepted counts connections, turned away ones included.
	accepted atomic.Int32

	mu     sync.Mutex
	frozen bool
	thaw   *sync.Cond
}

func newRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String(), target: target}
	r.thaw = sync.NewCond(&r.mu)
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		r.setFrozen(false)
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.accepted.Add(1)
			if r.turnAway.Add(-1) >= 0 {
				c.Close()
				continue
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				r.serve(c)
			}()
		}
	}()
	return r
}

func (r *relay) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer s.Close()
	go r.pipe(s, c, false)
	r.pipe(c, s, true)
}

// pipe copies src to dst chunk by chunk, waiting while the relay is frozen
// (and, from the server, for the delay).
func (r *relay) pipe(dst, src net.Conn, fromServer bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(r.delay.Load()); fromServer && d > 0 {
				time.Sleep(d)
			}
			r.mu.Lock()
			for r.frozen {
				r.thaw.Wait()
			}
			r.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
			if fromServer && r.stallAfterFirst.CompareAndSwap(true, false) {
				r.setFrozen(true)
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *relay) setFrozen(v bool) {
	r.mu.Lock()
	r.frozen = v
	r.mu.Unlock()
	r.thaw.Broadcast()
}

// relayedTarget is f's target reached through a new relay.
func relayedTarget(t *testing.T, f *fixture) (Target, *relay) {
	t.Helper()
	r := newRelay(t, f.srv.addr)
	host, port, _ := net.SplitHostPort(r.addr)
	tg := f.target
	tg.Addr = host
	tg.Port, _ = parsePort(port)
	// known_hosts names the server's own address.
	tg.HostKeyChecking = HostKeyOff
	return tg, r
}

// wantNoAnswer checks err is an *UnreachableError caused by a
// *NoAnswerError, naming the host.
func wantNoAnswer(t *testing.T, what string, err error) {
	t.Helper()
	var ue *UnreachableError
	var na *NoAnswerError
	if !errors.As(err, &ue) || !errors.As(err, &na) || !strings.HasPrefix(err.Error(), "host db3: unreachable: no answer from host for ") {
		t.Errorf("%s: want host db3 unreachable with no answer, got %v", what, err)
	}
}

// TestKeepaliveGivesUpOnSilentHost: a host that stops sending anything is
// given up on after KeepaliveInterval × KeepaliveCountMax, without any
// operation running; later operations fail unreachable at once.
func TestKeepaliveGivesUpOnSilentHost(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg, r := relayedTarget(t, f)
	tg.KeepaliveInterval, tg.KeepaliveCountMax = 50*time.Millisecond, 2
	c := dialT(t, tg)
	if _, err := c.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	r.setFrozen(true)
	select {
	case <-c.h.lost:
	case <-time.After(deadlockGuard):
		t.Fatal("connection still open after the host went silent")
	}
	_, err := c.Run(context.Background(), "true", RunOptions{})
	wantNoAnswer(t, "run", err)
	_, err = c.ReadFile(context.Background(), "/etc/hostname")
	wantNoAnswer(t, "read", err)
}

// TestKeepaliveKeepsQuietLiveHost: a command that prints nothing for many
// keepalive limits is not mistaken for a dead host: the host answers the
// keepalives.
func TestKeepaliveKeepsQuietLiveHost(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg := f.target
	tg.KeepaliveInterval, tg.KeepaliveCountMax = 300*time.Millisecond, 3
	c := dialT(t, tg)
	if res, err := c.Run(context.Background(), "sleep 3; echo done", RunOptions{}); err != nil || string(res.Stdout) != "done\n" {
		t.Fatalf("quiet command on a live host: %v", err)
	}
}

// TestCancelOnFrozenHostDoesNotWait: operations cancelled while the host
// answers nothing return once the host is given up on (hangAfter after the
// cancel), not when the host comes back: a command, a file read, and
// Close.
func TestCancelOnFrozenHostDoesNotWait(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg, r := relayedTarget(t, f)
	// hangAfter is the keepalive limit, 2 s; the keepalive itself would
	// give up only after a probe went unanswered for 2 s, at about 4 s.
	tg.KeepaliveInterval, tg.KeepaliveCountMax = 2*time.Second, 1
	c := dialT(t, tg)
	if _, err := c.ReadFile(context.Background(), "/etc/hostname"); err != nil {
		t.Fatal(err)
	}
	r.setFrozen(true)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "sleep 300", RunOptions{})
		runErr <- err
	}()
	readErr := make(chan error, 1)
	go func() {
		_, err := c.ReadFile(ctx, "/etc/hostname")
		readErr <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	for what, ch := range map[string]chan error{"run": runErr, "read": readErr} {
		select {
		case err := <-ch:
			wantNoAnswer(t, what, err)
		case <-time.After(deadlockGuard):
			t.Fatalf("%s still waiting on the frozen host after cancel", what)
		}
	}
	requireCloseReturns(t, c)
}

// TestCloseDoesNotWaitOnFrozenHost: closing a connection whose host froze
// with an SFTP session open (closing it waits for the server) returns
// once the host is given up on.
func TestCloseDoesNotWaitOnFrozenHost(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg, r := relayedTarget(t, f)
	// Close stops the keepalive first: only its own watch may give up,
	// after hangAfter (the keepalive limit, 2 s).
	tg.KeepaliveInterval, tg.KeepaliveCountMax = 2*time.Second, 1
	c := dialT(t, tg)
	if _, err := c.ReadFile(context.Background(), "/etc/hostname"); err != nil {
		t.Fatal(err)
	}
	r.setFrozen(true)
	requireCloseReturns(t, c)
}

// TestSlowHandshakeWithProgressSucceeds: a server that sends every part
// of the handshake late, but never stays silent for the connect timeout,
// is connected to even though the whole handshake takes several times
// the timeout.
func TestSlowHandshakeWithProgressSucceeds(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg, r := relayedTarget(t, f)
	tg.ConnectTimeout = time.Second
	r.delay.Store(int64(300 * time.Millisecond))
	t0 := time.Now()
	c := dialT(t, tg)
	took := time.Since(t0)
	r.delay.Store(0)
	if _, err := c.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if took < tg.ConnectTimeout {
		t.Logf("handshake took %s, under the timeout: the delay did not slow it down", took)
	}
}

// TestStalledHandshakeFails: a server that sends its banner and then
// nothing fails the dial after the timeout, as a transient failure that
// Retries tries again.
func TestStalledHandshakeFails(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg, r := relayedTarget(t, f)
	tg.ConnectTimeout = 300 * time.Millisecond
	r.stallAfterFirst.Store(true)
	tg.Retries = 1
	var retried []error
	tg.OnRetry = func(_ int, err error, _ time.Duration) {
		retried = append(retried, err)
		r.setFrozen(false)
	}
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	c.Close()
	if len(retried) != 1 || !strings.Contains(retried[0].Error(), "ssh handshake with "+r.addr+": stalled: nothing from the server for 300ms") {
		t.Errorf("retried after %q, want one stalled handshake", retried)
	}
}

// TestTurnedAwayConnectionRetried: connections the server closes during
// the handshake (MaxStartups) are retried up to Retries times; with no
// retries left the host is unreachable, saying how many attempts it took.
func TestTurnedAwayConnectionRetried(t *testing.T) {
	f := newFixture(t, serverOpts{})
	tg, r := relayedTarget(t, f)
	r.turnAway.Store(2)
	tg.Retries = 2
	var attempts []int
	tg.OnRetry = func(n int, err error, pause time.Duration) {
		attempts = append(attempts, n)
		if !strings.Contains(err.Error(), "server closed the connection") || pause <= 0 || pause > 30*time.Second {
			t.Errorf("attempt %d: %v, pause %s", n, err, pause)
		}
	}
	c := dialT(t, tg)
	if _, err := c.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || r.accepted.Load() != 3 {
		t.Errorf("retries %v, %d connections; want 2 retries, 3 connections", attempts, r.accepted.Load())
	}

	r.turnAway.Store(5)
	r.accepted.Store(0)
	tg.OnRetry = nil
	_, err := Dial(context.Background(), tg)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.HasSuffix(err.Error(), "(after 3 attempts)") || r.accepted.Load() != 3 {
		t.Errorf("want unreachable after 3 attempts, got %v (%d connections)", err, r.accepted.Load())
	}
}

// TestPermanentFailuresNotRetried: a refused login or an unknown host key
// fails on the first attempt whatever Retries says.
func TestPermanentFailuresNotRetried(t *testing.T) {
	f := newFixture(t, serverOpts{})
	for name, edit := range map[string]func(*Target){
		"auth":     func(tg *Target) { tg.KeyFiles = []string{mustKey(t)} },
		"host key": func(tg *Target) { tg.HostKeyChecking = HostKeyStrict },
	} {
		t.Run(name, func(t *testing.T) {
			tg, r := relayedTarget(t, f)
			tg.Retries = 3
			tg.OnRetry = func(n int, err error, _ time.Duration) { t.Errorf("retried %s: %v", name, err) }
			edit(&tg)
			if _, err := Dial(context.Background(), tg); err == nil || r.accepted.Load() != 1 {
				t.Errorf("%s: %v after %d connections, want one failed attempt", name, err, r.accepted.Load())
			}
		})
	}
}

// mustKey writes a key the test server does not accept.
func mustKey(t *testing.T) string {
	k, _ := writeKey(t, t.TempDir(), "other", "")
	return k
}

// TestRetryPauseGrows: pauses start near half a second, grow, and stay
// under Ansible's 30 s cap.
func TestRetryPauseGrows(t *testing.T) {
	t.Parallel()
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		p := retryPause(n)
		lo := min(500*time.Millisecond<<min(n-1, 6), 30*time.Second) * 3 / 4
		if p < lo || p > 30*time.Second*5/4 {
			t.Errorf("pause %d = %s", n, p)
		}
		if n <= 6 && p <= prev/2 {
			t.Errorf("pause %d = %s after %s", n, p, prev)
		}
		prev = p
	}
}

// requireCloseReturns fails the test when closing c waits on its frozen
// host past deadlockGuard.
func requireCloseReturns(t *testing.T, c *SSHConn) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
	case <-time.After(deadlockGuard):
		t.Fatal("Close waits on the frozen host")
	}
}
