package transport

// Traced wraps a Conn so that every operation is written to a log with its
// duration: what `-vvv` shows, and how a slow playbook is taken apart.
// Commands are logged through the caller's mask (the playbook engine hides
// the values of secret variables) or not at all for a no_log task; file
// contents never are. sudo passwords and SQL go on stdin and never show.

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
	return TracedWith(c, w, TraceOptions{})
}

// TraceOptions say what a trace may show.
type TraceOptions struct {
	// Mask, when set, rewrites every logged text (commands, paths, errors)
	// before it is written: the engine hides secret values with it.
	Mask func(string) string
	// NoLog hides commands and errors entirely ("<host> run (no_log)"),
	// for tasks marked no_log.
	NoLog bool
}

// TracedWith is Traced with options. Lines are written with one Write call
// each; concurrent traces to one w must share a writer that is safe for
// concurrent use.
func TracedWith(c Conn, w io.Writer, o TraceOptions) Conn {
	return &traced{c: c, log: &traceLog{w: w}, opts: o}
}

type traceLog struct {
	mu sync.Mutex
	w  io.Writer
}

type traced struct {
	c    Conn
	as   string // become user, for the log
	log  *traceLog
	opts TraceOptions
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
	if t.opts.Mask != nil {
		// Before cutting, so that no part of a secret is left.
		what, status = t.opts.Mask(what), t.opts.Mask(status)
	}
	if op == "run" {
		what = strings.ReplaceAll(what, "\n", " ")
		if len(what) > 160 {
			what = what[:160] + "..."
		}
	}
	if t.opts.NoLog {
		if op == "run" {
			what = ""
		}
		if status != "" {
			status = " (error)"
		}
	}
	line := fmt.Sprintf("%s%s %dms: %s%s", op, as, time.Since(start).Milliseconds(), what, status)
	if t.opts.NoLog && op == "run" {
		line = fmt.Sprintf("run (no_log)%s %dms%s", as, time.Since(start).Milliseconds(), status)
	}
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	fmt.Fprintf(t.log.w, "<%s> %s\n", t.c.Host(), line)
}

func (t *traced) Host() string { return t.c.Host() }

func (t *traced) Run(ctx context.Context, cmd string, opts RunOptions) (*Result, error) {
	start := time.Now()
	res, err := t.c.Run(ctx, cmd, opts)
	t.note(start, "run", cmd, err)
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
	return &traced{c: t.c.Become(b), as: as, log: t.log, opts: t.opts}
}

func (t *traced) Close() error { return t.c.Close() }
