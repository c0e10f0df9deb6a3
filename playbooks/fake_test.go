package playbooks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/core"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/tasks/postgres"
	"github.com/sshplay/sshplay/transport"
)

// memHost is an in-memory host: files and a log of commands run.
type memHost struct {
	mu    sync.Mutex
	name  string
	files map[string][]byte
	ran   []string
	// fail makes every command containing the string exit 1.
	fail string
}

type memConn struct {
	h  *memHost
	as transport.Become
}

var _ transport.Conn = (*memConn)(nil)

func (c *memConn) Host() string { return c.h.name }

func (c *memConn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	who := "login"
	if c.as.Enabled {
		who = "root"
		if c.as.User != "" {
			who = c.as.User
		}
	}
	c.h.ran = append(c.h.ran, who+": "+cmd)
	if c.h.fail != "" && strings.Contains(cmd, c.h.fail) {
		return &transport.Result{ExitCode: 1, Stderr: []byte("boom")}, &transport.ExitError{Host: c.h.name, Cmd: cmd, Code: 1, Stderr: "boom"}
	}
	return &transport.Result{Stdout: []byte(who + "\n")}, nil
}

func (c *memConn) ReadFile(ctx context.Context, p string) ([]byte, error) {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	d, ok := c.h.files[p]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), d...), nil
}

func (c *memConn) Stat(ctx context.Context, p string) (*transport.FileInfo, error) {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	d, ok := c.h.files[p]
	if !ok {
		for f := range c.h.files {
			if strings.HasPrefix(f, strings.TrimSuffix(p, "/")+"/") {
				return &transport.FileInfo{Path: p, Mode: fs.ModeDir | 0o755}, nil
			}
		}
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return &transport.FileInfo{Path: p, Size: int64(len(d)), Mode: 0o644}, nil
}

func (c *memConn) WriteFile(ctx context.Context, p string, data []byte, o transport.WriteOptions) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.files[p] = append([]byte(nil), data...)
	return nil
}

func (c *memConn) Remove(ctx context.Context, p string) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	delete(c.h.files, p)
	return nil
}

func (c *memConn) Become(b transport.Become) transport.Conn { return &memConn{h: c.h, as: b} }
func (c *memConn) Close() error                             { return nil }

// memFleet is an inventory and connector of memHosts.
type memFleet struct {
	hosts       map[string]*memHost
	order       []string
	vars        map[string]map[string]any
	groups      map[string][]string
	unreachable map[string]bool
}

func newFleet(n int) *memFleet {
	f := &memFleet{hosts: map[string]*memHost{}, vars: map[string]map[string]any{}, groups: map[string][]string{}, unreachable: map[string]bool{}}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("db%02d", i)
		f.hosts[name] = &memHost{name: name, files: map[string][]byte{}}
		f.order = append(f.order, name)
		f.vars[name] = map[string]any{"inventory_hostname": name, "idx": i}
	}
	f.groups["all"] = f.order
	f.groups["dbservers"] = f.order
	return f
}

func (f *memFleet) Hosts(pattern string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(pattern, ",") {
		if g, ok := f.groups[p]; ok {
			out = append(out, g...)
		} else if _, ok := f.hosts[p]; ok {
			out = append(out, p)
		} else {
			return nil, fmt.Errorf("pattern %q matches no host", p)
		}
	}
	return out, nil
}

func (f *memFleet) HostVars(h string) map[string]any { return f.vars[h] }
func (f *memFleet) Groups() map[string][]string      { return f.groups }

func (f *memFleet) Conn(ctx context.Context, host string, vars map[string]any) (transport.Conn, error) {
	if f.unreachable[host] {
		return nil, &transport.UnreachableError{Host: host, Err: errors.New("connection refused")}
	}
	return &memConn{h: f.hosts[host]}, nil
}

func (f *memFleet) ran(host string) []string {
	h := f.hosts[host]
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ran...)
}

// AllModules is a registry of every module sshplay ships, registered as
// cmd/sshplay registers them: the registry this package's tests (and its
// external tests) parse and run with.
func AllModules() *tasks.Registry {
	r := tasks.NewRegistry()
	core.Register(r)
	postgres.Register(r)
	Register(r)
	return r
}

// testModules is AllModules plus the fake modules of the engine tests:
// tput writes a file (plannable), trun runs a command (effect unknown; its
// short form is free text), tmsg returns its msg, tsleep sleeps (to check
// ordering). A test that needs a module of its own adds it to the
// registry testModules returns it, which no other test sees.
func testModules() *tasks.Registry {
	r := AllModules()
	r.Add(tasks.ModuleFunc(planTput), "tput")
	r.AddFreeForm(tasks.ModuleFunc(planTrun), tasks.FreeForm{}, "trun")
	r.Add(tasks.ModuleFunc(planTmsg), "tmsg")
	r.Add(tasks.ModuleFunc(planTsleep), "tsleep")
	return r
}

func planTput(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	path := fmt.Sprint(args["path"])
	content := fmt.Sprint(args["content"])
	var reads []tasks.Precondition
	old, exists, err := tasks.ReadFileFor(ctx, env.Conn, path, &reads)
	if err != nil && !errors.Is(err, overlay.ErrPending) {
		return nil, err
	}
	if exists && string(old) == content {
		return &tasks.Change{Action: tasks.None, Result: map[string]any{"path": path}}, nil
	}
	act := tasks.Create
	if exists {
		act = tasks.Update
	}
	return &tasks.Change{Action: act, Reads: reads, Summary: "write " + path,
		Diffs:  []tasks.Diff{tasks.FileDiff(path, string(old), content)},
		Writes: []overlay.PlannedFile{{Path: path, Content: []byte(content)}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return map[string]any{"path": path}, env.Conn.WriteFile(ctx, path, []byte(content), transport.WriteOptions{})
		}}, nil
}

func planTrun(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	cmd := fmt.Sprint(args["_raw_params"])
	return &tasks.Change{Action: tasks.Run, Summary: "run " + cmd,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			res, err := env.Conn.Run(ctx, cmd, transport.RunOptions{})
			out := map[string]any{"cmd": cmd}
			if res != nil {
				out["rc"] = res.ExitCode
				out["stdout"] = strings.TrimSpace(string(res.Stdout))
				out["stderr"] = string(res.Stderr)
			}
			if err != nil {
				return out, &tasks.Failed{Msg: "non-zero return code", Result: out}
			}
			return out, nil
		}}, nil
}

func planTmsg(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	msg := fmt.Sprint(args["msg"])
	return &tasks.Change{Action: tasks.None, Result: map[string]any{"msg": msg}}, nil
}

func planTsleep(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	d, _ := time.ParseDuration(fmt.Sprint(args["for"]))
	return &tasks.Change{Action: tasks.Run, Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
		time.Sleep(d)
		_, err := env.Conn.Run(ctx, "slept", transport.RunOptions{})
		return nil, err
	}}, nil
}
