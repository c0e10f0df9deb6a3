package transport

// ssh.go is the SSH implementation of Conn on golang.org/x/crypto/ssh: one
// SSH connection per host (through ProxyJump bastions when configured),
// reused by every command and file operation; SFTP over that same connection,
// opened lazily once per become user (a sudo'd sftp-server for become).
// Dialling is in dial.go; telling a live host from a dead one (keepalives,
// cancelled operations) in liveness.go. It never sends a password or a
// become password on a command line, never dials a host a second time for
// the same SSHConn, and never leaves a caller waiting on a host that has
// stopped answering.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"al.essio.dev/pkg/shellescape"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SSHConn is a Conn over one SSH connection. The value Dial returns acts as
// the login user; Become returns views sharing the connection.
type SSHConn struct {
	h    *sshHost
	sudo *Become // nil: the login user
}

var _ Conn = (*SSHConn)(nil)

// maxSessionsPerHost bounds concurrent command sessions on one connection,
// below OpenSSH's MaxSessions (10) with room for the long-lived sessions:
// SFTP and the shells of shell.go, one each per user.
const maxSessionsPerHost = 5

type sshHost struct {
	target Target
	client *ssh.Client
	// wc is what client reads through: when the host last sent anything.
	wc      *watchedConn
	hops    []*ssh.Client
	ids     *remoteIDs
	slots   chan struct{}
	stopKA  chan struct{}
	closeMu sync.Once

	// lost is closed when the SSH connection ends (keepalive timeout,
	// network failure, Close).
	lost chan struct{}

	// shells run commands (shell.go); stats counts what the host was
	// asked (Stats).
	shells shells
	stats  hostStats

	mu     sync.Mutex
	sftps  *sftpCache
	closed bool
	// dead is why the host was given up on (see liveness.go); nil while
	// it answers.
	dead *NoAnswerError
}

// start runs line through /bin/sh -c in a new session. Once ctx ends,
// the host is watched until the command has ended (see watchCancelled):
// a command killed on a host that no longer answers ends with the
// connection, not when the host comes back.
func (h *sshHost) start(ctx context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-h.slots })
	s, err := h.newSession(ctx)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("open session: %w", err)
	}
	s.Stdout, s.Stderr = smallCopy(stdout), smallCopy(stderr)
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		release()
		return nil, nil, err
	}
	if err := s.Start(h.sessionLine(line)); err != nil {
		s.Close()
		release()
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	p := &sshProc{s: s, release: release, ended: make(chan struct{})}
	p.unwatch = context.AfterFunc(ctx, func() { h.watchCancelled(p.ended) })
	return stdin, p, nil
}

// sessionLine is what a session runs for a shell line: the login shell
// (whatever it is) execs /bin/sh, so the line means the same on every
// host, and the login shell does not stay to wait. It counts the sudo the
// line starts, if it does (sudoCall.wrap).
func (h *sshHost) sessionLine(line string) string {
	if strings.HasPrefix(line, "exec sudo ") {
		h.stats.sudo.Add(1)
	}
	return "exec /bin/sh -c " + shellescape.Quote(line)
}

// startPersistent is start for long-lived sessions (sudo'd sftp-server,
// the shells of shell.go);
// they do not count against the command session limit, and outlive ctx
// once started.
func (h *sshHost) startPersistent(ctx context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	s, err := h.newSession(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open session: %w", err)
	}
	s.Stdout, s.Stderr = smallCopy(stdout), smallCopy(stderr)
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	if err := s.Start(h.sessionLine(line)); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	return stdin, &sshProc{s: s, release: func() {}, ended: make(chan struct{}), unwatch: func() bool { return true }}, nil
}

type sshProc struct {
	s       *ssh.Session
	release func()
	// ended is closed when the session has ended; unwatch stops watching
	// the host for the command's context (see start).
	ended   chan struct{}
	unwatch func() bool
}

func (p *sshProc) wait() (int, error) {
	err := p.s.Wait()
	close(p.ended)
	p.unwatch()
	p.s.Close()
	p.release()
	if err == nil {
		return 0, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		if sig := ee.Signal(); sig != "" {
			if c, ok := signalCodes[sig]; ok {
				return c, nil
			}
			return 128, nil
		}
		return ee.ExitStatus(), nil
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return -1, errNoExitStatus
	}
	return -1, err
}

// kill asks sshd to SIGKILL the command's process group and closes the
// session, from its own goroutine: on a host that stopped reading, the
// writes could block until the connection is given up on.
func (p *sshProc) kill() {
	go func() {
		p.s.Signal(ssh.SIGKILL)
		p.s.Close()
	}()
}

// Host is the inventory name.
func (c *SSHConn) Host() string { return c.h.target.Name }

// Target is what this connection was dialled with.
func (c *SSHConn) Target() Target { return c.h.target }

