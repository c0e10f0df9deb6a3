package core

// file: make a path a file, directory or symlink with the given mode and
// owner, touch it, or remove it (ansible.builtin.file). Changes are made
// with quoted mkdir/chmod/chown/ln/touch/rm commands; nothing is removed or
// created during Plan.

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/tasks/overlay"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

// fileStates are the states sshplay's file module takes (Ansible's but
// hard).
var fileStates = []string{"file", "directory", "link", "touch", "absent"}

// fileArgs are the file module's arguments, decoded and checked.
type fileArgs struct {
	path, state, src     string // state "" is decided from the path
	recurse, force       bool
	follow               bool
	mtimeKeep, atimeKeep bool // modification_time, access_time: preserve
	attrs                fileAttrs
}

// parseFileArgs decodes and checks file's arguments: a state that is still
// a template is left to run time, where it is decided from the path.
func parseFileArgs(raw map[string]any) (fileArgs, error) {
	a, err := args.Parse("file", raw, "path|dest|name", "state", "mode", "owner", "group", "src", "recurse",
		"force", "follow", "modification_time", "access_time", "unsafe_writes")
	if err != nil {
		return fileArgs{}, err
	}
	f := fileArgs{path: path.Clean(a.Required("path")), src: a.Str("src", ""),
		recurse: a.Bool("recurse", false), force: a.Bool("force", false), follow: a.Bool("follow", true),
		mtimeKeep: a.Choice("modification_time", "now", "now", "preserve") == "preserve",
		atimeKeep: a.Choice("access_time", "now", "now", "preserve") == "preserve"}
	_ = a.Bool("unsafe_writes", false)
	f.attrs = parseAttrs(a, false)
	if v, _ := a.Get("state"); !a.Templated(v) { // else known per host at run time; checked then
		f.state = a.Str("state", "")
	}
	switch {
	case f.state == "hard":
		a.Fail("", "state=hard is not supported by sshplay")
	case f.state != "":
		f.state = a.Choice("state", "", fileStates...)
	}
	switch {
	case f.recurse && f.state != "directory" && f.state != "":
		a.Fail("", "recurse option requires state to be 'directory'")
	case f.state == "link" && f.src == "":
		a.Fail("", "src is required for state=link")
	case f.src != "" && f.state != "link" && f.state != "":
		a.Fail("", "src option requires state to be 'link' or 'hard', not %q", f.state)
	}
	return f, a.Ready()
}

func planFile(ctx context.Context, env *tasks.Env, raw map[string]any) (ch *tasks.Change, err error) {
	fa, err := parseFileArgs(raw)
	if err != nil {
		return nil, err
	}
	if err := fa.attrs.checkOwners(ctx, env.Conn); err != nil {
		return nil, err
	}
	// What the plan saw of the path (and of a followed link's target) is
	// re-checked before apply: a drift in kind, mode or owner stops it.
	var reads []tasks.Precondition
	defer func() {
		if ch != nil {
			ch.Reads = append(reads, ch.Reads...)
		}
	}()
	v, err := viewFile(ctx, env.Conn, fa, &reads)
	if err != nil {
		return nil, err
	}
	switch v.state {
	case "absent":
		return v.absent()
	case "file":
		return v.file()
	case "directory":
		if v.tfi == nil {
			return v.newDirectory(ctx)
		}
		return v.directory(ctx, raw)
	case "touch":
		return v.touch(ctx)
	case "link":
		return v.link(ctx)
	}
	return nil, fmt.Errorf("file: unhandled state %q", v.state)
}

// fileView is what planFile saw of the path: the path itself and, when a
// symlink there is followed, its target. Each state plans from it.
type fileView struct {
	fileArgs
	c      transport.Conn
	fi     *transport.FileInfo // the path itself, not followed
	prev   string              // its kind: absent, file, directory, link...
	target string              // the path the state applies to
	tfi    *transport.FileInfo // what is there
	result map[string]any
}

