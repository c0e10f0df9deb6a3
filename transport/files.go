package transport

// files.go holds the file operations shared by SSHConn and LocalConn over a
// small fileSystem interface (SFTP or the local os package): read, stat with
// owner names, atomic write, remove. An atomic write makes a private
// directory (mode 0700 before anything is created in it) beside the
// destination, writes the temp file inside it, fsyncs, chowns, chmods,
// renames it over the destination and removes the directory: SFTP creates
// files at the server's umask (often 0644), so the content is never in a
// file that another local user could open. It never writes a destination
// in place and never leaves its temp file or directory behind on failure.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"al.essio.dev/pkg/shellescape"
	"github.com/pkg/sftp"
)

// fileSystem is what the shared file code needs from SFTP or the local os.
type fileSystem interface {
	readFile(name string) ([]byte, error)
	// lstat fills Path, Size, Mode, UID, GID and ModTime.
	lstat(name string) (*FileInfo, error)
	readLink(name string) (string, error)
	// mkdir creates a new directory that must not exist, at mode 0700
	// where the API can say so, else at the server's default (umask).
	mkdir(name string) error
	// rmdir removes the empty directory name.
	rmdir(name string) error
	// chmod sets the permission bits of name.
	chmod(name string, mode fs.FileMode) error
	// createExcl creates a new file that must not exist, at mode 0600
	// where the API can say so, else at the server's default (umask):
	// callers create it only inside a private directory.
	createExcl(name string) (tempFile, error)
	// rename replaces newName atomically.
	rename(oldName, newName string) error
	remove(name string) error
}

type tempFile interface {
	io.Writer
	sync() error
	chmod(fs.FileMode) error
	chown(uid, gid int) error
	Close() error
}

// idResolver maps user and group names to ids on the host and back.
type idResolver interface {
	uid(ctx context.Context, name string) (int, error)
	gid(ctx context.Context, name string) (int, error)
	// names returns the user and group names of uid and gid, "" for an
	// id that has no name.
	names(ctx context.Context, uid, gid int) (string, string)
}

func opError(host, op, p string, err error) error {
	return fmt.Errorf("host %s: %s %s: %w", host, op, p, hostless(host, err))
}

// hostless keeps err but drops a leading "host NAME: " from its message,
// for wrapping an error that already names the host.
func hostless(host string, err error) error {
	if strings.HasPrefix(err.Error(), "host "+host+": ") {
		return &strippedError{err: err, prefix: len("host " + host + ": ")}
	}
	return err
}

type strippedError struct {
	err    error
	prefix int
}

func (e *strippedError) Error() string { return e.err.Error()[e.prefix:] }
func (e *strippedError) Unwrap() error { return e.err }

func readFileOp(ctx context.Context, host string, fsys fileSystem, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError(host, "read", p, err)
	}
	b, err := fsys.readFile(p)
	if err != nil {
		return nil, opError(host, "read", p, err)
	}
	return b, nil
}

func statOp(ctx context.Context, host string, fsys fileSystem, ids idResolver, p string) (*FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError(host, "stat", p, err)
	}
	fi, err := fsys.lstat(p)
	if err != nil {
		return nil, opError(host, "stat", p, err)
	}
	if fi.Mode&fs.ModeSymlink != 0 {
		if fi.LinkTarget, err = fsys.readLink(p); err != nil {
			return nil, opError(host, "readlink", p, err)
		}
	}
	fi.Owner, fi.Group = ids.names(ctx, fi.UID, fi.GID)
	return fi, nil
}

func removeOp(ctx context.Context, host string, fsys fileSystem, p string) error {
	if err := ctx.Err(); err != nil {
		return opError(host, "remove", p, err)
	}
	if err := fsys.remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return opError(host, "remove", p, err)
	}
	return nil
}

const keepModeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// writeFileOp writes p atomically; see Conn.WriteFile.
func writeFileOp(ctx context.Context, host string, fsys fileSystem, ids idResolver, p string, data []byte, opts WriteOptions) (err error) {
	if err := ctx.Err(); err != nil {
		return opError(host, "write", p, err)
	}
	prev, err := fsys.lstat(p)
	switch {
	case err == nil && prev.Mode.IsDir():
		return opError(host, "write", p, errors.New("is a directory"))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return opError(host, "write", p, err)
	case err != nil:
		prev = nil
	}
	if prev != nil && prev.Mode&fs.ModeSymlink != 0 {
		// The link itself is replaced by the file, like rename(2) does;
		// its mode and owner are not those of a file to keep.
		prev = nil
	}
	mode := opts.Mode & keepModeBits
	if mode == 0 {
		mode = 0o644
		if prev != nil {
			mode = prev.Mode & keepModeBits
		}
	}
	uid, gid := -1, -1
	if opts.Owner != "" {
		if uid, err = ids.uid(ctx, opts.Owner); err != nil {
			return opError(host, "write", p, err)
		}
	} else if prev != nil {
		uid = prev.UID
	}
	if opts.Group != "" {
		if gid, err = ids.gid(ctx, opts.Group); err != nil {
			return opError(host, "write", p, err)
		}
	} else if prev != nil {
		gid = prev.GID
	}

	dir, base := path.Split(p)
	priv, err := makePrivateDir(fsys, dir+".sshplay-"+randomHex(6))
	if err != nil {
		return opError(host, "write", p, err)
	}
	tmp := priv + "/" + base
	var f tempFile
	closed, created := false, false
	defer func() {
		if err == nil {
			return
		}
		if f != nil && !closed {
			f.Close()
		}
		if created {
			fsys.remove(tmp)
		}
		fsys.rmdir(priv)
	}()
	if f, err = fsys.createExcl(tmp); err != nil {
		return opError(host, "write", p, fmt.Errorf("create temporary file: %w", err))
	}
	created = true
	if err = f.chmod(0o600); err != nil {
		return opError(host, "write", p, fmt.Errorf("chmod temporary file: %w", err))
	}
	if _, err = f.Write(data); err != nil {
		return opError(host, "write", p, err)
	}
	if err = f.sync(); err != nil {
		return opError(host, "write", p, fmt.Errorf("fsync: %w", err))
	}
	if uid >= 0 || gid >= 0 {
		if uid < 0 || gid < 0 {
			cur, serr := fsys.lstat(tmp)
			if serr != nil {
				err = serr
				return opError(host, "write", p, err)
			}
			if uid < 0 {
				uid = cur.UID
			}
			if gid < 0 {
				gid = cur.GID
			}
		}
		if err = f.chown(uid, gid); err != nil {
			return opError(host, "write", p, fmt.Errorf("chown to %s: %w", ownerLabel(opts, uid, gid), err))
		}
	}
	if err = f.chmod(mode); err != nil {
		return opError(host, "write", p, fmt.Errorf("chmod %04o: %w", mode.Perm(), err))
	}
	closed = true
	if err = f.Close(); err != nil {
		return opError(host, "write", p, err)
	}
	if err = fsys.rename(tmp, p); err != nil {
		return opError(host, "write", p, fmt.Errorf("rename into place: %w", err))
	}
	created = false
	if err = fsys.rmdir(priv); err != nil {
		return opError(host, "write", p, fmt.Errorf("remove temporary directory %s: %w", priv, err))
	}
	return nil
}

// makePrivateDir creates the directory name and makes it 0700 before
// anything is created in it: SFTP's mkdir takes the server's umask, but
// a file inside a 0700 directory cannot be opened by another user whatever
// its own mode. It checks the result is a real directory with mode 0700
// and removes it on any failure.
func makePrivateDir(fsys fileSystem, name string) (string, error) {
	if err := fsys.mkdir(name); err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	err := fsys.chmod(name, 0o700)
	if err == nil {
		var fi *FileInfo
		if fi, err = fsys.lstat(name); err == nil && (!fi.Mode.IsDir() || fi.Mode.Perm() != 0o700) {
			err = fmt.Errorf("is %s, want a directory with mode 0700", fi.Mode)
		}
	}
	if err != nil {
		fsys.rmdir(name)
		return "", fmt.Errorf("make temporary directory %s private: %w", name, err)
	}
	return name, nil
}

