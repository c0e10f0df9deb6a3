package core

// The parse-time check of a core module's arguments: Plan run in static
// mode (args.Static) against a host that reaches nothing.

import (
	"context"
	"errors"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

// planFunc is a core module's Plan.
type planFunc = func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error)

// checkStatic runs plan on raw in static mode: arguments are decoded and
// checked as Plan does, and nothing touches a host. It is CheckArgs for
// every core module. The env it passes is real but reaches nothing: every
// method of its Conns, and its Render and FindFile, return args.ErrStatic,
// so a module that uses the host before args.Ready stops there.
// args.ErrStatic is success; errors other than bad arguments (there should
// be none before Ready) are left for run time.
func checkStatic(plan planFunc, raw map[string]any) error {
	env := &tasks.Env{Conn: staticConn{}, Local: staticConn{}, Vars: map[string]any{},
		Render:   func(string) (string, error) { return "", args.ErrStatic },
		FindFile: func(string, string) (string, error) { return "", args.ErrStatic }}
	_, err := plan(context.Background(), env, args.Static(raw))
	var ae *args.Error
	switch {
	case errors.Is(err, args.ErrStatic):
		return nil // decoded and checked; stopped at Ready or at the host
	case errors.As(err, &ae):
		return err
	}
	return nil
}

// staticConn is the host of a static check: it reaches nothing, and every
// method that can fail fails with args.ErrStatic.
type staticConn struct{}

var _ transport.Conn = staticConn{}

func (staticConn) Host() string { return "(arguments check)" }

func (staticConn) Run(context.Context, string, transport.RunOptions) (*transport.Result, error) {
	return nil, args.ErrStatic
}

func (staticConn) ReadFile(context.Context, string) ([]byte, error) { return nil, args.ErrStatic }

func (staticConn) Stat(context.Context, string) (*transport.FileInfo, error) {
	return nil, args.ErrStatic
}

func (staticConn) WriteFile(context.Context, string, []byte, transport.WriteOptions) error {
	return args.ErrStatic
}

func (staticConn) Remove(context.Context, string) error { return args.ErrStatic }

func (c staticConn) Become(transport.Become) transport.Conn { return c }

func (staticConn) Close() error { return args.ErrStatic }

// checked is a core module that also checks its arguments at parse time.
type checked struct {
	plan planFunc
}

var _ tasks.ArgChecker = checked{}

func (c checked) Plan(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	return c.plan(ctx, env, raw)
}

// CheckArgs implements tasks.ArgChecker.
func (c checked) CheckArgs(raw map[string]any) error { return checkStatic(c.plan, raw) }
