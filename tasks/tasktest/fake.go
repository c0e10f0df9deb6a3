package tasktest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sshplay/sshplay/transport"
)

// Node is one entry of the fake file tree.
type Node struct {
	Data    []byte
	Mode    fs.FileMode // type and permission bits, as in io/fs
	Owner   string
	Group   string
	ModTime time.Time
	// Target is a symlink's target.
	Target string
}

// Handler runs a command the fake does not interpret itself. It returns
// handled=false to let the fake report "command not found" (exit 127).
type Handler func(ctx context.Context, c *Conn, cmd string, stdin []byte) (res *transport.Result, handled bool)

// Fake is the shared state behind every Conn view (login user and become).
type Fake struct {
	mu      sync.Mutex
	host    string
	login   string
	nodes   map[string]*Node
	runs    []string
	writes  []string
	now     func() time.Time
	handler Handler
	ids     map[string]int
}

// Conn is a transport.Conn over a Fake, acting as one user.
type Conn struct {
	f    *Fake
	user string
}

var _ transport.Conn = (*Conn)(nil)

// keepModeBits are the mode bits a write gives a file, as on a real host.
const keepModeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// New returns a fake host named host whose login user is user, with / and
// /tmp present. Known users: root (0), postgres (26), user (1000).
func New(host, user string) *Conn {
	f := &Fake{
		host:  host,
		login: user,
		nodes: map[string]*Node{},
		now:   func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
		ids:   map[string]int{"root": 0, "postgres": 26, user: 1000},
	}
	f.nodes["/"] = &Node{Mode: fs.ModeDir | 0o755, Owner: "root", Group: "root"}
	f.nodes["/tmp"] = &Node{Mode: fs.ModeDir | 0o1777, Owner: "root", Group: "root"}
	return &Conn{f: f, user: user}
}

// Fake returns the shared state.
func (c *Conn) Fake() *Fake { return c.f }

// User is the user this view acts as.
func (c *Conn) User() string { return c.user }

// SetHandler installs the hook for commands the fake does not interpret.
func (f *Fake) SetHandler(h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
}

// SetNow sets the clock used for modification times.
func (f *Fake) SetNow(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// Runs returns every command run so far.
func (f *Fake) Runs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.runs...)
}

// Writes returns every mutation so far ("write PATH", "chmod 644 PATH", ...).
func (f *Fake) Writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

// Reset forgets recorded runs and writes (the tree is kept).
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs, f.writes = nil, nil
}

// AddFile creates or replaces a regular file (parents are created).
func (c *Conn) AddFile(p string, data string, mode fs.FileMode) {
	c.AddFileOwned(p, data, mode, c.user, c.user)
}

// AddFileOwned is AddFile with an owner and group.
func (c *Conn) AddFileOwned(p string, data string, mode fs.FileMode, owner, group string) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mkdirAll(path.Dir(p), c.user)
	f.nodes[path.Clean(p)] = &Node{Data: []byte(data), Mode: mode & keepModeBits, Owner: owner, Group: group, ModTime: f.now()}
}

// AddDir creates a directory and its parents.
func (c *Conn) AddDir(p string, mode fs.FileMode) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mkdirAll(path.Dir(p), c.user)
	f.nodes[path.Clean(p)] = &Node{Mode: fs.ModeDir | mode.Perm(), Owner: c.user, Group: c.user, ModTime: f.now()}
}

// AddSymlink creates a symlink p pointing at target.
func (c *Conn) AddSymlink(p, target string) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mkdirAll(path.Dir(p), c.user)
	f.nodes[path.Clean(p)] = &Node{Mode: fs.ModeSymlink | 0o777, Target: target, Owner: c.user, Group: c.user, ModTime: f.now()}
}

// Node returns a copy of the entry at p (not following symlinks), or nil.
func (c *Conn) Node(p string) *Node {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[path.Clean(p)]
	if !ok {
		return nil
	}
	cp := *n
	cp.Data = append([]byte(nil), n.Data...)
	return &cp
}

// Content returns the content of the regular file at p ("" if missing).
func (c *Conn) Content(p string) string {
	if n := c.Node(p); n != nil {
		return string(n.Data)
	}
	return ""
}