func ownerLabel(opts WriteOptions, uid, gid int) string {
	u, g := opts.Owner, opts.Group
	if u == "" {
		u = strconv.Itoa(uid)
	}
	if g == "" {
		g = strconv.Itoa(gid)
	}
	return u + ":" + g
}

// sftpFS is a fileSystem over an SFTP client.
type sftpFS struct{ c *sftp.Client }

func (s sftpFS) readFile(name string) ([]byte, error) {
	f, err := s.c.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s sftpFS) lstat(name string) (*FileInfo, error) {
	st, err := s.c.Lstat(name)
	if err != nil {
		return nil, err
	}
	fi := &FileInfo{Path: name, Size: st.Size(), Mode: st.Mode(), ModTime: st.ModTime(), UID: -1, GID: -1}
	if fs, ok := st.Sys().(*sftp.FileStat); ok {
		fi.UID, fi.GID = int(fs.UID), int(fs.GID)
	}
	return fi, nil
}

func (s sftpFS) readLink(name string) (string, error) { return s.c.ReadLink(name) }

func (s sftpFS) mkdir(name string) error { return s.c.Mkdir(name) }

func (s sftpFS) rmdir(name string) error { return s.c.RemoveDirectory(name) }

func (s sftpFS) chmod(name string, mode fs.FileMode) error { return s.c.Chmod(name, mode) }

func (s sftpFS) createExcl(name string) (tempFile, error) {
	f, err := s.c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, err
	}
	return &sftpFile{f: f, c: s.c}, nil
}

func (s sftpFS) rename(oldName, newName string) error {
	if _, ok := s.c.HasExtension("posix-rename@openssh.com"); ok {
		return s.c.PosixRename(oldName, newName)
	}
	// Plain SFTP rename refuses to replace; this fallback is not atomic
	// and only used by servers without OpenSSH's extension.
	if err := s.c.Remove(newName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.c.Rename(oldName, newName)
}

func (s sftpFS) remove(name string) error { return s.c.Remove(name) }

type sftpFile struct {
	f *sftp.File
	c *sftp.Client
}

func (f *sftpFile) Write(p []byte) (int, error) { return f.f.Write(p) }
func (f *sftpFile) sync() error {
	if v, ok := f.c.HasExtension("fsync@openssh.com"); !ok || v != "1" {
		return nil
	}
	return f.f.Sync()
}
func (f *sftpFile) chmod(m fs.FileMode) error { return f.f.Chmod(m) }
func (f *sftpFile) chown(uid, gid int) error  { return f.f.Chown(uid, gid) }
func (f *sftpFile) Close() error              { return f.f.Close() }

// osFS is a fileSystem on the control machine.
type osFS struct{}

func (osFS) readFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (osFS) lstat(name string) (*FileInfo, error) {
	st, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	fi := &FileInfo{Path: name, Size: st.Size(), Mode: st.Mode(), ModTime: st.ModTime(), UID: -1, GID: -1}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.UID, fi.GID = int(sys.Uid), int(sys.Gid)
	}
	return fi, nil
}

func (osFS) readLink(name string) (string, error) { return os.Readlink(name) }

func (osFS) mkdir(name string) error { return os.Mkdir(name, 0o700) }

func (osFS) rmdir(name string) error {
	if err := syscall.Rmdir(name); err != nil {
		return &fs.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

func (osFS) chmod(name string, mode fs.FileMode) error { return os.Chmod(name, mode) }

func (osFS) createExcl(name string) (tempFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) rename(oldName, newName string) error { return os.Rename(oldName, newName) }
func (osFS) remove(name string) error             { return os.Remove(name) }

type osFile struct{ f *os.File }

func (f osFile) Write(p []byte) (int, error) { return f.f.Write(p) }
func (f osFile) sync() error                 { return f.f.Sync() }
func (f osFile) chmod(m fs.FileMode) error   { return f.f.Chmod(m) }
func (f osFile) chown(uid, gid int) error    { return f.f.Chown(uid, gid) }
func (f osFile) Close() error                { return f.f.Close() }

// localIDs resolves names with os/user.
type localIDs struct{}

func (localIDs) uid(_ context.Context, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("no such user %q", name)
	}
	return strconv.Atoi(u.Uid)
}

func (localIDs) gid(_ context.Context, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("no such group %q", name)
	}
	return strconv.Atoi(g.Gid)
}