// viewFile stats the path, decides the state when none is given (as
// Ansible does from what is there) and follows a symlink for file,
// directory and touch when follow is set.
func viewFile(ctx context.Context, c transport.Conn, fa fileArgs, reads *[]tasks.Precondition) (*fileView, error) {
	p := fa.path
	fi, err := tasks.StatFor(ctx, c, p, reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), p, err)
	}
	v := &fileView{fileArgs: fa, c: c, fi: fi, prev: kind(fi), target: p, tfi: fi}
	if v.state == "" {
		switch {
		case fi == nil:
			v.state = "file"
		case v.src != "":
			v.state = "link"
		case v.prev == "directory" || v.prev == "link":
			v.state = v.prev
		default:
			v.state = "file"
		}
	}
	if v.prev == "link" && v.follow && (v.state == "file" || v.state == "directory" || v.state == "touch") {
		if v.target, v.tfi, err = followLinks(ctx, c, p); err != nil {
			return nil, err
		}
		if _, err := tasks.StatFor(ctx, c, v.target, reads); err != nil {
			return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), v.target, err)
		}
	}
	v.result = map[string]any{"path": p, "state": v.state}
	return v, nil
}

// describe registers fi's attributes in the result.
func (v *fileView) describe(fi *transport.FileInfo) {
	if fi != nil {
		v.result["mode"] = octalString(unixMode(fi.Mode))
		v.result["owner"], v.result["group"] = fi.Owner, fi.Group
		v.result["uid"], v.result["gid"] = fi.UID, fi.GID
		v.result["size"] = fi.Size
	}
}

// failed fails the task as Ansible's file module does, with the path and
// the state found.
func (v *fileView) failed(format string, a ...any) (*tasks.Change, error) {
	return nil, &tasks.Failed{Msg: fmt.Sprintf(format, a...), Result: map[string]any{"path": v.path, "state": v.prev}}
}

// stateDiff is the --diff of a change of kind.
func (v *fileView) stateDiff(after string) []tasks.Diff {
	p := v.path
	return []tasks.Diff{tasks.FileDiff(p, "path: "+p+"\nstate: "+v.prev+"\n", "path: "+p+"\nstate: "+after+"\n")}
}

// absent removes the path, a directory recursively.
func (v *fileView) absent() (*tasks.Change, error) {
	p := v.path
	v.result["state"] = "absent"
	if v.fi == nil {
		return &tasks.Change{Action: tasks.None, Summary: p + " is absent", Result: v.result}, nil
	}
	what := v.prev
	if v.prev == "directory" {
		what = "directory, recursively"
	}
	return &tasks.Change{
		Action: tasks.Delete, Summary: fmt.Sprintf("would remove %s (%s)", p, what), Result: v.result,
		Diffs:  v.stateDiff("absent"),
		Writes: []overlay.PlannedFile{{Path: p, Removed: true}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return nil, run(ctx, env.Conn, "remove "+p, "rm", "-r", "-f", "--", p)
		},
	}, nil
}

// file sets the attributes of a regular file that must exist.
func (v *fileView) file() (*tasks.Change, error) {
	switch {
	case v.tfi == nil && v.prev == "link":
		return v.failed("file (%s) is a link to a missing file, cannot continue", v.path)
	case v.tfi == nil:
		return v.failed("file (%s) is absent, cannot continue", v.path)
	case !v.tfi.Mode.IsRegular():
		return v.failed("file (%s) is %s, cannot continue", v.path, kind(v.tfi))
	}
	return attrChange(v.target, v.tfi, v.attrs, v.result, v.describe)
}

// directory sets the attributes of an existing directory, recursively
// with recurse.
func (v *fileView) directory(ctx context.Context, raw map[string]any) (*tasks.Change, error) {
	switch {
	case !v.tfi.IsDir():
		return v.failed("%s already exists as a %s", v.path, kind(v.tfi))
	case !v.recurse:
		return attrChange(v.target, v.tfi, v.attrs, v.result, v.describe)
	case overlay.PendingPath(v.c, v.target):
		// An earlier change that is not applied yet creates, removes or
		// writes entries of the directory: the host cannot list them yet,
		// so they are known after apply (never the case in a real run,
		// which applied that change before this plan).
		pc := pendingChange(v.target, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
			return planFile(ctx, env, raw)
		})
		pc.Writes = nil
		pc.Summary = fmt.Sprintf("would set attributes recursively under %s (its entries are known only after an earlier change is applied)", v.target)
		return pc, nil
	}
	return recurseChange(ctx, v.c, v.target, v.tfi, v.attrs, v.result, v.describe)
}

