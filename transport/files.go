package transport

// files.go holds the file operations shared by SSHConn and LocalConn over a
// small fileSystem interface (SFTP or the local os package): read, stat with
// owner names, atomic write, remove. An atomic write makes a private
// directory (mode 0700 before anything is created in it) beside the
// destination, writes the temp file inside it, fsyncs, chowns, chmods,
// renames it over the destination and removes the directory: SFTP creates
// files at the server's umask (often 0644), so the content is never in a
// file that another local user could open. A destination that is a symlink
// is followed: the file it points at is replaced, in its own directory,
// and the link stays.
//
// A write never writes a destination in place and never leaves its temp
// file or directory behind on a failure it can still act on; it checks
// (statvfs, asked in parallel) that the data fits before writing, and says
// "no space left on device" where OpenSSH's sftp-server only says
// "Failure". What a dropped connection could not clean up is swept by the
// first write into the same directory on a later connection (see sweep).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

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
	// readDir describes the entries of a directory (Path is the entry's
	// full path, symlinks not followed).
	readDir(name string) ([]*FileInfo, error)
	// statVFS describes the file system holding name; nil without error
	// when the host cannot say (an SFTP server without OpenSSH's
	// statvfs@openssh.com).
	statVFS(name string) (*fsSpace, error)
	// private reports whether createExcl makes files no other user can
	// read (mode 0600 from birth: the local os, or an sftp-server sshplay
	// started with umask 077), so that a write needs no private directory.
	private() bool
}

type tempFile interface {
	io.Writer
	// stat describes the open file (its owner, the host's clock).
	stat() (*FileInfo, error)
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

// maxLinkHops is how many symlinks a path may go through, as Linux allows.
const maxLinkHops = 40

// writeFileOp writes p atomically; see Conn.WriteFile. A symlink at p is
// followed to its final target, which is replaced in its own directory
// with its own mode and owner while the link stays: config management and
// Debian alternatives link configuration files, and an edit through the
// link means the file it points at.
func writeFileOp(ctx context.Context, host string, fsys fileSystem, hs writeHost, p string, data []byte, opts WriteOptions) error {
	if err := ctx.Err(); err != nil {
		return opError(host, "write", p, err)
	}
	// On a private file system the temp file is created beside p while p
	// is looked up: one round trip fewer for the usual write, a wasted
	// create for a write through a symlink into another directory.
	var early *tempSlot
	if fsys.private() && !opts.ReplaceLink {
		early = createTemp(fsys, p)
		defer func() {
			if early != nil {
				early.drop(fsys)
			}
		}()
	}
	dst, prev, err := followLinks(p, func(q string) (*FileInfo, error) { return lstatLink(fsys, q) })
	if opts.ReplaceLink {
		// The rename replaces the link itself; the new file gets its
		// metadata from opts, not from the link's target.
		dst, prev, err = p, nil, nil
		if fi, lerr := fsys.lstat(p); lerr == nil && fi.Mode.IsDir() {
			prev = fi
		}
	}
	label := p
	if err == nil && dst != p {
		label = p + " (symlink to " + dst + ")"
	}
	switch {
	case err != nil:
		return opError(host, "write", p, err)
	case prev != nil && prev.Mode.IsDir():
		return opError(host, "write", label, errors.New("is a directory"))
	}
	meta, err := writeMeta(ctx, hs, prev, opts)
	if err != nil {
		return opError(host, "write", label, err)
	}
	w := &atomicWrite{fsys: fsys, hs: hs, dst: dst, data: data, meta: meta}
	if early != nil && path.Dir(dst) == path.Dir(p) {
		w.temp, early = early, nil // the write's own now
	}
	if err := w.run(); err != nil {
		return opError(host, "write", label, err)
	}
	return nil
}

// lstatLink is lstat with LinkTarget filled for a symlink.
func lstatLink(fsys fileSystem, p string) (*FileInfo, error) {
	fi, err := fsys.lstat(p)
	if err == nil && fi.Mode&fs.ModeSymlink != 0 {
		if fi.LinkTarget, err = fsys.readLink(p); err != nil {
			return nil, fmt.Errorf("readlink %s: %w", p, err)
		}
	}
	return fi, err
}

// followLinks follows symlinks on the final component of p and returns the
// path reached and what is there (nil when nothing is: a new file, or a
// dangling link whose target a write creates). A relative link target is
// taken from the link's directory.
func followLinks(p string, lstat func(string) (*FileInfo, error)) (string, *FileInfo, error) {
	for range maxLinkHops {
		fi, err := lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return p, nil, nil
		case err != nil:
			return "", nil, err
		case fi.Mode&fs.ModeSymlink == 0:
			return p, fi, nil
		}
		t := fi.LinkTarget
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = t
	}
	return "", nil, fmt.Errorf("%s: too many levels of symbolic links", p)
}

