package tasktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// New returns a fake host named host whose login user is user, with / and
// /tmp present. Known users: root (0), postgres (26), user (1000).
func New(host, user string) *Conn {
	f := &Fake{
		host:  host,
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
	f.nodes[path.Clean(p)] = &Node{Data: []byte(data), Mode: mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), Owner: owner, Group: group, ModTime: f.now()}
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

func notExist(op, p string) error { return &fs.PathError{Op: op, Path: p, Err: fs.ErrNotExist} }

// Host implements transport.Conn.
func (c *Conn) Host() string { return c.f.host }

// ReadFile implements transport.Conn.
func (c *Conn) ReadFile(ctx context.Context, p string) ([]byte, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, err := f.resolve(c.abs(p), true)
	if err != nil {
		return nil, err
	}
	n, ok := f.nodes[rp]
	if !ok {
		return nil, notExist("open", p)
	}
	if n.Mode.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errors.New("is a directory")}
	}
	return append([]byte(nil), n.Data...), nil
}

// Stat implements transport.Conn (does not follow a final symlink).
func (c *Conn) Stat(ctx context.Context, p string) (*transport.FileInfo, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, err := f.resolve(c.abs(p), false)
	if err != nil {
		return nil, err
	}
	n, ok := f.nodes[rp]
	if !ok {
		return nil, notExist("stat", p)
	}
	return &transport.FileInfo{Path: p, Size: int64(len(n.Data)), Mode: n.Mode, UID: f.id(n.Owner), GID: f.id(n.Group),
		Owner: n.Owner, Group: n.Group, ModTime: n.ModTime, LinkTarget: n.Target}, nil
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

// WriteFile implements transport.Conn: the parent must exist.
func (c *Conn) WriteFile(ctx context.Context, p string, data []byte, opts transport.WriteOptions) error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, err := f.resolve(c.abs(p), true)
	if err != nil {
		return err
	}
	parent, ok := f.nodes[path.Dir(rp)]
	if !ok || !parent.Mode.IsDir() {
		return notExist("open", p)
	}
	old, exists := f.nodes[rp]
	if exists && old.Mode.IsDir() {
		return &fs.PathError{Op: "open", Path: p, Err: errors.New("is a directory")}
	}
	if opts.Owner != "" && !f.known(opts.Owner) {
		return fmt.Errorf("host %s: write %s: no such user %q", f.host, p, opts.Owner)
	}
	if opts.Group != "" && !f.known(opts.Group) {
		return fmt.Errorf("host %s: write %s: no such group %q", f.host, p, opts.Group)
	}
	n := &Node{Data: append([]byte(nil), data...), Mode: 0o644, Owner: c.user, Group: c.user, ModTime: f.now()}
	if exists {
		n.Mode, n.Owner, n.Group = old.Mode, old.Owner, old.Group
	}
	if opts.Mode != 0 {
		n.Mode = opts.Mode
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

// Remove implements transport.Conn.
func (c *Conn) Remove(ctx context.Context, p string) error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	p = c.abs(p)
	if _, ok := f.nodes[p]; !ok {
		return nil
	}
	for k := range f.nodes {
		if strings.HasPrefix(k, p+"/") {
			return &fs.PathError{Op: "remove", Path: p, Err: errors.New("directory not empty")}
		}
	}
	delete(f.nodes, p)
	f.writes = append(f.writes, "remove "+p)
	return nil
}

// Become implements transport.Conn: a view acting as another user.
func (c *Conn) Become(b transport.Become) transport.Conn {
	if !b.Enabled {
		return c
	}
	u := b.User
	if u == "" {
		u = "root"
	}
	return &Conn{f: c.f, user: u}
}

// Close implements transport.Conn.
func (c *Conn) Close() error { return nil }

// Run implements transport.Conn. It interprets a single simple command of
// the kinds modules send; anything else goes to the Handler.
func (c *Conn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var stdin []byte
	if opts.Stdin != nil {
		var err error
		if stdin, err = io.ReadAll(opts.Stdin); err != nil {
			return nil, err
		}
	}
	if i := strings.Index(cmd, "{ __sshplay_n=;"); i >= 0 {
		// A shell task's text comes on stdin (transport.ScriptLine); a
		// "cd DIR && " before it stays.
		script, rest, ok := transport.SplitScriptInput(string(stdin))
		if !ok {
			return c.finish(cmd, &transport.Result{ExitCode: 2, Stderr: []byte("fake: bad script input\n")}, opts)
		}
		cmd, stdin = cmd[:i]+script, []byte(rest)
	}
	c.f.mu.Lock()
	c.f.runs = append(c.f.runs, cmd)
	h := c.f.handler
	c.f.mu.Unlock()
	if h != nil {
		if res, ok := h(ctx, c, cmd, stdin); ok {
			return c.finish(cmd, res, opts)
		}
	}
	words, ok := Split(cmd)
	if !ok || len(words) == 0 {
		return c.finish(cmd, &transport.Result{ExitCode: 127, Stderr: []byte("fake: cannot interpret: " + cmd + "\n")}, opts)
	}
	c.f.mu.Lock()
	res := c.builtin(words)
	c.f.mu.Unlock()
	return c.finish(cmd, res, opts)
}

func (c *Conn) finish(cmd string, res *transport.Result, opts transport.RunOptions) (*transport.Result, error) {
	if opts.Stdout != nil {
		_, _ = opts.Stdout.Write(res.Stdout)
	}
	if opts.Stderr != nil {
		_, _ = opts.Stderr.Write(res.Stderr)
	}
	if res.ExitCode != 0 {
		return res, &transport.ExitError{Host: c.f.host, Cmd: cmd, Code: res.ExitCode, Stderr: string(res.Stderr)}
	}
	return res, nil
}

func fail(code int, format string, a ...any) *transport.Result {
	return &transport.Result{ExitCode: code, Stderr: []byte(fmt.Sprintf(format, a...) + "\n")}
}

// builtin interprets words; f.mu is held.
func (c *Conn) builtin(w []string) *transport.Result {
	f := c.f
	name, rest := w[0], w[1:]
	var flags []string
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") && rest[0] != "-" {
		if rest[0] == "--" {
			rest = rest[1:]
			break
		}
		flags = append(flags, rest[0])
		rest = rest[1:]
	}
	has := func(ch string) bool {
		for _, fl := range flags {
			if strings.Contains(fl, ch) {
				return true
			}
		}
		return false
	}
	switch name {
	case "true":
		return &transport.Result{}
	case "false":
		return &transport.Result{ExitCode: 1}
	case "test":
		if len(flags) != 1 || len(rest) != 1 {
			return fail(2, "test: bad usage")
		}
		n, ok := f.lookup(c.abs(rest[0]), flags[0] != "-L")
		res := map[bool]int{true: 0, false: 1}
		switch flags[0] {
		case "-e":
			return &transport.Result{ExitCode: res[ok]}
		case "-d":
			return &transport.Result{ExitCode: res[ok && n.Mode.IsDir()]}
		case "-f":
			return &transport.Result{ExitCode: res[ok && n.Mode.IsRegular()]}
		case "-L", "-h":
			return &transport.Result{ExitCode: res[ok && n.Mode&fs.ModeSymlink != 0]}
		}
		return fail(2, "test: unknown flag %s", flags[0])
	case "mkdir":
		for _, p := range rest {
			p = c.abs(p)
			if n, ok := f.lookup(p, true); ok {
				if !n.Mode.IsDir() {
					return fail(1, "mkdir: cannot create directory '%s': File exists", p)
				}
				continue
			}
			if !has("p") {
				if _, ok := f.lookup(path.Dir(p), true); !ok {
					return fail(1, "mkdir: cannot create directory '%s': No such file or directory", p)
				}
			}
			f.mkdirAll(p, c.user)
			f.writes = append(f.writes, "mkdir "+p)
		}
		return &transport.Result{}
	case "chmod":
		if len(rest) < 2 {
			return fail(1, "chmod: missing operand")
		}
		m, err := strconv.ParseUint(rest[0], 8, 32)
		if err != nil {
			return fail(1, "chmod: fake supports octal modes only: %s", rest[0])
		}
		for _, p := range rest[1:] {
			rp, _ := f.resolve(c.abs(p), true)
			for _, n := range f.targets(rp, has("R")) {
				n.Mode = n.Mode.Type() | fs.FileMode(m).Perm() | modeSpecial(m)
			}
			f.writes = append(f.writes, "chmod "+rest[0]+" "+c.abs(p))
		}
		return &transport.Result{}
	case "chown", "chgrp":
		if len(rest) < 2 {
			return fail(1, "%s: missing operand", name)
		}
		if c.user != "root" {
			return fail(1, "%s: changing ownership of '%s': Operation not permitted", name, rest[1])
		}
		owner, group, _ := strings.Cut(rest[0], ":")
		if name == "chgrp" {
			owner, group = "", rest[0]
		}
		if owner != "" && !f.known(owner) {
			return fail(1, "%s: invalid user: '%s'", name, rest[0])
		}
		if group != "" && !f.known(group) {
			return fail(1, "%s: invalid group: '%s'", name, rest[0])
		}
		for _, p := range rest[1:] {
			targets := f.targets(c.abs(p), has("R"))
			if !has("h") && !has("R") {
				rp, _ := f.resolve(c.abs(p), true)
				targets = f.targets(rp, false)
			}
			for _, n := range targets {
				if owner != "" {
					n.Owner = owner
				}
				if group != "" {
					n.Group = group
				}
			}
			f.writes = append(f.writes, name+" "+rest[0]+" "+c.abs(p))
		}
		return &transport.Result{}
	case "rm":
		for _, p := range rest {
			p = c.abs(p)
			if _, ok := f.nodes[p]; !ok {
				if has("f") {
					continue
				}
				return fail(1, "rm: cannot remove '%s': No such file or directory", p)
			}
			for k := range f.nodes {
				if k == p || strings.HasPrefix(k, p+"/") {
					if k != p && !has("r") {
						return fail(1, "rm: cannot remove '%s': Is a directory", p)
					}
					delete(f.nodes, k)
				}
			}
			f.writes = append(f.writes, "rm "+p)
		}
		return &transport.Result{}
	case "ln":
		if !has("s") || len(rest) != 2 {
			return fail(1, "ln: fake supports ln -s[fn] -- SRC DEST only")
		}
		dst := c.abs(rest[1])
		if n, ok := f.nodes[dst]; ok {
			if !has("f") {
				return fail(1, "ln: failed to create symbolic link '%s': File exists", dst)
			}
			if n.Mode.IsDir() {
				return fail(1, "ln: fake refuses to link into a directory: %s", dst)
			}
		}
		if _, ok := f.lookup(path.Dir(dst), true); !ok {
			return fail(1, "ln: failed to create symbolic link '%s': No such file or directory", dst)
		}
		f.nodes[dst] = &Node{Mode: fs.ModeSymlink | 0o777, Target: rest[0], Owner: c.user, Group: c.user, ModTime: f.now()}
		f.writes = append(f.writes, "ln "+rest[0]+" "+dst)
		return &transport.Result{}
	case "touch":
		for _, p := range rest {
			rp, _ := f.resolve(c.abs(p), true)
			if n, ok := f.nodes[rp]; ok {
				n.ModTime = f.now()
			} else {
				if _, ok := f.lookup(path.Dir(rp), true); !ok {
					return fail(1, "touch: cannot touch '%s': No such file or directory", p)
				}
				f.nodes[rp] = &Node{Mode: 0o644, Owner: c.user, Group: c.user, ModTime: f.now()}
			}
			f.writes = append(f.writes, "touch "+rp)
		}
		return &transport.Result{}
	case "id":
		// id -un / id -gn (the acting user; its group has its name), and
		// id -u NAME (a known user's id).
		switch {
		case has("n") && len(rest) == 0:
			return &transport.Result{Stdout: []byte(c.user + "\n")}
		case has("u") && len(rest) == 1:
			if !f.known(rest[0]) {
				return fail(1, "id: '%s': no such user", rest[0])
			}
			return &transport.Result{Stdout: []byte(strconv.Itoa(f.id(rest[0])) + "\n")}
		}
		return fail(1, "id: fake supports id -un, id -gn, id -u NAME")
	case "getent":
		if len(rest) != 2 || rest[0] != "group" {
			return fail(1, "getent: fake supports getent group NAME")
		}
		if !f.known(rest[1]) {
			return &transport.Result{ExitCode: 2}
		}
		return &transport.Result{Stdout: []byte(fmt.Sprintf("%s:x:%d:\n", rest[1], f.id(rest[1])))}
	case "find":
		// find ROOT -printf FMT with %y %m %u %g %p and \0 / \n escapes.
		if len(w) != 4 || w[2] != "-printf" {
			return fail(1, "find: fake supports find ROOT -printf FMT")
		}
		root := c.abs(w[1])
		var keys []string
		for k := range f.nodes {
			if k == root || strings.HasPrefix(k, root+"/") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return fail(1, "find: '%s': No such file or directory", w[1])
		}
		sort.Strings(keys)
		var out strings.Builder
		for _, k := range keys {
			n := f.nodes[k]
			y := "f"
			switch {
			case n.Mode.IsDir():
				y = "d"
			case n.Mode&fs.ModeSymlink != 0:
				y = "l"
			}
			special := 0
			if n.Mode&fs.ModeSetuid != 0 {
				special |= 0o4000
			}
			if n.Mode&fs.ModeSetgid != 0 {
				special |= 0o2000
			}
			if n.Mode&fs.ModeSticky != 0 {
				special |= 0o1000
			}
			r := strings.NewReplacer("%y", y, "%m", strconv.FormatInt(int64(int(n.Mode.Perm())|special), 8),
				"%u", n.Owner, "%g", n.Group, "%p", k, `\0`, "\x00", `\n`, "\n")
			out.WriteString(r.Replace(w[3]))
		}
		return &transport.Result{Stdout: []byte(out.String())}
	case "echo":
		return &transport.Result{Stdout: []byte(strings.Join(rest, " ") + "\n")}
	case "cat":
		var out bytes.Buffer
		for _, p := range rest {
			rp, _ := f.resolve(c.abs(p), true)
			n, ok := f.nodes[rp]
			if !ok {
				return fail(1, "cat: %s: No such file or directory", p)
			}
			out.Write(n.Data)
		}
		return &transport.Result{Stdout: out.Bytes()}
	}
	return fail(127, "sh: 1: %s: not found", name)
}

func modeSpecial(m uint64) fs.FileMode {
	var out fs.FileMode
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}

// lookup finds p, following symlinks if follow; f.mu is held.
func (f *Fake) lookup(p string, follow bool) (*Node, bool) {
	rp, err := f.resolve(p, follow)
	if err != nil {
		return nil, false
	}
	n, ok := f.nodes[rp]
	return n, ok
}

// targets returns p and, when recursive, everything below it.
func (f *Fake) targets(p string, recursive bool) []*Node {
	var out []*Node
	for k, n := range f.nodes {
		if k == p || (recursive && strings.HasPrefix(k, p+"/")) {
			out = append(out, n)
		}
	}
	return out
}

// Split splits a command line into words following POSIX shell quoting
// (single quotes, double quotes, backslashes). It reports false for lines
// with unquoted operators (;, |, &, <, >, $, `, (, )) it cannot interpret.
func Split(s string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					return nil, false
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			inWord = true
		case ch == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
			inWord = true
		case strings.IndexByte(";|&<>$`()", ch) >= 0:
			return nil, false
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}
