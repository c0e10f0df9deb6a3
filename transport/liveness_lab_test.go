package transport_test

// What a connection does when a real sshd stops answering mid-run: the
// lab host is frozen (SIGSTOP on its sshd and everything under it), so its
// TCP connections stay open and nothing comes back, as with a frozen VM.

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// frozenGiveUp bounds how long a cancelled operation on a frozen host may
// take to return. sshplay gives a cancelled host 5 s to answer; the rest is
// margin for a loaded machine. Before, such an operation waited for the
// keepalive to close the connection, about a minute.
const frozenGiveUp = 20 * time.Second

// wantNoAnswer checks that err says host is unreachable because it stopped
// answering.
func wantNoAnswer(t *testing.T, host, what string, err error) {
	t.Helper()
	var ue *transport.UnreachableError
	var na *transport.NoAnswerError
	if !errors.As(err, &ue) || !errors.As(err, &na) || !strings.Contains(err.Error(), "host "+host+": unreachable: no answer from host for ") {
		t.Errorf("%s: want %s unreachable with no answer from host, got %v", what, host, err)
	}
}

// lineWriter closes seen at the first byte written to it.
type lineWriter struct{ seen chan struct{} }

func (w *lineWriter) Write(p []byte) (int, error) {
	select {
	case <-w.seen:
	default:
		close(w.seen)
	}
	return len(p), nil
}

// runUntilFrozen starts cmd on c, waits for its first output, freezes the
// host, cancels, and returns how long Run took after the cancel and its
// error.
func runUntilFrozen(t *testing.T, l *lab.Lab, host string, c transport.Conn, cmd string) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWriter{seen: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, cmd, transport.RunOptions{Stdout: out})
		errc <- err
	}()
	select {
	case <-out.seen:
	case err := <-errc:
		t.Fatalf("%q ended before the freeze: %v", cmd, err)
	}
	labtest.FreezeSSH(t, l, host)
	time.Sleep(300 * time.Millisecond) // the host is silent now
	t0 := time.Now()
	cancel()
	select {
	case err := <-errc:
		return time.Since(t0), err
	case <-time.After(2 * frozenGiveUp):
		t.Fatalf("Run still waiting on the frozen host %s after the cancel", 2*frozenGiveUp)
	}
	return 0, nil
}

// TestLabCancelOnFrozenHostReturns: a command (plain or through sudo) or
// a file read cancelled while the host is frozen returns within seconds,
// reporting the host unreachable, and closing the connection does not
// wait for the host either.
func TestLabCancelOnFrozenHostReturns(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	for _, tc := range []struct {
		name   string
		become bool
	}{{"command", false}, {"become command", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := labDial(t, l, h, "")
			var conn transport.Conn = c
			if tc.become {
				conn = c.Become(transport.Become{Enabled: true})
			}
			took, err := runUntilFrozen(t, l, h.Name, conn, "echo started; sleep 300")
			wantNoAnswer(t, h.Name, "run", err)
			if took > frozenGiveUp {
				t.Errorf("Run returned %s after the cancel, want within %s", took.Round(time.Millisecond), frozenGiveUp)
			}
			closed := make(chan error, 1)
			go func() { closed <- c.Close() }()
			select {
			case <-closed:
			case <-time.After(frozenGiveUp):
				t.Errorf("Close waited %s on the frozen host", frozenGiveUp)
			}
		})
	}
	t.Run("file read through sudo", func(t *testing.T) {
		c := labDial(t, l, h, "")
		root := c.Become(transport.Become{Enabled: true})
		if _, err := root.ReadFile(context.Background(), "/etc/hostname"); err != nil {
			t.Fatal(err) // the sudo'd sftp-server is running now
		}
		labtest.FreezeSSH(t, l, h.Name)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		_, err := root.ReadFile(ctx, "/etc/hostname")
		wantNoAnswer(t, h.Name, "read", err)
		if took := time.Since(t0); took > frozenGiveUp {
			t.Errorf("ReadFile returned %s after the deadline, want within %s", took.Round(time.Millisecond), frozenGiveUp)
		}
	})
}

// TestLabKeepaliveFromSSHArgsGivesUpOnFrozenHost: with ServerAliveInterval
// and ServerAliveCountMax from ansible_ssh_common_args, a host frozen under
// a running command is given up on after about interval × count, with no
// cancel at all, and the command fails unreachable.
func TestLabKeepaliveFromSSHArgsGivesUpOnFrozenHost(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	c := labDial(t, l, h, "-o ServerAliveInterval=1 -o ServerAliveCountMax=2")
	if tg := c.Target(); tg.KeepaliveInterval != time.Second || tg.KeepaliveCountMax != 2 {
		t.Fatalf("keepalive %s × %d, want 1s × 2", tg.KeepaliveInterval, tg.KeepaliveCountMax)
	}
	out := &lineWriter{seen: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "echo started; sleep 300", transport.RunOptions{Stdout: out, Stderr: io.Discard})
		errc <- err
	}()
	<-out.seen
	labtest.FreezeSSH(t, l, h.Name)
	select {
	case err := <-errc:
		wantNoAnswer(t, h.Name, "run", err)
	case <-time.After(frozenGiveUp):
		t.Fatalf("Run still waiting %s after the host froze, with a 2 s keepalive limit", frozenGiveUp)
	}
}