// ResolveLinks follows symlinks on the final component of p on c's host
// (through Stat, so it works on every Conn) and returns the file a write to
// p would change, with its description; the description is nil when that
// file does not exist. A file that is not a link resolves to itself.
func ResolveLinks(ctx context.Context, c Conn, p string) (string, *FileInfo, error) {
	dst, fi, err := followLinks(p, func(q string) (*FileInfo, error) { return c.Stat(ctx, q) })
	if err != nil {
		return "", nil, fmt.Errorf("host %s: resolve %s: %w", c.Host(), p, hostless(c.Host(), err))
	}
	return dst, fi, nil
}

// fileMeta is the mode and owner a write gives its file; -1 keeps an id.
type fileMeta struct {
	mode     fs.FileMode
	uid, gid int
	label    string // owner:group as the caller named them, for errors
}

// writeMeta decides the new file's mode and owner: opts first, then those
// of the file replaced (prev), then 0644 and the writing user.
func writeMeta(ctx context.Context, ids idResolver, prev *FileInfo, opts WriteOptions) (fileMeta, error) {
	m := fileMeta{mode: opts.Mode & keepModeBits, uid: -1, gid: -1}
	if m.mode == 0 {
		m.mode = 0o644
		if prev != nil {
			m.mode = prev.Mode & keepModeBits
		}
	}
	var err error
	if opts.Owner != "" {
		if m.uid, err = ids.uid(ctx, opts.Owner); err != nil {
			return m, err
		}
	} else if prev != nil {
		m.uid = prev.UID
	}
	if opts.Group != "" {
		if m.gid, err = ids.gid(ctx, opts.Group); err != nil {
			return m, err
		}
	} else if prev != nil {
		m.gid = prev.GID
	}
	m.label = ownerLabel(opts, m.uid, m.gid)
	return m, nil
}

// atomicWrite is one write of data to dst through a private temporary
// directory beside dst (see the file comment).
type atomicWrite struct {
	fsys fileSystem
	hs   writeHost
	dst  string
	data []byte
	meta fileMeta
	// temp is a private write's temp file, created early (writeFileOp);
	// nil: run creates it.
	temp *tempSlot
}

// run makes the private directory, checks there is room (asked while the
// directory is made), writes the temp file and renames it over dst. On any
// failure the temp file and directory are removed; the first write into a
// directory on this connection also sweeps leftovers of dropped ones.
func (w *atomicWrite) run() error {
	if w.fsys.private() {
		return w.runPrivate()
	}
	dir, base := path.Split(w.dst)
	priv := dir + ".sshplay-" + randomHex(6)
	if dir == "" {
		dir = "."
	}
	space := w.askSpace(dir)
	priv, self, err := makePrivateDir(w.fsys, priv)
	if err != nil {
		space()
		return w.explain(dir, err)
	}
	defer w.sweep(dir, priv, self)()
	tmp := priv + "/" + base
	if err := w.roomFor(dir, space(), self.UID); err != nil {
		w.cleanup("", priv)
		return err
	}
	if err := w.writeTemp(tmp); err != nil {
		w.cleanup(tmp, priv)
		return w.explain(dir, err)
	}
	if err := w.fsys.rename(tmp, w.dst); err != nil {
		w.cleanup(tmp, priv)
		return fmt.Errorf("rename into place: %w", err)
	}
	if err := w.fsys.rmdir(priv); err != nil {
		return fmt.Errorf("remove temporary directory %s: %w", priv, err)
	}
	return nil
}

