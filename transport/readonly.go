package transport

// The read-only view is what every module plans through: reads and probes
// go to the host, writes fail with ErrReadOnly, so a module that writes
// while planning fails in tests instead of silently changing a server. The
// engine's planning overlay (tasks/overlay) sits on top of it.

import (
	"context"
	"crypto/sha256"
	"fmt"
)

// ReadOnly returns a view of c whose writes fail with ErrReadOnly. Run is
// allowed: modules only run read-only probes while planning, and the
// command module never runs its command during Plan.
func ReadOnly(c Conn) Conn { return readOnly{c: c} }

type readOnly struct{ c Conn }

var _ Conn = readOnly{}

func (r readOnly) Host() string { return r.c.Host() }

func (r readOnly) Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error) {
	return r.c.Run(ctx, cmd, opts)
}

func (r readOnly) ReadFile(ctx context.Context, p string) ([]byte, error) {
	return r.c.ReadFile(ctx, p)
}

func (r readOnly) Stat(ctx context.Context, p string) (*FileInfo, error) { return r.c.Stat(ctx, p) }

func (r readOnly) WriteFile(ctx context.Context, p string, data []byte, opts WriteOptions) error {
	return fmt.Errorf("host %s: write %s: %w", r.c.Host(), p, ErrReadOnly)
}

func (r readOnly) Remove(ctx context.Context, p string) error {
	return fmt.Errorf("host %s: remove %s: %w", r.c.Host(), p, ErrReadOnly)
}

func (r readOnly) Become(b Become) Conn { return readOnly{c: r.c.Become(b)} }

// Close does nothing: the view does not own c.
func (r readOnly) Close() error { return nil }

// Checksum is the hex SHA-256 of data; plans record it for drift checks.
func Checksum(data []byte) string { return fmt.Sprintf("%x", sha256.Sum256(data)) }
