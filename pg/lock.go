package pg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// LockName is the run lock of a cluster, in its data directory: one run of
// the TLS job at a time per cluster, so that a second run can never roll
// back, or plan against, what the first one is doing.
const LockName = ".sshplay-lock"

// LockHeldError says another run holds the cluster's lock.
type LockHeldError struct {
	Host, Holder string
	Waited       time.Duration
}

func (e *LockHeldError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another run (it did not say who)"
	}
	wait := "did not wait (pg_lock_timeout is 0, or that run started after this one)"
	if e.Waited > 0 {
		wait = "waited " + e.Waited.String()
	}
	return fmt.Sprintf("host %s: another sshplay run holds this cluster's lock: %s; %s. The lock goes when that run ends or its SSH connection drops", e.Host, holder, wait)
}

// Lock markers on the holding command's output.
const (
	lockedMarker = "@@sshplay-locked@@"
	heldMarker   = "@@sshplay-held@@"
)

// lockScript finds the data directory in the server's socket lock file
// (its second line, read with the shell's own read: no psql, no process) and takes an exclusive flock(1) on the
// lock file there. It writes "STARTED|holder" into it and then keeps the
// lock by reading its standard input until the control machine closes it
// — or until the SSH session goes away, whatever killed the run: the
// kernel drops a flock with the last process holding it, so a dead run
// never leaves a stale lock behind.
//
// Waiting is one-way so that two runs that each got some of the hosts
// cannot wait for each other forever: only a run that started later
// (STARTED compares as a string) waits, up to wait, for the holder; an
// earlier run that finds a later one holding the lock gives that host up
// at once.
func lockScript(t Target, started, holder string, wait time.Duration) string {
	q := `"$f"`
	return "command -v flock >/dev/null 2>&1 || { echo 'flock(1) not found on the host (util-linux)' >&2; exit 4; }\n" +
		socketDirScript(t) +
		"dd=; { read -r _; read -r dd; } 2>/dev/null < \"$sock/.s.PGSQL." + strconv.Itoa(t.port()) + ".lock\"; [ -n \"$dd\" ] || { echo \"no PostgreSQL server on socket $sock port " + strconv.Itoa(t.port()) + "\" >&2; exit 5; }\n" +
		"f=$dd/" + LockName + "; me=" + shellescape.Quote(started) + "\n" +
		"exec 9>>" + q + " || exit 2\n" +
		"held() { printf '" + heldMarker + "\\n'; head -c 512 " + q + "; exit 3; }\n" +
		"if ! flock -x -n 9; then\n" +
		" h=$(head -c 512 " + q + "); theirs=${h%%|*}\n" +
		" if expr \"x$me\" \\< \"x$theirs\" >/dev/null; then held; fi\n" +
		" flock -x -w " + strconv.Itoa(int(wait.Seconds())) + " 9 || held\n" +
		"fi\n" +
		"printf '%s|%s\\n' \"$me\" " + shellescape.Quote(holder) + " > " + q + "\n" +
		"printf '" + lockedMarker + "\\n'\n" +
		"exec cat >/dev/null\n"
}

// RunLock is a held lock. Release ends the holding command; the lock also
// goes when the connection closes.
type RunLock struct {
	stdin *io.PipeWriter
	done  chan struct{}
}

// Release lets the lock go and waits (briefly) for the holder to end.
func (l *RunLock) Release() {
	l.stdin.Close()
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
	}
}

// signalWriter collects a command's output and reports, once, the first
// marker line it sees.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen chan string
	sent bool
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		for _, m := range []string{lockedMarker, heldMarker} {
			if bytes.Contains(w.buf.Bytes(), []byte(m+"\n")) {
				w.sent = true
				w.seen <- m
				break
			}
		}
	}
	return len(p), nil
}

func (w *signalWriter) after(marker string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, rest, _ := strings.Cut(w.buf.String(), marker+"\n")
	rest = strings.TrimSpace(rest)
	if _, human, ok := strings.Cut(rest, "|"); ok {
		return human
	}
	return rest
}

// AcquireRunLock takes the run lock of the cluster t reaches, waiting up to
// wait for another run that started before this one (started: the run's
// sshplay_run_started) to end. holder says who takes
// it (shown to a run that finds it held). The lock is held by a command on
// c that lives until Release or until the connection closes, so it is not
// bound to ctx beyond the acquisition.
func AcquireRunLock(ctx context.Context, c transport.Conn, t Target, started, holder string, wait time.Duration) (*RunLock, error) {
	pr, pw := io.Pipe()
	out := &signalWriter{seen: make(chan string, 1)}
	l := &RunLock{stdin: pw, done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		defer close(l.done)
		_, err := c.Run(context.WithoutCancel(ctx), lockScript(t, started, holder, wait), transport.RunOptions{Stdin: pr, Stdout: out})
		errc <- err
	}()
	start := time.Now()
	select {
	case m := <-out.seen:
		if m == lockedMarker {
			return l, nil
		}
		pw.Close()
		<-errc // the holder's name follows the marker
		return nil, &LockHeldError{Host: c.Host(), Holder: out.after(heldMarker), Waited: time.Since(start).Round(time.Second)}
	case err := <-errc:
		pw.Close()
		if err == nil {
			err = errors.New("the lock command ended without taking the lock")
		}
		return nil, fmt.Errorf("host %s: take the run lock (%s in the data directory): %w", c.Host(), LockName, err)
	case <-ctx.Done():
		pw.Close()
		return nil, ctx.Err()
	}
}