// runPrivate is run on a file system that creates files private
// (fileSystem.private): the temp file goes straight into dst's directory,
// 0600 from its creation, under a name no other write uses
// (".sshplay-" and 12 hex digits), and is renamed over dst. That spares
// the private directory's five round trips (mkdir, chmod, lstat, rmdir,
// fchmod 0600). On failure the temp file is removed; the first write into
// a directory also sweeps the leftovers of dropped connections.
func (w *atomicWrite) runPrivate() error {
	t := w.temp
	if t == nil {
		t = createTemp(w.fsys, w.dst)
	}
	dir, tmp, space := t.dir, t.path, t.space
	f, err := t.wait()
	if err != nil {
		space()
		return w.explain(dir, fmt.Errorf("create temporary file: %w", err))
	}
	defer w.sweepFrom(dir, tmp, f)()
	if err := w.roomForPrivate(dir, space(), f); err != nil {
		f.Close()
		w.fsys.remove(tmp)
		return err
	}
	if err := w.fill(f, tmp); err != nil {
		f.Close()
		w.fsys.remove(tmp)
		return w.explain(dir, err)
	}
	if err := f.Close(); err != nil {
		w.fsys.remove(tmp)
		return w.explain(dir, err)
	}
	if err := w.fsys.rename(tmp, w.dst); err != nil {
		w.fsys.remove(tmp)
		return fmt.Errorf("rename into place: %w", err)
	}
	return nil
}

// tempSlot is a private write's temp file being created (createTemp),
// with the question of how much room its directory has.
type tempSlot struct {
	dir, path string
	space     func() *fsSpace
	done      chan struct{}
	f         tempFile
	err       error
}

// createTemp starts creating a temp file beside dst, named as no other
// write names one (".sshplay-" and 12 hex digits), and asking statvfs
// about its directory, both at once.
func createTemp(fsys fileSystem, dst string) *tempSlot {
	dir, _ := path.Split(dst)
	t := &tempSlot{path: dir + ".sshplay-" + randomHex(6), done: make(chan struct{})}
	if dir == "" {
		dir = "."
	}
	t.dir, t.space = dir, askSpace(fsys, dir)
	go func() {
		defer close(t.done)
		t.f, t.err = fsys.createExcl(t.path)
	}()
	return t
}

// wait returns the created file.
func (t *tempSlot) wait() (tempFile, error) {
	<-t.done
	return t.f, t.err
}

// drop removes a temp file the write did not use.
func (t *tempSlot) drop(fsys fileSystem) {
	if f, err := t.wait(); err == nil {
		f.Close()
		fsys.remove(t.path)
	}
	t.space()
}

// roomForPrivate is roomFor when the writing user is not known yet: an
// unprivileged user's room is enough; only when it is not is the temp
// file asked who owns it (root may use the reserved blocks).
func (w *atomicWrite) roomForPrivate(dir string, sp *fsSpace, f tempFile) error {
	if sp == nil || w.roomFor(dir, sp, 1) == nil {
		return nil
	}
	fi, err := f.stat()
	if err != nil {
		return err
	}
	return w.roomFor(dir, sp, fi.UID)
}

// sweepFrom is sweep for runPrivate: it learns the writing user and the
// host's clock from the open temp file tmp, concurrently with the write.
func (w *atomicWrite) sweepFrom(dir, tmp string, f tempFile) func() {
	done := make(chan func())
	go func() {
		fi, err := f.stat()
		if err != nil {
			done <- func() {}
			return
		}
		done <- w.sweep(dir, tmp, fi)
	}()
	return func() { (<-done)() }
}

// cleanup removes the temp file (always ours: it is inside our private
// directory) and the directory, ignoring what is already gone.
func (w *atomicWrite) cleanup(tmp, priv string) {
	if tmp != "" {
		w.fsys.remove(tmp)
	}
	w.fsys.rmdir(priv)
}

