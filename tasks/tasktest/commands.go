package tasktest

// commands.go is the fake host's Run: a command line read as plain shell
// words (internal/shlex.SplitShell) and looked up in a table of the few
// commands modules send; anything else goes to the Handler, or exits 127.

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

	"github.com/sshplay/sshplay/internal/shlex"
	"github.com/sshplay/sshplay/transport"
)

// Run implements transport.Conn. It interprets a single simple command of
// the kinds modules send; anything else goes to the Handler.
func (c *Conn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	c.f.mu.Lock()
	err := c.start(ctx)
	c.f.mu.Unlock()
	var be *transport.BecomeError
	switch {
	case errors.As(err, &be):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("host %s: run %q: %w", c.f.host, cmd, err)
	}
	var stdin []byte
	if opts.Stdin != nil {
		if stdin, err = io.ReadAll(opts.Stdin); err != nil {
			return nil, fmt.Errorf("host %s: run %q: read stdin: %w", c.f.host, cmd, err)
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
	return c.finish(cmd, c.interpret(cmd, stdin), opts)
}

// interpret runs cmd with the fake's own commands.
func (c *Conn) interpret(cmd string, stdin []byte) *transport.Result {
	words, err := shlex.SplitShell(cmd)
	if err != nil || len(words) == 0 {
		return fail(127, "fake: cannot interpret: %s", cmd)
	}
	run, ok := builtins[words[0]]
	if !ok {
		return fail(127, "sh: 1: %s: not found", words[0])
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	return run(c, parseCommand(words, stdin))
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

// ok is a successful command's result, printing out.
func ok(out string) *transport.Result { return &transport.Result{Stdout: []byte(out)} }

// command is one command line split into words: the name, the flags
// before the first operand ("--" ends them) and the operands.
type command struct {
	name  string
	words []string // every word, the name first
	flags []string
	args  []string
	stdin []byte
}

func parseCommand(words []string, stdin []byte) command {
	cm := command{name: words[0], words: words, args: words[1:], stdin: stdin}
	for len(cm.args) > 0 && strings.HasPrefix(cm.args[0], "-") && cm.args[0] != "-" {
		if cm.args[0] == "--" {
			cm.args = cm.args[1:]
			break
		}
		cm.flags = append(cm.flags, cm.args[0])
		cm.args = cm.args[1:]
	}
	return cm
}

// has reports whether a flag holds the letter ch (-rf has r and f).
func (cm command) has(ch string) bool {
	for _, fl := range cm.flags {
		if strings.Contains(fl, ch) {
			return true
		}
	}
	return false
}

// builtin runs one command on the fake host; f.mu is held.
type builtin func(c *Conn, cm command) *transport.Result

// builtins are the commands the fake interprets itself.
var builtins = map[string]builtin{
	"true":   func(*Conn, command) *transport.Result { return ok("") },
	"false":  func(*Conn, command) *transport.Result { return &transport.Result{ExitCode: 1} },
	"echo":   func(_ *Conn, cm command) *transport.Result { return ok(strings.Join(cm.args, " ") + "\n") },
	"test":   runTest,
	"mkdir":  runMkdir,
	"chmod":  runChmod,
	"chown":  runChown,
	"chgrp":  runChown,
	"rm":     runRm,
	"ln":     runLn,
	"touch":  runTouch,
	"id":     runID,
	"getent": runGetent,
	"find":   runFind,
	"cat":    runCat,
}

// runTest is test -e/-d/-f/-L/-h PATH.
func runTest(c *Conn, cm command) *transport.Result {
	if len(cm.flags) != 1 || len(cm.args) != 1 {
		return fail(2, "test: bad usage")
	}
	flag := cm.flags[0]
	n, found := c.f.lookup(c.abs(cm.args[0]), flag != "-L" && flag != "-h")
	var yes bool
	switch flag {
	case "-e":
		yes = found
	case "-d":
		yes = found && n.Mode.IsDir()
	case "-f":
		yes = found && n.Mode.IsRegular()
	case "-L", "-h":
		yes = found && n.Mode&fs.ModeSymlink != 0
	default:
		return fail(2, "test: unknown flag %s", flag)
	}
	if !yes {
		return &transport.Result{ExitCode: 1}
	}
	return ok("")
}

// runMkdir is mkdir [-p] DIR...
func runMkdir(c *Conn, cm command) *transport.Result {
	f := c.f
	for _, p := range cm.args {
		p = c.abs(p)
		if n, found := f.lookup(p, true); found {
			if !n.Mode.IsDir() {
				return fail(1, "mkdir: cannot create directory '%s': File exists", p)
			}
			continue
		}
		if _, found := f.lookup(path.Dir(p), true); !found && !cm.has("p") {
			return fail(1, "mkdir: cannot create directory '%s': No such file or directory", p)
		}
		f.mkdirAll(p, c.user)
		f.writes = append(f.writes, "mkdir "+p)
	}
	return ok("")
}

// runChmod is chmod [-R] OCTAL PATH...
func runChmod(c *Conn, cm command) *transport.Result {
	f := c.f
	if len(cm.args) < 2 {
		return fail(1, "chmod: missing operand")
	}
	m, err := strconv.ParseUint(cm.args[0], 8, 32)
	if err != nil {
		return fail(1, "chmod: fake supports octal modes only: %s", cm.args[0])
	}
	for _, p := range cm.args[1:] {
		rp, _ := f.resolve(c.abs(p), true)
		for _, n := range f.targets(rp, cm.has("R")) {
			n.Mode = n.Mode.Type() | fs.FileMode(m).Perm() | modeSpecial(m)
		}
		f.writes = append(f.writes, "chmod "+cm.args[0]+" "+c.abs(p))
	}
	return ok("")
}

// runChown is chown [-hR] OWNER[:GROUP] PATH... and chgrp [-hR] GROUP
// PATH..., as root only.
func runChown(c *Conn, cm command) *transport.Result {
	f := c.f
	if len(cm.args) < 2 {
		return fail(1, "%s: missing operand", cm.name)
	}
	if c.user != "root" {
		return fail(1, "%s: changing ownership of '%s': Operation not permitted", cm.name, cm.args[1])
	}
	spec := cm.args[0]
	owner, group, _ := strings.Cut(spec, ":")
	if cm.name == "chgrp" {
		owner, group = "", spec
	}
	if owner != "" && !f.known(owner) {
		return fail(1, "%s: invalid user: '%s'", cm.name, spec)
	}
	if group != "" && !f.known(group) {
		return fail(1, "%s: invalid group: '%s'", cm.name, spec)
	}
	for _, p := range cm.args[1:] {
		targets := f.targets(c.abs(p), cm.has("R"))
		if !cm.has("h") && !cm.has("R") {
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
		f.writes = append(f.writes, cm.name+" "+spec+" "+c.abs(p))
	}
	return ok("")
}

// runRm is rm [-rf] PATH...
func runRm(c *Conn, cm command) *transport.Result {
	f := c.f
	for _, p := range cm.args {
		p = c.abs(p)
		if _, found := f.nodes[p]; !found {
			if cm.has("f") {
				continue
			}
			return fail(1, "rm: cannot remove '%s': No such file or directory", p)
		}
		if !cm.has("r") && len(f.targets(p, true)) > 1 {
			return fail(1, "rm: cannot remove '%s': Is a directory", p)
		}
		for k := range f.nodes {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.nodes, k)
			}
		}
		f.writes = append(f.writes, "rm "+p)
	}
	return ok("")
}

// runLn is ln -s[fn] TARGET LINK.
func runLn(c *Conn, cm command) *transport.Result {
	f := c.f
	if !cm.has("s") || len(cm.args) != 2 {
		return fail(1, "ln: fake supports ln -s[fn] -- SRC DEST only")
	}
	target, dst := cm.args[0], c.abs(cm.args[1])
	if n, found := f.nodes[dst]; found {
		if !cm.has("f") {
			return fail(1, "ln: failed to create symbolic link '%s': File exists", dst)
		}
		if n.Mode.IsDir() {
			return fail(1, "ln: fake refuses to link into a directory: %s", dst)
		}
	}
	if _, found := f.lookup(path.Dir(dst), true); !found {
		return fail(1, "ln: failed to create symbolic link '%s': No such file or directory", dst)
	}
	f.nodes[dst] = &Node{Mode: fs.ModeSymlink | 0o777, Target: target, Owner: c.user, Group: c.user, ModTime: f.now()}
	f.writes = append(f.writes, "ln "+target+" "+dst)
	return ok("")
}

// runTouch is touch PATH...
func runTouch(c *Conn, cm command) *transport.Result {
	f := c.f
	for _, p := range cm.args {
		rp, _ := f.resolve(c.abs(p), true)
		if n, found := f.nodes[rp]; found {
			n.ModTime = f.now()
		} else {
			if _, found := f.lookup(path.Dir(rp), true); !found {
				return fail(1, "touch: cannot touch '%s': No such file or directory", p)
			}
			f.nodes[rp] = &Node{Mode: 0o644, Owner: c.user, Group: c.user, ModTime: f.now()}
		}
		f.writes = append(f.writes, "touch "+rp)
	}
	return ok("")
}

// runID is id -un / id -gn (the acting user; its group has its name) and
// id -u NAME (a known user's id).
func runID(c *Conn, cm command) *transport.Result {
	switch {
	case cm.has("n") && len(cm.args) == 0:
		return ok(c.user + "\n")
	case cm.has("u") && len(cm.args) == 1:
		if !c.f.known(cm.args[0]) {
			return fail(1, "id: '%s': no such user", cm.args[0])
		}
		return ok(strconv.Itoa(c.f.id(cm.args[0])) + "\n")
	}
	return fail(1, "id: fake supports id -un, id -gn, id -u NAME")
}

// runGetent is getent group NAME.
func runGetent(c *Conn, cm command) *transport.Result {
	if len(cm.args) != 2 || cm.args[0] != "group" {
		return fail(1, "getent: fake supports getent group NAME")
	}
	if !c.f.known(cm.args[1]) {
		return &transport.Result{ExitCode: 2}
	}
	return ok(fmt.Sprintf("%s:x:%d:\n", cm.args[1], c.f.id(cm.args[1])))
}

// runFind is find ROOT -printf FMT with %y %m %u %g %p and \0 / \n escapes.
func runFind(c *Conn, cm command) *transport.Result {
	w := cm.words
	if len(w) != 4 || w[2] != "-printf" {
		return fail(1, "find: fake supports find ROOT -printf FMT")
	}
	root := c.abs(w[1])
	var keys []string
	for k := range c.f.nodes {
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
		out.WriteString(findLine(k, c.f.nodes[k], w[3]))
	}
	return ok(out.String())
}

// findLine is find's -printf format filled in for the node at p.
func findLine(p string, n *Node, format string) string {
	y := "f"
	switch {
	case n.Mode.IsDir():
		y = "d"
	case n.Mode&fs.ModeSymlink != 0:
		y = "l"
	}
	mode := int64(n.Mode.Perm())
	for bit, octal := range map[fs.FileMode]int64{fs.ModeSetuid: 0o4000, fs.ModeSetgid: 0o2000, fs.ModeSticky: 0o1000} {
		if n.Mode&bit != 0 {
			mode |= octal
		}
	}
	r := strings.NewReplacer("%y", y, "%m", strconv.FormatInt(mode, 8),
		"%u", n.Owner, "%g", n.Group, "%p", p, `\0`, "\x00", `\n`, "\n")
	return r.Replace(format)
}

// runCat is cat PATH..., or cat of stdin without operands.
func runCat(c *Conn, cm command) *transport.Result {
	if len(cm.args) == 0 {
		return ok(string(cm.stdin))
	}
	var out bytes.Buffer
	for _, p := range cm.args {
		rp, _ := c.f.resolve(c.abs(p), true)
		n, found := c.f.nodes[rp]
		if !found {
			return fail(1, "cat: %s: No such file or directory", p)
		}
		out.Write(n.Data)
	}
	return ok(out.String())
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
