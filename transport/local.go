package transport

// local.go is the Conn for the control machine itself (ansible_connection
// =local, or the implicit localhost): commands through os/exec /bin/sh -c,
// files through the os package with the same atomic write as SSH, become
// through sudo built by the same code as over SSH (file operations under
// become go to a local sftp-server run by sudo). It never kills a process it
// did not start.

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"os/user"
	"syscall"

	"github.com/pkg/sftp"
)

// LocalConn runs commands and file operations on the control machine.
type LocalConn struct {
	name  string
	sudo  *Become
	state *localState
}

// localState is shared by a LocalConn and its Become views: the sudo'd
// sftp-servers, one per become user, and what writes remember.
type localState struct {
	sftps *sftpCache
	host  *localHost
}

var _ Conn = (*LocalConn)(nil)

// Local returns a Conn for the control machine named "localhost".
func Local() Conn { return NewLocalConn("localhost") }

// NewLocalConn returns a Conn for the control machine with the given
// inventory name.
func NewLocalConn(name string) *LocalConn {
	return &LocalConn{name: name, state: &localState{sftps: newSFTPCache(), host: &localHost{}}}
}

// Host is the inventory name.
func (c *LocalConn) Host() string { return c.name }

func localStart(ctx context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	// Own process group, so cancelling kills the command's children too.
	lp, err := startLocalProcess(cmd)
	if err != nil {
		return nil, nil, err
	}
	return stdin, &localProc{lp: lp}, nil
}

type localProc struct{ lp *localProcess }

func (p *localProc) wait() (int, error) {
	err := p.lp.wait()
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return -1, err
}

func (p *localProc) kill() { p.lp.killGroup() }

// Run runs cmd with /bin/sh -c on the control machine; see Conn.Run.
func (c *LocalConn) Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error) {
	var sudo *sudoCall
	if c.sudo != nil {
		sudo = newSudoCall(*c.sudo)
	}
	return runCommand(ctx, c.name, localStart, cmd, opts, sudo)
}

// ReadFile reads path.
func (c *LocalConn) ReadFile(ctx context.Context, path string) ([]byte, error) {
	fsys, err := c.fs(ctx)
	if err != nil {
		return nil, opError(c.name, "read", path, err)
	}
	return readFileOp(ctx, c.name, fsys, path)
}

// Stat describes path without following a final symlink.
func (c *LocalConn) Stat(ctx context.Context, path string) (*FileInfo, error) {
	fsys, err := c.fs(ctx)
	if err != nil {
		return nil, opError(c.name, "stat", path, err)
	}
	return statOp(ctx, c.name, fsys, localIDs{}, path)
}

// WriteFile replaces path atomically (through a symlink, its target); see
// Conn.WriteFile.
func (c *LocalConn) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	fsys, err := c.fs(ctx)
	if err != nil {
		return opError(c.name, "write", path, err)
	}
	return writeFileOp(ctx, c.name, fsys, c.state.host, path, data, opts)
}

// Remove deletes path; a missing path is not an error.
func (c *LocalConn) Remove(ctx context.Context, path string) error {
	fsys, err := c.fs(ctx)
	if err != nil {
		return opError(c.name, "remove", path, err)
	}
	return removeOp(ctx, c.name, fsys, path)
}

// Become returns a view acting as b.User through sudo; becoming the user
// sshplay runs as gives the plain view.
func (c *LocalConn) Become(b Become) Conn {
	if !b.Enabled {
		return &LocalConn{name: c.name, state: c.state}
	}
	if b.User == "" {
		b.User = "root"
	}
	if u, err := user.Current(); err == nil && (u.Username == b.User || u.Uid == b.User) {
		return &LocalConn{name: c.name, state: c.state}
	}
	return &LocalConn{name: c.name, state: c.state, sudo: &b}
}

// Close stops the sudo'd sftp-servers of Become views.
func (c *LocalConn) Close() error {
	c.state.sftps.closeAll(false)
	return nil
}

// fs is the os for the current user, or a sudo'd local sftp-server.
func (c *LocalConn) fs(ctx context.Context) (fileSystem, error) {
	if c.sudo == nil {
		return osFS{}, nil
	}
	cl, err := c.state.sftps.get(ctx, c.sudo.User, func(ctx context.Context) (*sftp.Client, func(), error) {
		s, err := c.openSFTP(ctx)
		if err != nil {
			return nil, nil, err
		}
		return s.client, s.close, nil
	})
	if err != nil {
		return nil, err
	}
	return sftpFS{c: cl, priv: true}, nil
}

func (c *LocalConn) openSFTP(ctx context.Context) (*sudoSFTP, error) {
	return startSudoSFTP(ctx, c.name, localStart, newSudoCall(*c.sudo), nil)
}
