package transport

// ssh.go is the SSH implementation of Conn on golang.org/x/crypto/ssh: one
// SSH connection per host (through ProxyJump bastions when configured),
// reused by every command and file operation; SFTP over that same connection,
// opened lazily once per become user (a sudo'd sftp-server for become);
// keepalives that close a dead connection. It never sends a password or a
// become password on a command line, and never dials a host a second time
// for the same SSHConn.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

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
	target  Target
	client  *ssh.Client
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
}

// Dial connects to t (through t.ProxyJump, if any), checks its host key and
// logs in. Any failure is an *UnreachableError wrapping the cause: a
// *HostKeyError, an *AuthError, or a network error.
func Dial(ctx context.Context, t Target) (*SSHConn, error) {
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
	h := &sshHost{target: t, slots: make(chan struct{}, maxSessionsPerHost), stopKA: make(chan struct{}), sftps: newSFTPCache()}
	var via *ssh.Client
	for _, hop := range t.ProxyJump {
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
		c, err := dialOne(ctx, hop, via)
		if err != nil {
			h.closeHops()
			return nil, &UnreachableError{Host: t.Name, Err: fmt.Errorf("jump host %s: %w", hop.Name, hostless(hop.Name, err))}
		}
		h.hops = append(h.hops, c)
		via = c
	}
	c, err := dialOne(ctx, t, via)
	if err != nil {
		h.closeHops()
		return nil, &UnreachableError{Host: t.Name, Err: err}
	}
	h.client = c
	h.lost = make(chan struct{})
	go func() {
		c.Wait()
		close(h.lost)
	}()
	h.ids = newRemoteIDs(func(ctx context.Context, cmd string) (string, error) {
		res, err := runCommand(ctx, t.Name, h.start, cmd, RunOptions{}, nil)
		if res == nil {
			return "", err
		}
		return string(res.Stdout), err
	})
	if t.KeepaliveInterval > 0 {
		go h.keepalive(t.KeepaliveInterval, max(t.KeepaliveCountMax, 1))
	}
	return &SSHConn{h: h}, nil
}

// dialOne opens one SSH connection to t, over via when set.
func dialOne(ctx context.Context, t Target, via *ssh.Client) (*ssh.Client, error) {
	addr := t.Address()
	cb, algos, err := hostKeyCallback(t)
	if err != nil {
		return nil, err
	}
	auth := buildAuth(t)
	defer auth.close()
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              auth.methods,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
		Timeout:           t.ConnectTimeout,
	}
	dctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	var nc net.Conn
	var proxy *proxyConn
	switch {
	case via == nil && t.ProxyCommand != "":
		if proxy, err = dialProxyCommand(dctx, t.ProxyCommand, addr, t.stderr()); err == nil {
			nc = proxy
		}
	case via == nil:
		var d net.Dialer
		nc, err = d.DialContext(dctx, "tcp", addr)
	default:
		nc, err = via.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		if dctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("connect to %s: timed out after %s", addr, t.ConnectTimeout)
		}
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	// A watchdog rather than SetDeadline: channels through a jump host do
	// not support deadlines.
	stop := context.AfterFunc(dctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	ok := stop()
	if ok && err == nil && proxy != nil {
		// From here the ProxyCommand lives as long as the connection.
		ok = proxy.detach()
	}
	if !ok {
		if sc != nil {
			sc.Close()
		}
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ssh handshake with %s: %w", addr, ctx.Err())
		}
		return nil, fmt.Errorf("ssh handshake with %s: timed out after %s", addr, t.ConnectTimeout)
	}
	if err != nil {
		nc.Close()
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, hk
		}
		if isAuthFailure(err) {
			return nil, &AuthError{User: t.User, Addr: t.Addr, Tried: auth.tried, Err: err}
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, unwrapHandshake(err))
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// unwrapHandshake drops x/crypto's "ssh: handshake failed:" prefix when the
// cause is our own error (host key callback).
func unwrapHandshake(err error) error {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "ssh: handshake failed: ") {
		return u
	}
	return err
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection after max unanswered requests in a row.
func (h *sshHost) keepalive(interval time.Duration, max int) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	missed := 0
	for {
		select {
		case <-h.stopKA:
			return
		case <-tick.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := h.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case <-h.stopKA:
			return
		case err := <-reply:
			if err != nil {
				h.client.Close()
				return
			}
			missed = 0
		case <-time.After(interval):
			missed++
			if missed >= max {
				h.client.Close()
				return
			}
		}
	}
}

// start runs line through /bin/sh -c in a new session.
func (h *sshHost) start(ctx context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-h.slots })
	s, err := h.client.NewSession()
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
	return stdin, &sshProc{s: s, release: release}, nil
}

// startPersistent is start for long-lived sessions (sudo'd sftp-server);
// they do not count against the command session limit.
func (h *sshHost) startPersistent(_ context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	s, err := h.client.NewSession()
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
	return stdin, &sshProc{s: s, release: func() {}}, nil
}

type sshProc struct {
	s       *ssh.Session
	release func()
}

func (p *sshProc) wait() (int, error) {
	err := p.s.Wait()
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

func (p *sshProc) kill() {
	p.s.Signal(ssh.SIGKILL)
	p.s.Close()
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
// connection went away into an *UnreachableError.
func (h *sshHost) checkLost(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	select {
	case <-h.lost:
		if h.usable() != nil {
			return err // closed by us
		}
		return &UnreachableError{Host: h.target.Name, Err: fmt.Errorf("connection lost: %w", hostless(h.target.Name, err))}
	default:
		return err
	}
}

// ReadFile reads path over SFTP.
func (c *SSHConn) ReadFile(ctx context.Context, path string) ([]byte, error) {
	fsys, err := c.fs(ctx)
	if err != nil {
		return nil, c.h.checkLost(opError(c.Host(), "read", path, err))
	}
	b, err := readFileOp(ctx, c.Host(), fsys, path)
	return b, c.h.checkLost(err)
}

// Stat describes path (not following a final symlink), with owner and
// group names resolved on the host.
func (c *SSHConn) Stat(ctx context.Context, path string) (*FileInfo, error) {
	fsys, err := c.fs(ctx)
	if err != nil {
		return nil, c.h.checkLost(opError(c.Host(), "stat", path, err))
	}
	fi, err := statOp(ctx, c.Host(), fsys, c.h.ids, path)
	return fi, c.h.checkLost(err)
}

// WriteFile replaces path atomically over SFTP; see Conn.
func (c *SSHConn) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	fsys, err := c.fs(ctx)
	if err != nil {
		return c.h.checkLost(opError(c.Host(), "write", path, err))
	}
	return c.h.checkLost(writeFileOp(ctx, c.Host(), fsys, c.h.ids, path, data, opts))
}

// Remove deletes path; a missing path is not an error.
func (c *SSHConn) Remove(ctx context.Context, path string) error {
	fsys, err := c.fs(ctx)
	if err != nil {
		return c.h.checkLost(opError(c.Host(), "remove", path, err))
	}
	return c.h.checkLost(removeOp(ctx, c.Host(), fsys, path))
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
// made by Become share it; closing one closes all.
func (c *SSHConn) Close() error {
	var err error
	c.h.closeMu.Do(func() {
		c.h.mu.Lock()
		c.h.closed = true
		c.h.mu.Unlock()
		close(c.h.stopKA)
		c.h.sftps.closeAll(true)
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
