// Package overlay is the engine's planning state: the files and service
// states that changes planned earlier in a check run would leave on a host,
// and the view every module plans through.
//
// The view is a transport.ReadOnly connection (writes fail) whose reads see
// the overlay on top of the host's real files, so a later task plans against
// the state an earlier task would leave: that is what makes --check truthful
// for dependent steps (a task that reads a file an earlier task would
// write). In a real run each change is applied before the next task plans,
// so the overlay stays empty. overlay never writes to a host.
package overlay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sshplay/sshplay/transport"
)

// PlannedKind is what a planned path would be.
type PlannedKind int

const (
	// PlannedRegular is a regular file (the zero value).
	PlannedRegular PlannedKind = iota
	// PlannedDir is a directory. Paths under a planned new directory that
	// are not planned themselves read as missing, without asking the host.
	PlannedDir
	// PlannedLink is a symbolic link to LinkTarget.
	PlannedLink
)

// PlannedFile is a file a planned change would leave on the host.
type PlannedFile struct {
	Path string
	// Kind says whether the path would be a file, a directory or a link.
	Kind PlannedKind
	// LinkTarget is the target of a planned link.
	LinkTarget string
	// Content is the planned content; meaningless when Pending.
	Content []byte
	// Pending means the file would be written, but its content can only be
	// known after apply (a key generated on the host, a signed certificate).
	Pending bool
	// Removed means the change would delete the path; for a directory
	// (removed recursively) everything under it reads as missing too,
	// unless planned again later.
	Removed bool
	Mode    fs.FileMode
	Owner   string
	Group   string
}

// ErrPending is returned by ReadFile on an overlay file whose content is only
// known after apply. Planners that can describe their change without the
// content (a signer that would sign a CSR still to be generated) check for it
// with errors.Is.
var ErrPending = fmt.Errorf("content known only after apply")

// Overlay holds the files planned on one host during a check run, and a
// small key/value store of other planned state (a service that would be
// started: key "service:NAME", value "started"). It is safe for concurrent
// use.
type Overlay struct {
	mu    sync.Mutex
	seq   int
	files map[string]plannedAt
	state map[string]string
}

type plannedAt struct {
	PlannedFile
	seq int // order of Add, so a later plan under a removed dir wins
}

// NewOverlay returns an empty overlay.
func NewOverlay() *Overlay {
	return &Overlay{files: map[string]plannedAt{}, state: map[string]string{}}
}

// Add records planned files; a later Add of the same path wins.
func (o *Overlay) Add(files ...PlannedFile) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range files {
		switch {
		case f.Mode&fs.ModeDir != 0:
			f.Kind = PlannedDir
		case f.Mode&fs.ModeSymlink != 0:
			f.Kind = PlannedLink
		}
		o.seq++
		o.files[path.Clean(f.Path)] = plannedAt{PlannedFile: f, seq: o.seq}
	}
}

// SetState records a planned state under key (a later set wins).
func (o *Overlay) SetState(key, value string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.state[key] = value
}

// State returns the planned state under key, if an earlier plan set one.
// A nil overlay has none.
func (o *Overlay) State(key string) (string, bool) {
	if o == nil {
		return "", false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.state[key]
	return v, ok
}

// Len is the number of planned paths and states; 0 means nothing planned.
func (o *Overlay) Len() int {
	if o == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.files) + len(o.state)
}

// get returns what the overlay says about p. An ancestor directory that
// would be removed (later than any plan of p itself) hides p; an ancestor
// directory that would be created makes an unplanned p read as missing,
// as a new directory is empty.
func (o *Overlay) get(p string) (PlannedFile, bool) {
	if o == nil {
		return PlannedFile{}, false
	}
	p = path.Clean(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	f, ok := o.files[p]
	for d := path.Dir(p); ; d = path.Dir(d) {
		a, aok := o.files[d]
		if aok && (!ok || a.seq > f.seq) {
			switch {
			case a.Removed:
				return PlannedFile{Path: p, Removed: true}, true
			case a.Kind == PlannedDir && !ok:
				return PlannedFile{Path: p, Removed: true}, true
			}
		}
		if d == "/" || d == "." {
			break
		}
	}
	return f.PlannedFile, ok
}

// View returns the planning view of c: a transport.ReadOnly view (writes
// fail with transport.ErrReadOnly) whose reads see ov (may be nil) on top of
// the host's real files.
func View(c transport.Conn, ov *Overlay) transport.Conn {
	return &view{c: transport.ReadOnly(c), ov: ov}
}

type view struct {
	c  transport.Conn
	ov *Overlay

	mu          sync.Mutex
	user, group string // effective user and group, asked once (see whoami)
}

// whoami returns the effective user and primary group of the view, the
// owner of a planned file that names none (one read-only probe, cached).
func (v *view) whoami(ctx context.Context) (string, string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.user == "" {
		u, uerr := v.c.Run(ctx, "id -un", transport.RunOptions{})
		g, gerr := v.c.Run(ctx, "id -gn", transport.RunOptions{})
		if uerr == nil && gerr == nil {
			v.user, v.group = strings.TrimSpace(string(u.Stdout)), strings.TrimSpace(string(g.Stdout))
		}
	}
	return v.user, v.group
}

var _ transport.Conn = (*view)(nil)

func (v *view) Host() string { return v.c.Host() }

func (v *view) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	return v.c.Run(ctx, cmd, opts)
}