// newDirectory creates the directory and its missing parents, each with
// the attributes, as Ansible does.
func (v *fileView) newDirectory(ctx context.Context) (*tasks.Change, error) {
	p, attrs := v.path, v.attrs
	dirs, err := missingDirs(ctx, v.c, p)
	if err != nil {
		return nil, err
	}
	want := uint32(0o755)
	if attrs.mode != nil {
		want = attrs.mode.apply(0o755, true)
	}
	writes := make([]overlay.PlannedFile, 0, len(dirs))
	for _, d := range dirs {
		writes = append(writes, overlay.PlannedFile{Path: d, Kind: overlay.PlannedDir, Mode: fsMode(want), Owner: attrs.owner, Group: attrs.group})
	}
	v.result["mode"] = octalString(want)
	return &tasks.Change{
		Action: tasks.Create, Summary: fmt.Sprintf("would create directory %s (%s)", strings.Join(dirs, ", "), octalString(want)),
		Result: v.result, Diffs: v.stateDiff("directory"), Writes: writes,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			if err := run(ctx, env.Conn, "create directory "+p, "mkdir", "-p", "--", p); err != nil {
				return nil, err
			}
			for _, d := range dirs {
				if err := setNewAttrs(ctx, env.Conn, d, attrs, want, true); err != nil {
					return nil, err
				}
			}
			return nil, nil
		},
	}, nil
}

// touch creates an empty file or updates its times (unless both are
// preserved), then sets the attributes.
func (v *fileView) touch(ctx context.Context) (*tasks.Change, error) {
	p, target, tfi, attrs := v.path, v.target, v.tfi, v.attrs
	if tfi != nil && v.mtimeKeep && v.atimeKeep {
		return attrChange(target, tfi, attrs, v.result, v.describe)
	}
	if tfi == nil {
		missing, err := missingDirs(ctx, v.c, parentDir(target))
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return v.failed("Error, could not touch target: directory %s does not exist", parentDir(target))
		}
	}
	action, summary := tasks.Update, "would touch "+p
	var d attrDelta
	if tfi == nil {
		action, summary = tasks.Create, "would create empty file "+p
	} else if d = attrs.delta(tfi); d.any() {
		summary += "; " + strings.Join(d.descr, ", ")
	}
	v.result["state"] = "file"
	return &tasks.Change{
		Action: action, Summary: summary, Result: v.result, Diffs: v.stateDiff("file"),
		Writes: []overlay.PlannedFile{{Path: target, Mode: plannedMode(attrs, tfi), Owner: attrs.owner, Group: attrs.group}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			if err := run(ctx, env.Conn, "touch "+p, "touch", "--", target); err != nil {
				return nil, err
			}
			if tfi != nil {
				return nil, attrs.applyAttrs(ctx, env.Conn, target, d, false)
			}
			want := uint32(0o644)
			if attrs.mode != nil {
				want = attrs.mode.apply(0o644, false)
			}
			return nil, setNewAttrs(ctx, env.Conn, target, attrs, want, false)
		},
	}, nil
}

// link makes the path a symlink to src: a link elsewhere is replaced, a
// file only with force, anything else never.
func (v *fileView) link(ctx context.Context) (*tasks.Change, error) {
	p, src, fi, attrs := v.path, v.src, v.fi, v.attrs
	if ch, err := v.linkRefused(ctx); ch != nil || err != nil {
		return ch, err
	}
	action, summary := tasks.Create, fmt.Sprintf("would link %s -> %s", p, src)
	if fi != nil {
		action = tasks.Update
		summary = fmt.Sprintf("would replace %s (%s) with a link to %s", p, describeLink(fi), src)
	}
	v.result["src"] = src
	return &tasks.Change{
		Action: action, Summary: summary, Result: v.result, Diffs: v.stateDiff("link"),
		Writes: []overlay.PlannedFile{{Path: p, Kind: overlay.PlannedLink, LinkTarget: src, Owner: attrs.owner, Group: attrs.group}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			if err := run(ctx, env.Conn, "link "+p, "ln", "-s", "-f", "-n", "--", src, p); err != nil {
				return nil, err
			}
			if attrs.owner == "" && attrs.group == "" {
				return nil, nil
			}
			return nil, attrs.applyAttrs(ctx, env.Conn, p, attrDelta{owner: attrs.owner != "", group: attrs.group != "", isLink: true}, false)
		},
	}, nil
}