// writeTemp creates tmp, writes the data, fsyncs, and gives it its owner
// and mode (0600 until then); the file is closed on every path.
func (w *atomicWrite) writeTemp(tmp string) error {
	f, err := w.fsys.createExcl(tmp)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	if err := w.fill(f, tmp); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fill writes the open temp file: mode 0600 before any content (the
// private directory already hides it; this keeps a file created at a
// loose umask from ever holding data; a private file system creates it
// so), the data, then fsync, the owner and the final mode, given only to
// complete content. On a private file system those three go out together
// (one round trip instead of three): the content is complete once the
// write is answered, and only a set-id mode, which a chown clears, needs
// the chown answered first.
func (w *atomicWrite) fill(f tempFile, tmp string) error {
	if !w.fsys.private() {
		if err := f.chmod(0o600); err != nil {
			return fmt.Errorf("chmod temporary file: %w", err)
		}
	}
	if _, err := f.Write(w.data); err != nil {
		return err
	}
	uid, gid, err := w.owner(tmp)
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return wrapErr("fsync", f.sync()) },
		func() error {
			if uid < 0 && gid < 0 {
				return nil
			}
			return wrapErr("chown to "+w.meta.label, f.chown(uid, gid))
		},
		func() error { return wrapErr(fmt.Sprintf("chmod %04o", w.meta.mode.Perm()), f.chmod(w.meta.mode)) },
	}
	if w.fsys.private() && w.meta.mode&(fs.ModeSetuid|fs.ModeSetgid) == 0 {
		return together(steps...)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// owner is the uid and gid the new file gets (-1, -1: keep the writer's);
// when only one of them is set, the other is the temp file's own.
func (w *atomicWrite) owner(tmp string) (int, int, error) {
	uid, gid := w.meta.uid, w.meta.gid
	if (uid < 0) == (gid < 0) {
		return uid, gid, nil
	}
	cur, err := w.fsys.lstat(tmp)
	if err != nil {
		return 0, 0, err
	}
	if uid < 0 {
		uid = cur.UID
	}
	if gid < 0 {
		gid = cur.GID
	}
	return uid, gid, nil
}

// wrapErr says what failed, keeping err (nil stays nil).
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// together runs steps concurrently and returns the first error in step
// order.
func together(steps ...func() error) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = step()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// makePrivateDir creates the directory name and makes it 0700 before
// anything is created in it: SFTP's mkdir takes the server's umask, but
// a file inside a 0700 directory cannot be opened by another user whatever
// its own mode. It checks the result is a real directory with mode 0700
// and removes it on any failure. It returns the directory's description:
// its owner is the writing user, its time the host's clock now.
func makePrivateDir(fsys fileSystem, name string) (string, *FileInfo, error) {
	if err := fsys.mkdir(name); err != nil {
		return "", nil, fmt.Errorf("create temporary directory: %w", err)
	}
	var fi *FileInfo
	err := fsys.chmod(name, 0o700)
	if err == nil {
		if fi, err = fsys.lstat(name); err == nil && (!fi.Mode.IsDir() || fi.Mode.Perm() != 0o700) {
			err = fmt.Errorf("is %s, want a directory with mode 0700", fi.Mode)
		}
	}
	if err != nil {
		fsys.rmdir(name)
		return "", nil, fmt.Errorf("make temporary directory %s private: %w", name, err)
	}
	return name, fi, nil
}

// fsSpace is what statvfs says about the file system holding a path.
type fsSpace struct {
	avail     uint64 // bytes an unprivileged user may still write
	availRoot uint64 // bytes root may still write (reserved blocks too)
	block     uint64 // allocation unit
	files     uint64 // inodes in all (0: the file system does not count them)
	freeFiles uint64 // inodes an unprivileged user may still use
}

// askSpace starts asking, concurrently with what the write does next, how
// much room the file system holding dir has; the returned func waits for
// the answer (nil when the host cannot say). Asking in parallel keeps the
// check off the write's chain of round trips.
func (w *atomicWrite) askSpace(dir string) func() *fsSpace { return askSpace(w.fsys, dir) }

// askSpace is atomicWrite.askSpace for any write on fsys.
func askSpace(fsys fileSystem, dir string) func() *fsSpace {
	ch := make(chan *fsSpace, 1)
	go func() {
		sp, err := fsys.statVFS(dir)
		if err != nil {
			sp = nil
		}
		ch <- sp
	}()
	var got *fsSpace
	done := false
	return func() *fsSpace {
		if !done {
			got, done = <-ch, true
		}
		return got
	}
}

// need is what the data takes on a file system: whole blocks, plus one for
// the private directory.
func (w *atomicWrite) need(sp *fsSpace) uint64 {
	b := max(sp.block, 1)
	return (uint64(len(w.data))+b-1)/b*b + b
}

// roomFor fails, before anything is written, when the file system cannot
// take the data: a write that hits ENOSPC halfway wastes the round trips
// and, over SFTP, reports only "Failure".
func (w *atomicWrite) roomFor(dir string, sp *fsSpace, uid int) error {
	if sp == nil {
		return nil
	}
	free := sp.avail
	if uid == 0 {
		free = sp.availRoot
	}
	if sp.files > 0 && sp.freeFiles == 0 && uid != 0 {
		return &spaceError{dir: dir, inodes: true}
	}
	if need := w.need(sp); free < need {
		return &spaceError{dir: dir, free: free, need: need}
	}
	return nil
}

// explain turns a failed write into a *spaceError when the file system is
// full: OpenSSH's sftp-server maps ENOSPC (like every errno it has no code
// for) to SSH_FX_FAILURE, "Failure", so the error alone cannot say. It asks
// statvfs once the temp file is gone; with room enough the error stays.
func (w *atomicWrite) explain(dir string, err error) error {
	var se *sftp.StatusError
	if !errors.As(err, &se) || se.FxCode() != sftp.ErrSSHFxFailure {
		return err
	}
	sp, serr := w.fsys.statVFS(dir)
	if serr != nil || sp == nil {
		return err
	}
	if sp.files > 0 && sp.freeFiles == 0 {
		return &spaceError{dir: dir, inodes: true, cause: err}
	}
	if need := w.need(sp); sp.avail < need {
		return &spaceError{dir: dir, free: sp.avail, need: need, cause: err}
	}
	return err
}

// spaceError says a write does not fit on the host's file system. It
// matches syscall.ENOSPC with errors.Is.
type spaceError struct {
	dir        string
	free, need uint64
	inodes     bool
	cause      error // what the host said, when it said something else
}

func (e *spaceError) Error() string {
	if e.inodes {
		return "no space left on device: no free inodes in " + e.dir
	}
	return fmt.Sprintf("no space left on device: %s has %s free, the file needs %s", strings.TrimSuffix(e.dir, "/"), byteSize(e.free), byteSize(e.need))
}

func (e *spaceError) Is(target error) bool { return target == syscall.ENOSPC }
func (e *spaceError) Unwrap() error        { return e.cause }

// byteSize prints n in B, KiB or MiB.
func byteSize(n uint64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// leftoverAge is how old a temporary directory of ours must be before a
// later write into the same directory takes it for the remains of a
// dropped connection and removes it: a write still in progress on another
// connection has touched its file more recently than that.
const leftoverAge = time.Hour

// isTempDirName reports whether name is that of a write's private
// directory, or of a private write's temp file: ".sshplay-" and twelve
// lower-case hex digits (never a journal, a backup or a restore file,
// whose names differ).
func isTempDirName(name string) bool {
	hexPart, ok := strings.CutPrefix(name, ".sshplay-")
	if !ok || len(hexPart) != 12 {
		return false
	}
	for _, r := range hexPart {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// sweep starts removing, concurrently with the write, what dropped
// connections left in dir: private directories of the writing user (the
// owner of own, our fresh one) older than leftoverAge by the host's clock
// (own's time). It runs on the first write into dir by that user on this
// connection only, so it costs one directory listing per directory and
// run, off the write's chain of round trips. The returned func waits for it.
func (w *atomicWrite) sweep(dir, own string, self *FileInfo) func() {
	if !w.hs.firstWriteInto(self.UID, dir) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ents, err := w.fsys.readDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if e.Path == own || !isTempDirName(path.Base(e.Path)) || e.UID != self.UID || self.ModTime.Sub(e.ModTime) < leftoverAge {
				continue
			}
			switch {
			case e.Mode.IsDir():
				removeLeftover(w.fsys, e.Path, self.ModTime)
			case e.Mode.IsRegular():
				w.fsys.remove(e.Path) // a private write's temp file
			}
		}
	}()
	return func() { <-done }
}

// removeLeftover removes a leftover private directory and the partial files
// in it, unless one of them was written to within leftoverAge of now.
func removeLeftover(fsys fileSystem, d string, now time.Time) {
	inside, err := fsys.readDir(d)
	if err != nil {
		return
	}
	for _, f := range inside {
		if !f.Mode.IsRegular() || now.Sub(f.ModTime) < leftoverAge {
			return
		}
	}
	for _, f := range inside {
		fsys.remove(f.Path)
	}
	fsys.rmdir(d)
}

// writeHost is what a write needs of its connection besides the file
// system: the host's user and group ids, and which directories it has
// already swept for leftovers.
type writeHost interface {
	idResolver
	// firstWriteInto reports whether this is the first write by uid into
	// dir on this connection, and records it.
	firstWriteInto(uid int, dir string) bool
}

// sweptDirs records, for one connection, the directories each user has
// written into. The zero value is ready to use.
type sweptDirs struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *sweptDirs) firstWriteInto(uid int, dir string) bool {
	key := strconv.Itoa(uid) + ":" + path.Clean(dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[key] {
		return false
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[key] = true
	return true
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

// sftpFS is a fileSystem over an SFTP client; priv when its server runs
// with umask 077 (a sudo'd sftp-server sshplay started).
type sftpFS struct {
	c    *sftp.Client
	priv bool
}

func (s sftpFS) private() bool { return s.priv }

// readFile opens name and reads it with reads of growing size, sent
// together, without asking its size first; the handle is closed without
// waiting for the answer. A small file (a configuration, a key) takes two
// round trips: open, then read to the end.
func (s sftpFS) readFile(name string) ([]byte, error) {
	f, err := s.c.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { go f.Close() }()
	buf := make([]byte, 0, 64<<10)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			return nil, err
		case len(buf) == cap(buf):
			buf = slices.Grow(buf, cap(buf))
		}
	}
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

func (s sftpFS) readDir(name string) ([]*FileInfo, error) {
	ents, err := s.c.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]*FileInfo, 0, len(ents))
	for _, st := range ents {
		fi := &FileInfo{Path: path.Join(name, st.Name()), Size: st.Size(), Mode: st.Mode(), ModTime: st.ModTime(), UID: -1, GID: -1}
		if fs, ok := st.Sys().(*sftp.FileStat); ok {
			fi.UID, fi.GID = int(fs.UID), int(fs.GID)
		}
		out = append(out, fi)
	}
	return out, nil
}

func (s sftpFS) statVFS(name string) (*fsSpace, error) {
	if _, ok := s.c.HasExtension("statvfs@openssh.com"); !ok {
		return nil, nil
	}
	st, err := s.c.StatVFS(name)
	if err != nil {
		return nil, err
	}
	unit := st.Frsize
	if unit == 0 {
		unit = st.Bsize
	}
	return &fsSpace{avail: st.Bavail * unit, availRoot: st.Bfree * unit, block: max(st.Bsize, unit), files: st.Files, freeFiles: st.Favail}, nil
}

type sftpFile struct {
	f *sftp.File
	c *sftp.Client
}

func (f *sftpFile) Write(p []byte) (int, error) { return f.f.Write(p) }
func (f *sftpFile) stat() (*FileInfo, error) {
	st, err := f.f.Stat()
	if err != nil {
		return nil, err
	}
	fi := &FileInfo{Path: f.f.Name(), Size: st.Size(), Mode: st.Mode(), ModTime: st.ModTime(), UID: -1, GID: -1}
	if fs, ok := st.Sys().(*sftp.FileStat); ok {
		fi.UID, fi.GID = int(fs.UID), int(fs.GID)
	}
	return fi, nil
}
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

func (osFS) private() bool { return true }

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

func (o osFS) readDir(name string) ([]*FileInfo, error) {
	ents, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]*FileInfo, 0, len(ents))
	for _, e := range ents {
		if fi, err := o.lstat(path.Join(name, e.Name())); err == nil {
			out = append(out, fi)
		}
	}
	return out, nil
}