// Run runs cmd through /bin/sh -c on the host (under sudo for a Become
// view). A non-zero exit gives the Result and an *ExitError; a sudo failure
// a *BecomeError. Cancelling ctx kills the command's process group (as the
// become user under Become), closes its session and returns an error
// wrapping ctx.Err(); see Conn.Run.
func (c *SSHConn) Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error) {
	if err := c.h.usable(); err != nil {
		return nil, err
	}
	var sudo *sudoCall
	if c.sudo != nil {
		sudo = newSudoCall(*c.sudo)
	}
	return c.h.run(ctx, cmd, opts, sudo)
}

// run runs cmd through its user's long-lived shell, or on a session of
// its own when that shell is busy or cannot carry the command's stdin.
func (h *sshHost) run(ctx context.Context, cmd string, opts RunOptions, sudo *sudoCall) (*Result, error) {
	h.stats.commands.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, runError(h.target.Name, cmd, err)
	}
	res, err, handled := h.shells.run(ctx, h.target.Name, shellHost{start: h.start, long: h.startPersistent, watch: h.watchCancelled}, cmd, &opts, sudo)
	if !handled {
		res, err = runCommand(ctx, h.target.Name, h.start, cmd, opts, sudo)
	}
	return res, h.checkLost(err)
}

// checkLost turns the error of an operation that failed because the
// connection went away into an *UnreachableError, whose cause is a
// *NoAnswerError when sshplay gave the host up (see liveness.go).
func (h *sshHost) checkLost(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) || h.usable() != nil {
		return err // the command ran, or we closed the connection
	}
	if cause := h.deadCause(); cause != nil {
		return &UnreachableError{Host: h.target.Name, Err: cause}
	}
	if !h.gone() {
		return err
	}
	return &UnreachableError{Host: h.target.Name, Err: fmt.Errorf("connection lost: %w", hostless(h.target.Name, err))}
}

// gone reports whether the connection has ended. Reading from it failing
// says so first: x/crypto ends the sessions (so the operation fails)
// before the client's Wait returns.
func (h *sshHost) gone() bool {
	select {
	case <-h.lost:
		return true
	default:
		return h.wc.broken.Load()
	}
}

// fileOp runs f on this view's SFTP file system (opened on first use).
// SFTP calls do not take a context: guard watches the host once ctx ends,
// so an operation on a host that stops answering returns when its
// connection is given up on.
func (c *SSHConn) fileOp(ctx context.Context, op, path string, f func(fileSystem) error) error {
	var err error
	c.h.guard(ctx, func() {
		fsys, ferr := c.fs(ctx)
		if ferr != nil {
			err = opError(c.Host(), op, path, ferr)
			return
		}
		err = f(fsys)
	})
	return c.h.checkLost(err)
}

// ReadFile reads path over SFTP.
func (c *SSHConn) ReadFile(ctx context.Context, path string) ([]byte, error) {
	var b []byte
	err := c.fileOp(ctx, "read", path, func(fsys fileSystem) (err error) {
		b, err = readFileOp(ctx, c.Host(), fsys, path)
		return err
	})
	return b, err
}

// Stat describes path (not following a final symlink), with owner and
// group names resolved on the host.
func (c *SSHConn) Stat(ctx context.Context, path string) (*FileInfo, error) {
	var fi *FileInfo
	err := c.fileOp(ctx, "stat", path, func(fsys fileSystem) (err error) {
		fi, err = statOp(ctx, c.Host(), fsys, c.ids(), path)
		return err
	})
	return fi, err
}

// WriteFile replaces path atomically over SFTP; see Conn.
func (c *SSHConn) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	return c.fileOp(ctx, "write", path, func(fsys fileSystem) error {
		return writeFileOp(ctx, c.Host(), fsys, c.ids(), path, data, opts)
	})
}

// Remove deletes path; a missing path is not an error.
func (c *SSHConn) Remove(ctx context.Context, path string) error {
	return c.fileOp(ctx, "remove", path, func(fsys fileSystem) error {
		return removeOp(ctx, c.Host(), fsys, path)
	})
}

// ids is the connection's name cache, looking names up through this
// view's own shell (no session of its own).
func (c *SSHConn) ids() idsVia {
	return idsVia{remoteIDs: c.h.ids, run: func(ctx context.Context, cmd string) (string, error) {
		var sudo *sudoCall
		if c.sudo != nil {
			sudo = newSudoCall(*c.sudo)
		}
		res, err := c.h.run(ctx, cmd, RunOptions{}, sudo)
		if res == nil {
			return "", err
		}
		return string(res.Stdout), err
	}}
}

// Become returns a view acting as b.User through sudo. Becoming the login
// user (or Become{}) gives the plain connection.
func (c *SSHConn) Become(b Become) Conn {
	if !b.Enabled {
		return &SSHConn{h: c.h}
	}
	if b.User == "" {
		b.User = "root"
	}
	if b.User == c.h.target.User {
		return &SSHConn{h: c.h}
	}
	return &SSHConn{h: c.h, sudo: &b}
}