// linkRefused is what link returns instead of linking: a failure (no
// source without force, a file without force, a directory, a missing
// parent) or, for the right link already there, its attribute change. It
// returns nil, nil when the link is to be made.
func (v *fileView) linkRefused(ctx context.Context) (*tasks.Change, error) {
	p, src := v.path, v.src
	abs := src
	if !path.IsAbs(abs) {
		abs = path.Join(path.Dir(p), src)
	}
	if !v.force {
		sfi, err := statPath(ctx, v.c, abs)
		if err != nil {
			return nil, err
		}
		if sfi == nil {
			return v.failed("src file does not exist, use \"force=yes\" if you really want to create the link: %s", abs)
		}
	}
	switch v.prev {
	case "link":
		if v.fi.LinkTarget == src {
			return attrChange(p, v.fi, v.attrs, v.result, v.describe)
		}
	case "absent":
	case "file":
		if !v.force {
			return v.failed("refusing to convert from file to symlink for %s", p)
		}
	default:
		return v.failed("refusing to convert from %s to symlink for %s", v.prev, p)
	}
	missing, err := missingDirs(ctx, v.c, parentDir(p))
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return v.failed("Error while linking: directory %s does not exist", parentDir(p))
	}
	return nil, nil
}

func describeLink(fi *transport.FileInfo) string {
	if fi.Mode&fs.ModeSymlink != 0 {
		return "link to " + fi.LinkTarget
	}
	return kind(fi)
}

func plannedMode(attrs fileAttrs, fi *transport.FileInfo) fs.FileMode {
	cur := uint32(0o644)
	if fi != nil {
		cur = unixMode(fi.Mode)
	}
	if attrs.mode != nil {
		return fsMode(attrs.mode.apply(cur, false))
	}
	return fsMode(cur)
}

// setNewAttrs sets the attributes of a path this change just created.
func setNewAttrs(ctx context.Context, c transport.Conn, p string, attrs fileAttrs, want uint32, isDir bool) error {
	d := attrDelta{owner: attrs.owner != "", group: attrs.group != "", isDir: isDir}
	if attrs.mode != nil {
		d.mode, d.wantMode = true, want
	}
	return attrs.applyAttrs(ctx, c, p, d, false)
}

// attrChange plans mode/owner changes of an existing path.
func attrChange(p string, fi *transport.FileInfo, attrs fileAttrs, result map[string]any, describe func(*transport.FileInfo)) (*tasks.Change, error) {
	describe(fi)
	d := attrs.delta(fi)
	if !d.any() {
		return &tasks.Change{Action: tasks.None, Summary: p + " is up to date", Result: result}, nil
	}
	if d.mode {
		result["mode"] = octalString(d.wantMode)
	}
	if d.owner {
		result["owner"] = attrs.owner
	}
	if d.group {
		result["group"] = attrs.group
	}
	return &tasks.Change{
		Action: tasks.Update, Summary: fmt.Sprintf("would change %s: %s", p, strings.Join(d.descr, ", ")), Result: result,
		Diffs: []tasks.Diff{tasks.FileDiff(p+" (attributes)", attrText(fi), attrAfter(fi, d, attrs))},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return nil, attrs.applyAttrs(ctx, env.Conn, p, d, false)
		},
	}, nil
}

func attrText(fi *transport.FileInfo) string {
	return fmt.Sprintf("mode: %s\nowner: %s\ngroup: %s\n", octalString(unixMode(fi.Mode)), nameOr(fi.Owner, fi.UID), nameOr(fi.Group, fi.GID))
}

func attrAfter(fi *transport.FileInfo, d attrDelta, attrs fileAttrs) string {
	mode, owner, group := octalString(unixMode(fi.Mode)), nameOr(fi.Owner, fi.UID), nameOr(fi.Group, fi.GID)
	if d.mode {
		mode = octalString(d.wantMode)
	}
	if d.owner {
		owner = attrs.owner
	}
	if d.group {
		group = attrs.group
	}
	return fmt.Sprintf("mode: %s\nowner: %s\ngroup: %s\n", mode, owner, group)
}