func (localIDs) names(_ context.Context, uid, gid int) (string, string) {
	var un, gn string
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		un = u.Username
	}
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		gn = g.Name
	}
	return un, gn
}

// remoteIDs resolves names by running commands on the host as the login
// user, each name and id once per connection.
type remoteIDs struct {
	run func(ctx context.Context, cmd string) (string, error)

	mu     sync.Mutex
	uids   map[string]int
	gids   map[string]int
	unames map[int]string
	gnames map[int]string
}

func newRemoteIDs(run func(ctx context.Context, cmd string) (string, error)) *remoteIDs {
	return &remoteIDs{run: run, uids: map[string]int{}, gids: map[string]int{}, unames: map[int]string{}, gnames: map[int]string{}}
}

func (r *remoteIDs) uid(ctx context.Context, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	r.mu.Lock()
	n, ok := r.uids[name]
	r.mu.Unlock()
	if ok {
		return n, nil
	}
	out, err := r.run(ctx, "id -u "+shellescape.Quote(name))
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("no such user %q", name)
		}
		return 0, fmt.Errorf("look up user %q: %w", name, err)
	}
	n, err = strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return 0, fmt.Errorf("look up user %q: unexpected output %q", name, out)
	}
	r.mu.Lock()
	r.uids[name], r.unames[n] = n, name
	r.mu.Unlock()
	return n, nil
}

func (r *remoteIDs) gid(ctx context.Context, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	r.mu.Lock()
	n, ok := r.gids[name]
	r.mu.Unlock()
	if ok {
		return n, nil
	}
	q := shellescape.Quote(name)
	out, err := r.run(ctx, "getent group "+q+" 2>/dev/null || awk -F: -v "+shellescape.Quote("n="+name)+` '$1==n' /etc/group`)
	fields := strings.Split(strings.TrimSpace(out), ":")
	if err != nil || len(fields) < 3 {
		if err != nil {
			var ee *ExitError
			if !errors.As(err, &ee) {
				return 0, fmt.Errorf("look up group %q: %w", name, err)
			}
		}
		return 0, fmt.Errorf("no such group %q", name)
	}
	n, err = strconv.Atoi(fields[2])
	if err != nil {
		return 0, fmt.Errorf("look up group %q: unexpected output %q", name, out)
	}
	r.mu.Lock()
	r.gids[name], r.gnames[n] = n, name
	r.mu.Unlock()
	return n, nil
}

func (r *remoteIDs) names(ctx context.Context, uid, gid int) (string, string) {
	r.mu.Lock()
	un, uok := r.unames[uid]
	gn, gok := r.gnames[gid]
	r.mu.Unlock()
	if (uok && gok) || uid < 0 || gid < 0 {
		return un, gn
	}
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	cmd := `u=$(getent passwd ` + u + ` 2>/dev/null || awk -F: '$3==` + u + `' /etc/passwd); ` +
		`g=$(getent group ` + g + ` 2>/dev/null || awk -F: '$3==` + g + `' /etc/group); ` +
		`printf '%s\n%s\n' "${u%%:*}" "${g%%:*}"`
	out, err := r.run(ctx, cmd)
	if err != nil {
		return un, gn
	}
	lines := strings.SplitN(out, "\n", 3)
	if len(lines) < 2 {
		return un, gn
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !uok {
		un = lines[0]
		r.unames[uid] = un
		if un != "" {
			r.uids[un] = uid
		}
	}
	if !gok {
		gn = lines[1]
		r.gnames[gid] = gn
		if gn != "" {
			r.gids[gn] = gid
		}
	}
	return un, gn
}
