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

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/tasks/overlay"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

func planFile(ctx context.Context, env *tasks.Env, raw map[string]any) (ch *tasks.Change, err error) {
	a, err := parseArgs("file", raw, "path|dest|name", "state", "mode", "owner", "group", "src", "recurse",
		"force", "follow", "modification_time", "access_time", "unsafe_writes")
	if err != nil {
		return nil, err
	}
	p := path.Clean(a.required("path"))
	state := a.str("state", "")
	if v, _ := a.get("state"); a.templated(v) {
		state = "" // known per host at run time; checked then
	}
	src := a.str("src", "")
	recurse := a.boolean("recurse", false)
	force := a.boolean("force", false)
	follow := a.boolean("follow", true)
	mtime := a.choice("modification_time", "now", "now", "preserve")
	atime := a.choice("access_time", "now", "now", "preserve")
	_ = a.boolean("unsafe_writes", false)
	attrs := parseAttrs(a, false)
	if a.err != nil {
		return nil, a.err
	}
	if state != "" && state != "file" && state != "directory" && state != "absent" && state != "touch" && state != "link" {
		if state == "hard" {
			return nil, &argError{"file: state=hard is not supported by sshplay"}
		}
		msg := fmt.Sprintf("file: argument state must be one of file, directory, link, touch, absent, got %q", state)
		if sug := suggest.Closest(state, []string{"file", "directory", "link", "touch", "absent"}); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		return nil, &argError{msg}
	}
	if recurse && state != "directory" && state != "" {
		return nil, &argError{"file: recurse option requires state to be 'directory'"}
	}
	if state == "link" && src == "" {
		return nil, &argError{"file: src is required for state=link"}
	}
	if src != "" && state != "link" && state != "" {
		return nil, &argError{fmt.Sprintf("file: src option requires state to be 'link' or 'hard', not %q", state)}
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	c := env.Conn
	if err := attrs.checkOwners(ctx, c); err != nil {
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
	fi, err := tasks.StatFor(ctx, c, p, &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), p, err)
	}
	prev := kind(fi)
	if state == "" {
		switch {
		case fi == nil:
			state = "file"
		case src != "":
			state = "link"
		case prev == "directory" || prev == "link":
			state = prev
		default:
			state = "file"
		}
	}
	// For file and directory, a symlink is followed when follow is set.
	target, tfi := p, fi
	if prev == "link" && follow && (state == "file" || state == "directory" || state == "touch") {
		if target, tfi, err = followLinks(ctx, c, p); err != nil {
			return nil, err
		}
		if _, err := tasks.StatFor(ctx, c, target, &reads); err != nil {
			return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), target, err)
		}
	}
	result := map[string]any{"path": p, "state": state}
	describe := func(fi *transport.FileInfo) {
		if fi != nil {
			result["mode"] = octalString(unixMode(fi.Mode))
			result["owner"], result["group"] = fi.Owner, fi.Group
			result["uid"], result["gid"] = fi.UID, fi.GID
			result["size"] = fi.Size
		}
	}
	failed := func(format string, v ...any) (*tasks.Change, error) {
		return nil, &tasks.Failed{Msg: fmt.Sprintf(format, v...), Result: map[string]any{"path": p, "state": prev}}
	}
	stateDiff := func(after string) []tasks.Diff {
		return []tasks.Diff{tasks.FileDiff(p, "path: "+p+"\nstate: "+prev+"\n", "path: "+p+"\nstate: "+after+"\n")}
	}
	switch state {
	case "absent":
		result["state"] = "absent"
		if fi == nil {
			return &tasks.Change{Action: tasks.None, Summary: p + " is absent", Result: result}, nil
		}
		what := prev
		if prev == "directory" {
			what = "directory, recursively"
		}
		return &tasks.Change{
			Action: tasks.Delete, Summary: fmt.Sprintf("would remove %s (%s)", p, what), Result: result,
			Diffs:  stateDiff("absent"),
			Writes: []overlay.PlannedFile{{Path: p, Removed: true}},
			Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
				return nil, run(ctx, env.Conn, "remove "+p, "rm", "-r", "-f", "--", p)
			},
		}, nil

	case "file":
		if tfi == nil {
			if prev == "link" {
				return failed("file (%s) is a link to a missing file, cannot continue", p)
			}
			return failed("file (%s) is absent, cannot continue", p)
		}
		if !tfi.Mode.IsRegular() {
			return failed("file (%s) is %s, cannot continue", p, kind(tfi))
		}
		return attrChange(target, tfi, attrs, result, describe)

	case "directory":
		if tfi != nil {
			if !tfi.IsDir() {
				return failed("%s already exists as a %s", p, kind(tfi))
			}
			if recurse {
				if overlay.PendingPath(c, target) {
					// An earlier change that is not applied yet creates,
					// removes or writes entries of the directory: the
					// host cannot list them yet, so they are known after
					// apply (never the case in a real run, which applied
					// that change before this plan).
					pc := pendingChange(target, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
						return planFile(ctx, env, raw)
					})
					pc.Writes = nil
					pc.Summary = fmt.Sprintf("would set attributes recursively under %s (its entries are known only after an earlier change is applied)", target)
					return pc, nil
				}
				return recurseChange(ctx, c, target, tfi, attrs, result, describe)
			}
			return attrChange(target, tfi, attrs, result, describe)
		}
		dirs, err := missingDirs(ctx, c, p)
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
		result["mode"] = octalString(want)
		return &tasks.Change{
			Action: tasks.Create, Summary: fmt.Sprintf("would create directory %s (%s)", strings.Join(dirs, ", "), octalString(want)),
			Result: result, Diffs: stateDiff("directory"), Writes: writes,
			Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
				if err := run(ctx, env.Conn, "create directory "+p, "mkdir", "-p", "--", p); err != nil {
					return nil, err
				}
				// Like Ansible, every directory created gets the attributes.
				for _, d := range dirs {
					if err := setNewAttrs(ctx, env.Conn, d, attrs, want, true); err != nil {
						return nil, err
					}
				}
				return nil, nil
			},
		}, nil

	case "touch":
		keep := mtime == "preserve" && atime == "preserve"
		if tfi != nil && keep {
			return attrChange(target, tfi, attrs, result, describe)
		}
		if tfi == nil {
			missing, err := missingDirs(ctx, c, parentDir(target))
			if err != nil {
				return nil, err
			}
			if len(missing) > 0 {
				return failed("Error, could not touch target: directory %s does not exist", parentDir(target))
			}
		}
		action, summary := tasks.Update, "would touch "+p
		var d attrDelta
		if tfi == nil {
			action, summary = tasks.Create, "would create empty file "+p
		} else {
			d = attrs.delta(tfi)
			if d.any() {
				summary += "; " + strings.Join(d.descr, ", ")
			}
		}
		result["state"] = "file"
		return &tasks.Change{
			Action: action, Summary: summary, Result: result, Diffs: stateDiff("file"),
			Writes: []overlay.PlannedFile{{Path: target, Mode: plannedMode(attrs, tfi), Owner: attrs.owner, Group: attrs.group}},
			Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
				if err := run(ctx, env.Conn, "touch "+p, "touch", "--", target); err != nil {
					return nil, err
				}
				if tfi == nil {
					want := uint32(0o644)
					if attrs.mode != nil {
						want = attrs.mode.apply(0o644, false)
					}
					return nil, setNewAttrs(ctx, env.Conn, target, attrs, want, false)
				}
				return nil, attrs.applyAttrs(ctx, env.Conn, target, d, false)
			},
		}, nil

	case "link":
		abs := src
		if !path.IsAbs(abs) {
			abs = path.Join(path.Dir(p), src)
		}
		if !force {
			sfi, err := statPath(ctx, c, abs)
			if err != nil {
				return nil, err
			}
			if sfi == nil {
				return failed("src file does not exist, use \"force=yes\" if you really want to create the link: %s", abs)
			}
		}
		switch prev {
		case "link":
			if fi.LinkTarget == src {
				return attrChange(p, fi, attrs, result, describe)
			}
		case "absent":
		case "file":
			if !force {
				return failed("refusing to convert from file to symlink for %s", p)
			}
		default:
			return failed("refusing to convert from %s to symlink for %s", prev, p)
		}
		missing, err := missingDirs(ctx, c, parentDir(p))
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return failed("Error while linking: directory %s does not exist", parentDir(p))
		}
		action, summary := tasks.Create, fmt.Sprintf("would link %s -> %s", p, src)
		if fi != nil {
			action = tasks.Update
			summary = fmt.Sprintf("would replace %s (%s) with a link to %s", p, describeLink(fi), src)
		}
		result["src"] = src
		return &tasks.Change{
			Action: action, Summary: summary, Result: result, Diffs: stateDiff("link"),
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
	return nil, fmt.Errorf("file: unhandled state %q", state)
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
