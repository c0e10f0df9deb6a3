// transport.go declares the Conn interface and the values and errors it
// hands back; see doc.go for the package overview.

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Conn is one open connection to one host. A Conn is safe for concurrent use
// by several goroutines; all its methods share one underlying SSH connection.
//
// Every error a method returns names the host ("host db3: ..."). A method
// called with a ctx that is already done does nothing and fails, with an
// error that wraps ctx.Err() (or, for a write through a read-only view,
// ErrReadOnly). Every implementation (SSH, local, the read-only,
// traced and planning views, the in-memory test host) passes the same
// contract tests, transport/conntest.
type Conn interface {
	// Host is the inventory name of the host this Conn talks to.
	Host() string

	// Run runs a shell command line on the host (through /bin/sh -c) and
	// waits for it. A command that ran and exited non-zero returns the
	// Result (with its output) together with an *ExitError.
	//
	// Cancelling ctx (or its deadline passing) kills the command's whole
	// process group on the host, background children included: over SSH
	// with a SIGKILL signal request, which OpenSSH's sshd delivers to the
	// session's process group, and the session is closed; under Become,
	// where sudo puts the command out of that signal's reach, the group the
	// command's shell reported is killed as the become user from a new
	// session. Run then returns the output so far and an error that names
	// the host and wraps ctx.Err() (errors.Is(err, context.Canceled)).
	//
	// Under Become, a sudo that did not run the command (wrong or missing
	// password, not in sudoers, no sudo) gives a *BecomeError, never an
	// *ExitError. A lost connection gives an *UnreachableError; so does a
	// host given up on because it stopped answering (its cause is then a
	// *NoAnswerError), even when ctx was cancelled: a cancelled Run waits
	// for a host that answers nothing a few seconds at most, never for the
	// host to come back. Any other error means the command could not be
	// run at all.
	Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error)

	// ReadFile returns the whole content of path. A missing file gives an
	// error for which errors.Is(err, fs.ErrNotExist) is true.
	ReadFile(ctx context.Context, path string) ([]byte, error)

	// Stat describes path without following a final symlink. A missing
	// file gives an error for which errors.Is(err, fs.ErrNotExist) is true.
	Stat(ctx context.Context, path string) (*FileInfo, error)

	// WriteFile replaces path atomically: the data goes to a temporary file
	// in the same directory, which gets its mode and owner and is then
	// renamed over path. A reader never sees a half-written file. Mode and
	// owner left zero in opts keep those of the file being replaced (or the
	// defaults for a new file). A symlink at path is written through to its
	// target unless opts.ReplaceLink. A missing parent directory gives an
	// error for which errors.Is(err, fs.ErrNotExist) is true; giving the
	// file to another owner without the right to, fs.ErrPermission.
	WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error

	// Remove deletes a file, a symlink (not what it points to) or an empty
	// directory. Removing a missing path is not an error.
	Remove(ctx context.Context, path string) error

	// Become returns a view of the same connection whose commands and file
	// operations run as another user (sudo). Become{} returns the login user.
	// Become itself runs nothing: a sudo failure shows on the view's first
	// Run or file operation as a *BecomeError (wrapped, for file
	// operations, with the operation and path).
	Become(b Become) Conn

	// Close closes the underlying connection; every view made by Become
	// shares it, so close only the Conn that Dial returned.
	Close() error
}

// RunOptions are optional inputs and sinks of Run.
type RunOptions struct {
	// Stdin, when set, is copied to the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output as it comes, in
	// addition to Result (live output for long commands).
	Stdout, Stderr io.Writer
}

// Result is what a finished command printed and how it exited.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Duration time.Duration
}

// FileInfo is what Stat knows about a path.
type FileInfo struct {
	Path string
	// Size is the length in bytes; for a symlink, that of its target's
	// path, as lstat says.
	Size    int64
	Mode    fs.FileMode // permission bits and type bits, as in io/fs
	UID     int
	GID     int
	Owner   string // user name, "" when it could not be resolved
	Group   string // group name, "" when it could not be resolved
	ModTime time.Time
	// LinkTarget is the target of a symlink, "" for anything else.
	LinkTarget string
}

// IsDir reports whether the path is a directory.
func (fi *FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// UnixMode is m's permission bits in the unix 12-bit form (`stat -c %a`,
// chmod): rwx for user, group and others, with setuid, setgid and sticky.
func UnixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// WriteOptions say how WriteFile sets the new file's metadata.
type WriteOptions struct {
	// Mode is the permission of the new file; 0 keeps the replaced file's
	// mode, or 0644 for a new file.
	Mode fs.FileMode
	// Owner and Group are user and group names (or numeric ids as strings);
	// "" keeps the replaced file's, or the effective user's for a new file.
	Owner, Group string
	// ReplaceLink makes a symlink at the path give way to the new file
	// (Ansible's copy with follow: no). By default a write goes through
	// the link to its target, which keeps its mode and owner, and the link
	// stays: configuration files are often links (alternatives, config
	// management).
	ReplaceLink bool
}

// Become says which user to act as. The zero value means the login user.
type Become struct {
	// User is the target user; "" with Enabled means root.
	User string
	// Enabled turns become on.
	Enabled bool
	// Password is fed to sudo on stdin when it asks; never logged.
	Password string
}

// ExitError is returned by Run when the command ran and exited non-zero.
type ExitError struct {
	Host   string
	Cmd    string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("host %s: command exited %d", e.Host, e.Code)
	if e.Stderr != "" {
		msg += ": " + firstLine(e.Stderr)
	}
	return msg
}

// UnreachableError marks a host that could not be connected to or
// authenticated against (refused, timeout, auth failure, host key), whose
// connection was lost, or that stopped answering (*NoAnswerError). Callers
// report such hosts as unreachable rather than failed.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	// The cause often names the host already (*HostKeyError); say it once.
	msg := strings.TrimPrefix(e.Err.Error(), "host "+e.Host+": ")
	return fmt.Sprintf("host %s: unreachable: %s", e.Host, msg)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// ErrReadOnly is returned by every write through a ReadOnly view.
var ErrReadOnly = errors.New("write attempted through a read-only (planning) connection")

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