func (osFS) statVFS(name string) (*fsSpace, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(name, &st); err != nil {
		return nil, &fs.PathError{Op: "statfs", Path: name, Err: err}
	}
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return &fsSpace{avail: st.Bavail * unit, availRoot: st.Bfree * unit, block: max(uint64(st.Bsize), unit), files: st.Files, freeFiles: st.Ffree}, nil
}

type osFile struct{ f *os.File }

func (f osFile) Write(p []byte) (int, error) { return f.f.Write(p) }
func (f osFile) stat() (*FileInfo, error)    { return osFS{}.lstat(f.f.Name()) }
func (f osFile) sync() error                 { return f.f.Sync() }
func (f osFile) chmod(m fs.FileMode) error   { return f.f.Chmod(m) }
func (f osFile) chown(uid, gid int) error    { return f.f.Chown(uid, gid) }
func (f osFile) Close() error                { return f.f.Close() }

// localIDs resolves names with os/user.
type localIDs struct{}

// localHost is the writeHost of the control machine: os/user for names,
// and the directories swept by this LocalConn and its views.
type localHost struct {
	localIDs
	sweptDirs
}

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

// cachedNames returns the names of uid and gid when both are known (or
// an id is -1: nothing to look up).
func (r *remoteIDs) cachedNames(uid, gid int) (string, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	un, uok := r.unames[uid]
	gn, gok := r.gnames[gid]
	return un, gn, (uok && gok) || uid < 0 || gid < 0
}