// Close closes the SFTP sessions, the connection and any jump hosts. Views
// made by Become share it; closing one closes all. Closing an SFTP session
// waits for the host to confirm; a host that sends nothing for hangAfter
// has its connection closed under it, so Close never hangs on a dead host.
func (c *SSHConn) Close() error {
	var err error
	c.h.closeMu.Do(func() {
		c.h.mu.Lock()
		c.h.closed = true
		c.h.mu.Unlock()
		close(c.h.stopKA)
		now, cancel := context.WithCancel(context.Background())
		cancel()
		c.h.guard(now, func() {
			c.h.shells.closeAll()
			c.h.sftps.closeAll(true)
		})
		err = c.h.client.Close()
		c.h.closeHops()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

func (h *sshHost) closeHops() {
	for i := len(h.hops) - 1; i >= 0; i-- {
		h.hops[i].Close()
	}
}

func (h *sshHost) usable() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("host %s: connection closed", h.target.Name)
	}
	return nil
}

// fs returns the SFTP file system of this view's user, opening it on first
// use (see sftpCache).
func (c *SSHConn) fs(ctx context.Context) (fileSystem, error) {
	key := ""
	if c.sudo != nil {
		key = c.sudo.User
	}
	if err := c.h.usable(); err != nil {
		return nil, errors.New("connection closed")
	}
	cl, err := c.h.sftps.get(ctx, key, c.openSFTP)
	if err != nil {
		return nil, err
	}
	return sftpFS{c: cl, priv: c.sudo != nil}, nil
}

// openSFTP opens the login user's SFTP subsystem, or a sudo'd sftp-server
// for a Become view.
func (c *SSHConn) openSFTP(ctx context.Context) (*sftp.Client, func(), error) {
	if c.sudo != nil {
		s, err := startSudoSFTP(ctx, c.Host(), c.h.startPersistent, newSudoCall(*c.sudo), &c.h.stats.sftpRequests)
		if err != nil {
			return nil, nil, err
		}
		return s.client, s.close, nil
	}
	s, err := c.h.newSession(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open sftp: %w", err)
	}
	cl, err := subsystemClient(s, &c.h.stats.sftpRequests)
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("open sftp: %w", err)
	}
	return cl, func() { cl.Close(); s.Close() }, nil
}

// subsystemClient starts the sftp subsystem on s and speaks SFTP to it,
// counting the requests into n.
func subsystemClient(s *ssh.Session, n *atomic.Int64) (*sftp.Client, error) {
	w, err := s.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := s.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		return nil, err
	}
	return sftp.NewClientPipe(r, countRequests(w, n))
}

// hostStats counts what one connection asked of its host.
type hostStats struct {
	sessions, sudo, sftpRequests, commands atomic.Int64
}

// Stats is what a connection asked of its host so far: a figure of remote
// work (sshplay's JSON output and the benchmark report it).
type Stats struct {
	// Connections is the SSH connections dialled: 1, plus one per jump host.
	Connections int64 `json:"connections"`
	// Sessions is the SSH session channels opened (commands, shells, SFTP).
	Sessions int64 `json:"sessions"`
	// Sudo is the sudo invocations started.
	Sudo int64 `json:"sudo"`
	// SFTPRequests is the SFTP requests sent.
	SFTPRequests int64 `json:"sftp_requests"`
	// Commands is the commands run (Run calls).
	Commands int64 `json:"commands"`
	// RoundTrips is how many times sshplay sent something and then heard
	// back on the connection, the SSH handshake included: the sequential
	// round trips a slow link makes a run wait for (requests sent
	// together count once; a server's unasked output after a window
	// update counts too).
	RoundTrips int64 `json:"round_trips"`
}

// Stats reports what this connection (all its views) asked of the host.
func (c *SSHConn) Stats() Stats {
	st := &c.h.stats
	return Stats{Connections: 1 + int64(len(c.h.hops)), Sessions: st.sessions.Load(), Sudo: st.sudo.Load(),
		SFTPRequests: st.sftpRequests.Load(), Commands: st.commands.Load(), RoundTrips: c.h.wc.turns.Load()}
}

// smallCopy gives a session's output writer a ReadFrom with a 4 KiB
// buffer. x/crypto/ssh copies each session stream with io.Copy, which
// otherwise holds a 32 KiB buffer per stream for the session's whole life:
// with a long-lived shell, sudo'd sftp-server and run lock per host, that
// was the largest share of the heap on a 200-host run. Output arrives in
// channel packets of at most 32 KiB, so the smaller buffer costs a few
// more Write calls on large outputs and nothing else.
func smallCopy(w io.Writer) io.Writer {
	if w == nil {
		return nil // x/crypto then discards the stream (io.Discard)
	}
	return smallCopyWriter{w}
}

type smallCopyWriter struct{ io.Writer }

func (s smallCopyWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 4<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			m, werr := s.Writer.Write(buf[:k])
			n += int64(m)
			if werr != nil {
				return n, werr
			}
			if m < k {
				return n, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
