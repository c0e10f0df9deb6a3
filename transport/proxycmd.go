package transport

// proxycmd.go implements ssh's ProxyCommand: a local shell command whose
// stdin and stdout carry the SSH connection. The command runs in its own
// process group; the group is killed when the dial it was started for is
// cancelled, times out or fails, and the command is ended when the
// connection closes. Its standard error goes to the writer the caller gave
// (PoolOptions.Stderr), never straight to os.Stderr. Nothing else is ever
// killed.

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// proxyConn is a net.Conn over a ProxyCommand's stdin and stdout.
type proxyConn struct {
	lp     *localProcess
	in     io.WriteCloser
	out    io.ReadCloser
	addr   proxyAddr
	once   sync.Once
	waited chan struct{}
	// cancel ends the command's context, which kills its process group.
	cancel context.CancelFunc
	// stopDial detaches the command from the dial's context.
	stopDial func() bool
	detached atomic.Bool
}

type proxyAddr string

func (a proxyAddr) Network() string { return "tcp" }
func (a proxyAddr) String() string  { return string(a) }

// proxyWaitDelay bounds how long reaping the command waits for its stderr
// to be drained after it exited (a background child may hold it open).
const proxyWaitDelay = 2 * time.Second

// dialProxyCommand starts command through /bin/sh -c. Until detach is
// called, ctx being done kills the command's whole process group; after
// it, the command lives until Close.
func dialProxyCommand(ctx context.Context, command, addr string, stderr io.Writer) (*proxyConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The command outlives the dial (it carries the connection), so its
	// own context is cut loose from ctx and tied back to it only while
	// dialling.
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cmd := exec.CommandContext(pctx, "/bin/sh", "-c", command)
	cmd.Stderr = stderr
	cmd.WaitDelay = proxyWaitDelay
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	lp := newLocalProcess(cmd)
	if err := lp.start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start ProxyCommand: %w", err)
	}
	c := &proxyConn{lp: lp, in: in, out: out, addr: proxyAddr(addr), waited: make(chan struct{}), cancel: cancel}
	c.stopDial = context.AfterFunc(ctx, cancel)
	go func() {
		lp.wait()
		close(c.waited)
	}()
	return c, nil
}

// detach hands the command over to the connection once the dial has
// succeeded: cancelling the dial's context no longer kills it. It reports
// false when that context was already done (the command is being killed).
func (c *proxyConn) detach() bool {
	if !c.stopDial() {
		return false
	}
	c.detached.Store(true)
	return true
}

func (c *proxyConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *proxyConn) Write(p []byte) (int, error) { return c.in.Write(p) }

// Close ends the command. The command of a failed or cancelled dial is
// killed at once with its whole process group (closing its stdin first
// could let the leader exit and leave its children running); a connected
// one gets its stdin closed and is killed if it lingers.
func (c *proxyConn) Close() error {
	c.once.Do(func() {
		if !c.detached.Load() {
			c.stopDial()
			c.lp.killGroup()
		}
		c.in.Close()
		select {
		case <-c.waited:
		case <-time.After(100 * time.Millisecond):
			c.lp.killGroup()
			<-c.waited
		}
		c.cancel()
	})
	return nil
}

func (c *proxyConn) LocalAddr() net.Addr                { return proxyAddr("proxycommand") }
func (c *proxyConn) RemoteAddr() net.Addr               { return c.addr }
func (c *proxyConn) SetDeadline(t time.Time) error      { return nil }
func (c *proxyConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *proxyConn) SetWriteDeadline(t time.Time) error { return nil }