// remoteIDs caches, for one connection, the user and group names it
// resolved on the host, each name and id once. It is the connection's
// writeHost too: it records the directories swept for leftovers. Lookups
// run through a view's own shell (idsVia), so that resolving a name costs
// no session of its own.
type remoteIDs struct {
	sweptDirs

	// lookup lets one name lookup run at a time.
	lookup sync.Mutex
	mu     sync.Mutex
	uids   map[string]int
	gids   map[string]int
	unames map[int]string
	gnames map[int]string
}

func newRemoteIDs() *remoteIDs {
	return &remoteIDs{uids: map[string]int{}, gids: map[string]int{}, unames: map[int]string{}, gnames: map[int]string{}}
}

// runFunc runs a lookup command on the host and returns its stdout.
type runFunc func(ctx context.Context, cmd string) (string, error)

// idsVia is the connection's cache with lookups run by run: the
// idResolver and writeHost of one view.
type idsVia struct {
	*remoteIDs
	run runFunc
}

func (v idsVia) uid(ctx context.Context, name string) (int, error) {
	return v.remoteIDs.uid(ctx, v.run, name)
}

func (v idsVia) gid(ctx context.Context, name string) (int, error) {
	return v.remoteIDs.gid(ctx, v.run, name)
}

func (v idsVia) names(ctx context.Context, uid, gid int) (string, string) {
	return v.remoteIDs.names(ctx, v.run, uid, gid)
}

