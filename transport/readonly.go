package transport

// The read-only view is what every module plans through: reads go to the
// host (or to changes already planned on it), writes fail. Planned changes
// are kept in an Overlay so that a later task on the same host plans against
// the state an earlier task would leave, which is what makes --check truthful
// for dependent steps (a task that reads a file an earlier task would write).

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"
)

// PlannedFile is a file a planned change would leave on the host.
type PlannedFile struct {
	Path string
	// Content is the planned content; meaningless when Pending.
	Content []byte
	// Pending means the file would be written, but its content can only be
	// known after apply (a key generated on the host, a signed certificate).
	Pending bool
	// Removed means the change would delete the file.
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

// Overlay holds the files planned on one host during a check run. It is safe
// for concurrent use.
type Overlay struct {
	mu    sync.Mutex
	files map[string]PlannedFile
}

// NewOverlay returns an empty overlay.
func NewOverlay() *Overlay { return &Overlay{files: map[string]PlannedFile{}} }

// Add records planned files; a later Add of the same path wins.
func (o *Overlay) Add(files ...PlannedFile) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range files {
		o.files[path.Clean(f.Path)] = f
	}
}

func (o *Overlay) get(p string) (PlannedFile, bool) {
	if o == nil {
		return PlannedFile{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	f, ok := o.files[path.Clean(p)]
	return f, ok
}

// ReadOnly returns a view of c whose writes fail with ErrReadOnly and whose
// reads see ov (may be nil) on top of the host's real files. Run is allowed:
// modules only run read-only probes while planning, and the command module
// never runs its command during Plan.
func ReadOnly(c Conn, ov *Overlay) Conn { return &readOnly{c: c, ov: ov} }

type readOnly struct {
	c  Conn
	ov *Overlay
}

var _ Conn = (*readOnly)(nil)

func (r *readOnly) Host() string { return r.c.Host() }

func (r *readOnly) Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error) {
	return r.c.Run(ctx, cmd, opts)
}

func (r *readOnly) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if f, ok := r.ov.get(p); ok {
		switch {
		case f.Removed:
			return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
		case f.Pending:
			return nil, &fs.PathError{Op: "read", Path: p, Err: ErrPending}
		}
		return append([]byte(nil), f.Content...), nil
	}
	return r.c.ReadFile(ctx, p)
}

func (r *readOnly) Stat(ctx context.Context, p string) (*FileInfo, error) {
	if f, ok := r.ov.get(p); ok {
		if f.Removed {
			return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		return &FileInfo{Path: p, Size: int64(len(f.Content)), Mode: mode, Owner: f.Owner, Group: f.Group, ModTime: time.Now()}, nil
	}
	return r.c.Stat(ctx, p)
}

func (r *readOnly) WriteFile(ctx context.Context, p string, data []byte, opts WriteOptions) error {
	return fmt.Errorf("host %s: write %s: %w", r.c.Host(), p, ErrReadOnly)
}

func (r *readOnly) Remove(ctx context.Context, p string) error {
	return fmt.Errorf("host %s: remove %s: %w", r.c.Host(), p, ErrReadOnly)
}

func (r *readOnly) Become(b Become) Conn { return &readOnly{c: r.c.Become(b), ov: r.ov} }

func (r *readOnly) Close() error { return nil }

// Checksum is the hex SHA-256 of data; plans record it for drift checks.
func Checksum(data []byte) string { return fmt.Sprintf("%x", sha256.Sum256(data)) }
