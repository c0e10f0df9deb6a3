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
// below OpenSSH's MaxSessions (10) with room for the SFTP sessions.
const maxSessionsPerHost = 6

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

	mu         sync.Mutex
	sftps      *sftpCache
	serverPath string
	closed     bool
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
	s.Stdout, s.Stderr = stdout, stderr
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		release()
		return nil, nil, err
	}
	if err := s.Start("/bin/sh -c " + shellescape.Quote(line)); err != nil {
		s.Close()
		release()
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	p := &sshProc{s: s, release: release, ended: make(chan struct{})}
	p.unwatch = context.AfterFunc(ctx, func() { h.watchCancelled(p.ended) })
	return stdin, p, nil
}

// startPersistent is start for long-lived sessions (sudo'd sftp-server);
// they do not count against the command session limit, and outlive ctx
// once started.
func (h *sshHost) startPersistent(ctx context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	s, err := h.newSession(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open session: %w", err)
	}
	s.Stdout, s.Stderr = stdout, stderr
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	if err := s.Start("/bin/sh -c " + shellescape.Quote(line)); err != nil {
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
	res, err := runCommand(ctx, c.Host(), c.h.start, cmd, opts, sudo)
	return res, c.h.checkLost(err)
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
		fi, err = statOp(ctx, c.Host(), fsys, c.h.ids, path)
		return err
	})
	return fi, err
}

// WriteFile replaces path atomically over SFTP; see Conn.
func (c *SSHConn) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	return c.fileOp(ctx, "write", path, func(fsys fileSystem) error {
		return writeFileOp(ctx, c.Host(), fsys, c.h.ids, path, data, opts)
	})
}

// Remove deletes path; a missing path is not an error.
func (c *SSHConn) Remove(ctx context.Context, path string) error {
	return c.fileOp(ctx, "remove", path, func(fsys fileSystem) error {
		return removeOp(ctx, c.Host(), fsys, path)
	})
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
		c.h.guard(now, func() { c.h.sftps.closeAll(true) })
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
	return sftpFS{c: cl}, nil
}

// openSFTP opens the login user's SFTP subsystem, or a sudo'd sftp-server
// for a Become view.
func (c *SSHConn) openSFTP(ctx context.Context) (*sftp.Client, func(), error) {
	if c.sudo == nil {
		cl, err := sftp.NewClient(c.h.client)
		if err != nil {
			return nil, nil, fmt.Errorf("open sftp: %w", err)
		}
		return cl, func() { cl.Close() }, nil
	}
	path, err := c.h.sftpServerPath(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := startSudoSFTP(ctx, c.Host(), c.h.startPersistent, path, newSudoCall(*c.sudo))
	if err != nil {
		return nil, nil, err
	}
	return s.client, func() { s.client.Close() }, nil
}

// sftpServerPath finds the sftp-server binary once per host.
func (h *sshHost) sftpServerPath(ctx context.Context) (string, error) {
	h.mu.Lock()
	p := h.serverPath
	h.mu.Unlock()
	if p != "" {
		return p, nil
	}
	res, err := runCommand(ctx, h.target.Name, h.start, findSFTPServerCmd(), RunOptions{}, nil)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("no sftp-server found (looked in %s)", strings.Join(sftpServerPaths, ", "))
		}
		return "", err
	}
	p = strings.TrimSpace(string(res.Stdout))
	h.mu.Lock()
	h.serverPath = p
	h.mu.Unlock()
	return p, nil
}