// Snapshot renders the whole tree as text, for before/after comparisons.
func (f *Fake) Snapshot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.nodes))
	for k := range f.nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		n := f.nodes[k]
		fmt.Fprintf(&b, "%s %v %s:%s %s %q %q\n", k, n.Mode, n.Owner, n.Group, n.ModTime.Format(time.RFC3339Nano), n.Target, n.Data)
	}
	return b.String()
}

func (f *Fake) mkdirAll(p, owner string) {
	p = path.Clean(p)
	if _, ok := f.nodes[p]; ok || p == "/" || p == "." {
		return
	}
	f.mkdirAll(path.Dir(p), owner)
	f.nodes[p] = &Node{Mode: fs.ModeDir | 0o755, Owner: owner, Group: owner, ModTime: f.now()}
}

// resolve follows symlinks in every component of p.
func (f *Fake) resolve(p string, followLast bool) (string, error) {
	p = path.Clean(p)
	for i := 0; i < 40; i++ {
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur := "/"
		changed := false
		for j, part := range parts {
			if part == "" {
				continue
			}
			next := path.Join(cur, part)
			n, ok := f.nodes[next]
			if ok && n.Mode&fs.ModeSymlink != 0 && (j < len(parts)-1 || followLast) {
				t := n.Target
				if !path.IsAbs(t) {
					t = path.Join(cur, t)
				}
				p = path.Join(append([]string{t}, parts[j+1:]...)...)
				changed = true
				break
			}
			cur = next
		}
		if !changed {
			return p, nil
		}
	}
	return "", fmt.Errorf("too many levels of symbolic links: %s", p)
}

// AddUser makes name a known user (and group) with id.
func (f *Fake) AddUser(name string, id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[name] = id
}

// known reports whether name is a known user or group, or a numeric id;
// f.mu is held.
func (f *Fake) known(name string) bool {
	if _, ok := f.ids[name]; ok {
		return true
	}
	_, err := strconv.Atoi(name)
	return err == nil
}

func (f *Fake) id(name string) int {
	if id, ok := f.ids[name]; ok {
		return id
	}
	if id, err := strconv.Atoi(name); err == nil {
		return id
	}
	return 4242
}

func (c *Conn) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	home := "/home/" + c.user
	if c.user == "root" {
		home = "/root"
	}
	return path.Join(home, p)
}

// Host implements transport.Conn.
func (c *Conn) Host() string { return c.f.host }

// opError is how a real Conn reports a failed file operation: naming the
// host, the operation and the path.
func (c *Conn) opError(op, p string, err error) error {
	return fmt.Errorf("host %s: %s %s: %w", c.f.host, op, p, err)
}

// start is what every operation does first, as a real Conn does: fail
// with a done ctx, and fail as sudo would for a Become view whose user
// does not exist. f.mu is held.
func (c *Conn) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.f.known(c.user) {
		return &transport.BecomeError{Host: c.f.host, User: c.user, Reason: transport.BecomeFailed,
			Detail: "sudo: unknown user " + c.user, Code: 1}
	}
	return nil
}

// ReadFile implements transport.Conn.
func (c *Conn) ReadFile(ctx context.Context, p string) ([]byte, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := c.start(ctx); err != nil {
		return nil, c.opError("read", p, err)
	}
	rp, err := f.resolve(c.abs(p), true)
	if err != nil {
		return nil, c.opError("read", p, err)
	}
	n, ok := f.nodes[rp]
	if !ok {
		return nil, c.opError("read", p, fs.ErrNotExist)
	}
	if n.Mode.IsDir() {
		return nil, c.opError("read", p, errors.New("is a directory"))
	}
	return append([]byte(nil), n.Data...), nil
}