// recurseChange plans recursive owner/mode changes: a read-only find probe
// lists the first entry that differs.
func recurseChange(ctx context.Context, c transport.Conn, p string, fi *transport.FileInfo, attrs fileAttrs, result map[string]any, describe func(*transport.FileInfo)) (*tasks.Change, error) {
	describe(fi)
	if attrs.mode != nil && !attrs.mode.octal {
		return recurseSymbolic(ctx, c, p, attrs, result)
	}
	var conds []string
	if attrs.owner != "" {
		conds = append(conds, "!", "-user", attrs.owner)
	}
	if attrs.group != "" {
		if len(conds) > 0 {
			conds = append(conds, "-o")
		}
		conds = append(conds, "!", "-group", attrs.group)
	}
	if attrs.mode != nil {
		if len(conds) > 0 {
			conds = append(conds, "-o")
		}
		conds = append(conds, "!", "-perm", octalString(attrs.mode.bits))
	}
	if len(conds) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: p + " is up to date", Result: result}, nil
	}
	argv := append([]string{"find", p, "("}, conds...)
	argv = append(argv, ")", "-print", "-quit")
	res, err := c.Run(ctx, sh(argv...), transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: check attributes under %s: %w", c.Host(), p, err)
	}
	first := strings.TrimSpace(string(res.Stdout))
	if first == "" {
		return &tasks.Change{Action: tasks.None, Summary: p + " is up to date (recursively)", Result: result}, nil
	}
	d := attrDelta{owner: attrs.owner != "", group: attrs.group != "", isDir: true}
	if attrs.mode != nil {
		d.mode, d.wantMode = true, attrs.mode.bits
	}
	var what []string
	if attrs.owner != "" || attrs.group != "" {
		what = append(what, "owner "+strings.TrimSuffix(attrs.owner+":"+attrs.group, ":"))
	}
	if attrs.mode != nil {
		what = append(what, "mode "+octalString(attrs.mode.bits))
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: fmt.Sprintf("would set %s recursively under %s (first differing: %s)", strings.Join(what, ", "), p, first),
		Result:  result,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return nil, attrs.applyAttrs(ctx, env.Conn, p, d, true)
		},
	}, nil
}

// recurseSymbolic plans recurse with a symbolic mode (u=rwX,g=rX,o=): the
// wanted mode depends on each entry's current mode and kind (X), so a
// read-only find lists every entry below p with its mode, kind and owner,
// and Apply sets each entry that differs (symlinks are left alone, as
// Ansible does).
func recurseSymbolic(ctx context.Context, c transport.Conn, p string, attrs fileAttrs, result map[string]any) (*tasks.Change, error) {
	res, err := c.Run(ctx, sh("find", p, "-printf", `%y %m %u %g %p\0`), transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: list %s: %w", c.Host(), p, err)
	}
	byMode := map[uint32][]string{}
	var modes []uint32
	changed, owners := 0, false
	for _, rec := range strings.Split(strings.TrimSuffix(string(res.Stdout), "\x00"), "\x00") {
		f := strings.SplitN(rec, " ", 5)
		if len(f) != 5 {
			continue
		}
		if (attrs.owner != "" && f[2] != attrs.owner) || (attrs.group != "" && f[3] != attrs.group) {
			owners = true
		}
		if f[0] == "l" {
			continue
		}
		cur, err := strconv.ParseUint(f[1], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("host %s: list %s: bad mode %q", c.Host(), p, f[1])
		}
		want := attrs.mode.apply(uint32(cur), f[0] == "d")
		if want != uint32(cur) {
			if byMode[want] == nil {
				modes = append(modes, want)
			}
			byMode[want] = append(byMode[want], f[4])
			changed++
		}
	}
	if changed == 0 && !owners {
		return &tasks.Change{Action: tasks.None, Summary: p + " is up to date (recursively)", Result: result}, nil
	}
	var what []string
	if owners {
		what = append(what, "owner "+strings.TrimSuffix(attrs.owner+":"+attrs.group, ":"))
	}
	if changed > 0 {
		what = append(what, fmt.Sprintf("mode %s on %d entries", attrs.mode.raw, changed))
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: fmt.Sprintf("would set %s recursively under %s", strings.Join(what, ", "), p),
		Result:  result,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			if owners {
				d := attrDelta{owner: attrs.owner != "", group: attrs.group != "", isDir: true}
				if err := attrs.applyAttrs(ctx, env.Conn, p, d, true); err != nil {
					return nil, err
				}
			}
			for _, m := range modes {
				paths := byMode[m]
				for len(paths) > 0 {
					n := min(len(paths), 200)
					argv := append([]string{"chmod", octalString(m), "--"}, paths[:n]...)
					if err := run(ctx, env.Conn, "chmod under "+p, argv...); err != nil {
						return nil, err
					}
					paths = paths[n:]
				}
			}
			return nil, nil
		},
	}, nil
}
