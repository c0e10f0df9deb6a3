package transport

// proxycmd.go implements ssh's ProxyCommand: a local shell command whose
// stdin and stdout carry the SSH connection. The command runs in its own
// process group and is killed when the connection closes; nothing else is
// ever killed.

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
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
}

type proxyAddr string

func (a proxyAddr) Network() string { return "tcp" }
func (a proxyAddr) String() string  { return string(a) }

func dialProxyCommand(command, addr string) (net.Conn, error) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	lp, err := startLocalProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("start ProxyCommand: %w", err)
	}
	c := &proxyConn{lp: lp, in: in, out: out, addr: proxyAddr(addr), waited: make(chan struct{})}
	go func() {
		lp.wait()
		close(c.waited)
	}()
	return c, nil
}

func (c *proxyConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *proxyConn) Write(p []byte) (int, error) { return c.in.Write(p) }

// Close ends the command: stdin closed, then killed if it lingers.
func (c *proxyConn) Close() error {
	c.once.Do(func() {
		c.in.Close()
		select {
		case <-c.waited:
		case <-time.After(100 * time.Millisecond):
			c.lp.killGroup()
			<-c.waited
		}
	})
	return nil
}

func (c *proxyConn) LocalAddr() net.Addr                { return proxyAddr("proxycommand") }
func (c *proxyConn) RemoteAddr() net.Addr               { return c.addr }
func (c *proxyConn) SetDeadline(t time.Time) error      { return nil }
func (c *proxyConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *proxyConn) SetWriteDeadline(t time.Time) error { return nil }