func (r *remoteIDs) uid(ctx context.Context, run runFunc, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	r.mu.Lock()
	n, ok := r.uids[name]
	r.mu.Unlock()
	if ok {
		return n, nil
	}
	out, err := run(ctx, "id -u "+shellescape.Quote(name))
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

func (r *remoteIDs) gid(ctx context.Context, run runFunc, name string) (int, error) {
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
	out, err := run(ctx, "getent group "+q+" 2>/dev/null || awk -F: -v "+shellescape.Quote("n="+name)+` '$1==n' /etc/group`)
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

func (r *remoteIDs) names(ctx context.Context, run runFunc, uid, gid int) (string, string) {
	un, gn, ok := r.cachedNames(uid, gid)
	if ok {
		return un, gn
	}
	// One lookup at a time: stats sent together (a backup's files, the
	// preconditions) mostly share an owner, which the first lookup caches
	// for the rest, and a lookup waiting its turn costs less than a
	// session of its own.
	r.lookup.Lock()
	defer r.lookup.Unlock()
	if un, gn, ok = r.cachedNames(uid, gid); ok {
		return un, gn
	}
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	cmd := `u=$(getent passwd ` + u + ` 2>/dev/null || awk -F: '$3==` + u + `' /etc/passwd); ` +
		`g=$(getent group ` + g + ` 2>/dev/null || awk -F: '$3==` + g + `' /etc/group); ` +
		`printf '%s\n%s\n' "${u%%:*}" "${g%%:*}"`
	out, err := run(ctx, cmd)
	if err != nil {
		return un, gn
	}
	lines := strings.SplitN(out, "\n", 3)
	if len(lines) < 2 {
		return un, gn
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, uok := r.unames[uid]; !uok {
		un = lines[0]
		r.unames[uid] = un
		if un != "" {
			r.uids[un] = uid
		}
	}
	if _, gok := r.gnames[gid]; !gok {
		gn = lines[1]
		r.gnames[gid] = gn
		if gn != "" {
			r.gids[gn] = gid
		}
	}
	return un, gn
}