func (v *view) ReadFile(ctx context.Context, p string) ([]byte, error) {
	for range 40 {
		f, ok := v.ov.get(p)
		if !ok || f.Kind != PlannedLink || f.Removed {
			break
		}
		t := f.LinkTarget
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = t
	}
	if f, ok := v.ov.get(p); ok {
		if f.Kind == PlannedDir && !f.Removed {
			return nil, v.pathError("read", p, errIsDir)
		}
		switch {
		case f.Removed:
			return nil, v.pathError("read", p, fs.ErrNotExist)
		case f.Pending:
			return nil, v.pathError("read", p, ErrPending)
		}
		return append([]byte(nil), f.Content...), nil
	}
	return v.c.ReadFile(ctx, p)
}

func (v *view) Stat(ctx context.Context, p string) (*transport.FileInfo, error) {
	if f, ok := v.ov.get(p); ok {
		if f.Removed {
			return nil, v.pathError("stat", p, fs.ErrNotExist)
		}
		mode := f.Mode.Perm()
		switch f.Kind {
		case PlannedDir:
			if mode == 0 {
				mode = 0o755
			}
			mode |= fs.ModeDir
		case PlannedLink:
			mode = fs.ModeSymlink | 0o777
		default:
			if mode == 0 {
				mode = 0o644
			}
		}
		size := int64(len(f.Content))
		if f.Kind == PlannedLink {
			size = int64(len(f.LinkTarget)) // as lstat gives it
		}
		fi := &transport.FileInfo{Path: p, Size: size, Mode: mode, Owner: f.Owner, Group: f.Group,
			UID: -1, GID: -1, ModTime: time.Now(), LinkTarget: f.LinkTarget}
		if fi.Owner == "" || fi.Group == "" {
			u, g := v.whoami(ctx)
			if fi.Owner == "" {
				fi.Owner = u
			}
			if fi.Group == "" {
				fi.Group = g
			}
		}
		return fi, nil
	}
	return v.c.Stat(ctx, p)
}

var errIsDir = errors.New("is a directory")

// pathError words an error about a planned path as every transport.Conn
// does: it names the host, and wraps an *fs.PathError.
func (v *view) pathError(op, p string, err error) error {
	return fmt.Errorf("host %s: %s %s: %w", v.c.Host(), op, p, &fs.PathError{Op: op, Path: p, Err: err})
}

func (v *view) WriteFile(ctx context.Context, p string, data []byte, opts transport.WriteOptions) error {
	return v.c.WriteFile(ctx, p, data, opts)
}

func (v *view) Remove(ctx context.Context, p string) error { return v.c.Remove(ctx, p) }

func (v *view) Become(b transport.Become) transport.Conn {
	return &view{c: v.c.Become(b), ov: v.ov}
}

func (v *view) Close() error { return nil }

// PlannedState returns the state an earlier plan of this check run recorded
// under key (see Overlay.SetState) when c is a planning View; a writable
// Conn, or a view without an overlay, has none.
func PlannedState(c transport.Conn, key string) (string, bool) {
	if r, ok := c.(*view); ok {
		return r.ov.State(key)
	}
	return "", false
}

// PendingPath reports whether what c reads at p depends on a change that
// an earlier task planned on this host but that is not applied yet: p
// itself, a directory above it or an entry below it is planned (written,
// created, linked or removed). A module asks it about the thing it looks
// at, for what a read alone cannot tell: the entries of a directory that
// only a planned change creates, or a file a waiter would wait for. The
// answer is about the host's state, not about the kind of run: a Conn that
// is not a planning view, or a view whose overlay plans nothing at p (every
// real run, where each change was applied before the next task planned),
// has nothing pending.
func PendingPath(c transport.Conn, p string) bool {
	if r, ok := c.(*view); ok {
		return r.ov.pendingPath(p)
	}
	return false
}

// PendingStates returns the keys of the planned non-file states (see
// Overlay.SetState: services an earlier task would start or stop) that are
// not applied yet, sorted. They are what opens or closes ports on the host.
// Like PendingPath, it is empty on a Conn that is not a planning view and
// in every real run.
func PendingStates(c transport.Conn) []string {
	r, ok := c.(*view)
	if !ok || r.ov == nil {
		return nil
	}
	r.ov.mu.Lock()
	defer r.ov.mu.Unlock()
	keys := make([]string, 0, len(r.ov.state))
	for k := range r.ov.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pendingPath reports whether a planned path is p, above p or below p.
func (o *Overlay) pendingPath(p string) bool {
	if o == nil {
		return false
	}
	p = path.Clean(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	for q := range o.files {
		if q == p || within(p, q) || within(q, p) {
			return true
		}
	}
	return false
}

// within reports whether p lies below the directory dir (both clean).
func within(p, dir string) bool {
	if dir == "/" {
		return p != "/" && strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, dir+"/")
}