// Stat implements transport.Conn (does not follow a final symlink).
func (c *Conn) Stat(ctx context.Context, p string) (*transport.FileInfo, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := c.start(ctx); err != nil {
		return nil, c.opError("stat", p, err)
	}
	rp, err := f.resolve(c.abs(p), false)
	if err != nil {
		return nil, c.opError("stat", p, err)
	}
	n, ok := f.nodes[rp]
	if !ok {
		return nil, c.opError("stat", p, fs.ErrNotExist)
	}
	size := len(n.Data)
	if n.Mode&fs.ModeSymlink != 0 {
		size = len(n.Target) // as lstat says
	}
	return &transport.FileInfo{Path: p, Size: int64(size), Mode: n.Mode, UID: f.id(n.Owner), GID: f.id(n.Group),
		Owner: n.Owner, Group: n.Group, ModTime: n.ModTime, LinkTarget: n.Target}, nil
}

// WriteFile implements transport.Conn: the parent must exist. A symlink
// at p is followed to its target (which keeps its mode and owner) unless
// opts.ReplaceLink; only root gives a file to another owner.
func (c *Conn) WriteFile(ctx context.Context, p string, data []byte, opts transport.WriteOptions) error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := c.start(ctx); err != nil {
		return c.opError("write", p, err)
	}
	rp, err := f.resolve(c.abs(p), !opts.ReplaceLink)
	if err != nil {
		return c.opError("write", p, err)
	}
	old, err := c.replaced(rp, opts)
	if err != nil {
		return c.opError("write", p, err)
	}
	n := &Node{Data: append([]byte(nil), data...), Mode: 0o644, Owner: c.user, Group: c.user, ModTime: f.now()}
	if old != nil {
		n.Mode, n.Owner, n.Group = old.Mode, old.Owner, old.Group
	}
	if opts.Mode != 0 {
		n.Mode = opts.Mode & keepModeBits
	}
	if opts.Owner != "" {
		n.Owner = opts.Owner
	}
	if opts.Group != "" {
		n.Group = opts.Group
	}
	f.nodes[rp] = n
	f.writes = append(f.writes, "write "+rp)
	return nil
}

// replaced checks that a write to rp can go ahead and returns the file it
// replaces (nil for a new file, or a link that ReplaceLink replaces);
// f.mu is held.
func (c *Conn) replaced(rp string, opts transport.WriteOptions) (*Node, error) {
	f := c.f
	if parent, ok := f.nodes[path.Dir(rp)]; !ok || !parent.Mode.IsDir() {
		return nil, fs.ErrNotExist
	}
	switch {
	case opts.Owner != "" && !f.known(opts.Owner):
		return nil, fmt.Errorf("no such user %q", opts.Owner)
	case opts.Group != "" && !f.known(opts.Group):
		return nil, fmt.Errorf("no such group %q", opts.Group)
	case opts.Owner != "" && opts.Owner != c.user && c.user != "root":
		return nil, fmt.Errorf("chown to %s: %w", opts.Owner, fs.ErrPermission)
	}
	old, ok := f.nodes[rp]
	switch {
	case !ok || old.Mode&fs.ModeSymlink != 0:
		return nil, nil
	case old.Mode.IsDir():
		return nil, errors.New("is a directory")
	}
	return old, nil
}

// Remove implements transport.Conn.
func (c *Conn) Remove(ctx context.Context, p string) error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := c.start(ctx); err != nil {
		return c.opError("remove", p, err)
	}
	rp, err := f.resolve(c.abs(p), false)
	if err != nil {
		return c.opError("remove", p, err)
	}
	if _, ok := f.nodes[rp]; !ok {
		return nil
	}
	for k := range f.nodes {
		if strings.HasPrefix(k, rp+"/") {
			return c.opError("remove", p, errors.New("directory not empty"))
		}
	}
	delete(f.nodes, rp)
	f.writes = append(f.writes, "remove "+rp)
	return nil
}

// Become implements transport.Conn: a view acting as another user;
// Become{} is the login user. Becoming a user the fake does not know
// fails on the view's first operation, as sudo would.
func (c *Conn) Become(b transport.Become) transport.Conn {
	if !b.Enabled {
		return &Conn{f: c.f, user: c.f.login}
	}
	u := b.User
	if u == "" {
		u = "root"
	}
	return &Conn{f: c.f, user: u}
}

// Close implements transport.Conn.
func (c *Conn) Close() error { return nil }
