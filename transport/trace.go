package transport

// Traced wraps a Conn so that every operation is written to a log with its
// duration: what `-vvv` shows, and how a slow playbook is taken apart.
// Commands are logged (they never hold secrets: sudo passwords and SQL go on
// stdin), file contents never are.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Traced returns c with every operation logged to w. Safe for concurrent use.
func Traced(c Conn, w io.Writer) Conn {
	return &traced{c: c, log: &traceLog{w: w}}
}

type traceLog struct {
	mu sync.Mutex
	w  io.Writer
}

type traced struct {
	c   Conn
	as  string // become user, for the log
	log *traceLog
}

var _ Conn = (*traced)(nil)

func (t *traced) note(start time.Time, op, what string, err error) {
	as := ""
	if t.as != "" {
		as = " as " + t.as
	}
	status := ""
	if err != nil {
		status = " (error: " + firstLine(err.Error()) + ")"
	}
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	fmt.Fprintf(t.log.w, "<%s> %s%s %dms: %s%s\n", t.c.Host(), op, as, time.Since(start).Milliseconds(), what, status)
}

func (t *traced) Host() string { return t.c.Host() }

func (t *traced) Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error) {
	start := time.Now()
	res, err := t.c.Run(ctx, cmd, opts)
	what := strings.ReplaceAll(cmd, "\n", " ")
	if len(what) > 160 {
		what = what[:160] + "..."
	}
	t.note(start, "run", what, err)
	return res, err
}

func (t *traced) ReadFile(ctx context.Context, path string) ([]byte, error) {
	start := time.Now()
	b, err := t.c.ReadFile(ctx, path)
	t.note(start, "read", path, err)
	return b, err
}

func (t *traced) Stat(ctx context.Context, path string) (*FileInfo, error) {
	start := time.Now()
	fi, err := t.c.Stat(ctx, path)
	t.note(start, "stat", path, err)
	return fi, err
}

func (t *traced) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	start := time.Now()
	err := t.c.WriteFile(ctx, path, data, opts)
	t.note(start, "write", fmt.Sprintf("%s (%d bytes)", path, len(data)), err)
	return err
}

func (t *traced) Remove(ctx context.Context, path string) error {
	start := time.Now()
	err := t.c.Remove(ctx, path)
	t.note(start, "remove", path, err)
	return err
}

func (t *traced) Become(b Become) Conn {
	as := ""
	if b.Enabled {
		as = b.User
		if as == "" {
			as = "root"
		}
	}
	return &traced{c: t.c.Become(b), as: as, log: t.log}
}

func (t *traced) Close() error { return t.c.Close() }
