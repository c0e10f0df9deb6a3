package core

// copy and template: put a file with known content on the host
// (ansible.builtin.copy, ansible.builtin.template). The content comes from
// the content argument, a control-machine file (files/ or templates/
// search), or, with remote_src, a file already on the host. copy also takes
// a directory src (control machine or, with remote_src, the host): "dir/"
// copies its contents into dest, "dir" copies the directory itself; every
// file is planned by the same code as a single-file copy. It must never
// write anything while planning.

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// putOpts say how copy/template place content at dest.
type putOpts struct {
	mod      string
	dest     string
	src      string // for result and dest/basename resolution; "" for content
	data     []byte
	srcMode  fs.FileMode // for mode=preserve
	attrs    fileAttrs
	backup   bool
	force    bool
	follow   bool
	validate string
	reads    []tasks.Precondition
	// ownersChecked: checkOwners already ran (directory copy, once).
	ownersChecked bool
}

func sha1Hex(b []byte) string { return fmt.Sprintf("%x", sha1.Sum(b)) }

// planPut plans writing o.data to o.dest with Ansible's copy rules.
func planPut(ctx context.Context, env *tasks.Env, o putOpts) (*tasks.Change, error) {
	c := env.Conn
	if !o.ownersChecked {
		if err := o.attrs.checkOwners(ctx, c); err != nil {
			return nil, err
		}
	}
	dest := o.dest
	var mkdirs []string
	if strings.HasSuffix(dest, "/") {
		if o.src == "" {
			return nil, &tasks.Failed{Msg: "can not use content with a dir as dest"}
		}
		fi, err := statPath(ctx, c, dest)
		if err != nil {
			return nil, err
		}
		if fi == nil {
			if mkdirs, err = missingDirs(ctx, c, dest); err != nil {
				return nil, err
			}
		}
		dest = path.Join(dest, path.Base(o.src))
	} else if _, fi, err := followLinks(ctx, c, dest); err != nil {
		return nil, err
	} else if fi != nil && fi.IsDir() {
		if o.src == "" {
			return nil, &tasks.Failed{Msg: "can not use content with a dir as dest"}
		}
		dest = path.Join(dest, path.Base(o.src))
	}
	if len(mkdirs) == 0 {
		missing, err := missingDirs(ctx, c, parentDir(dest))
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Destination directory %s does not exist", parentDir(dest))}
		}
	}
	real := dest
	fi, err := statPath(ctx, c, dest)
	if err != nil {
		return nil, err
	}
	replaceLink := false
	if fi != nil && fi.Mode&fs.ModeSymlink != 0 {
		if o.follow {
			if real, fi, err = followLinks(ctx, c, dest); err != nil {
				return nil, err
			}
		} else {
			replaceLink = true
		}
	}
	if fi != nil && fi.IsDir() {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("Destination %s is a directory", dest)}
	}
	reads := o.reads
	var before []byte
	exists := false
	if fi != nil && !replaceLink {
		var rerr error
		before, exists, rerr = tasks.ReadFileFor(ctx, c, real, &reads)
		if errors.Is(rerr, overlay.ErrPending) {
			// An earlier planned change writes this file with content
			// unknown until apply: plan as if it were empty.
			before, exists = nil, true
		} else if rerr != nil {
			return nil, fmt.Errorf("host %s: read %s: %w", c.Host(), real, rerr)
		}
	}
	result := map[string]any{"dest": dest, "checksum": sha1Hex(o.data), "size": len(o.data), "state": "file"}
	if o.src != "" {
		result["src"] = o.src
	}
	if fi != nil && !o.force {
		result["msg"] = "file already exists"
		return &tasks.Change{Action: tasks.None, Summary: dest + " exists (force: no)", Reads: reads, Result: result}, nil
	}
	attrs := o.attrs
	if attrs.mode != nil && attrs.mode.preserve {
		attrs.mode = &modeSpec{raw: "preserve", octal: true, bits: unixMode(o.srcMode)}
	}
	cp := &contentPlan{path: real, fi: fi, exists: exists, before: before, after: o.data, attrs: attrs,
		backup: o.backup, validate: o.validate, reads: reads, mkdirs: mkdirs, backupKey: "backup_file", result: result}
	if replaceLink {
		cp.fi, cp.exists, cp.replaceLink = nil, false, true
	}
	ch := cp.change(env)
	delete(ch.Result, "msg")
	if replaceLink {
		ch.Action = tasks.Update
		ch.Summary = fmt.Sprintf("would replace symlink %s with a file (%d bytes)", dest, len(o.data))
	}
	return ch, nil
}

// readLocal reads a control-machine file through env.Local (or the OS when
// no Local conn is set) and reports its mode.
func readLocal(ctx context.Context, env *tasks.Env, p string) ([]byte, fs.FileMode, error) {
	if env.Local != nil {
		fi, err := env.Local.Stat(ctx, p)
		if err != nil {
			return nil, 0, fmt.Errorf("read %s on the control machine: %w", p, err)
		}
		if fi.IsDir() {
			return nil, 0, fmt.Errorf("%s on the control machine is a directory", p)
		}
		data, err := env.Local.ReadFile(ctx, p)
		if err != nil {
			return nil, 0, fmt.Errorf("read %s on the control machine: %w", p, err)
		}
		return data, fi.Mode, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s on the control machine: %w", p, err)
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("%s on the control machine is a directory", p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s on the control machine: %w", p, err)
	}
	return data, st.Mode(), nil
}

func findFile(env *tasks.Env, kind, name string) (string, error) {
	if path.IsAbs(name) || env.FindFile == nil {
		return name, nil
	}
	p, err := env.FindFile(kind, name)
	if err != nil {
		return "", fmt.Errorf("could not find or access %q: %w", name, err)
	}
	return p, nil
}

func planCopy(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := parseArgs("copy", raw, "src", "content", "dest", "mode", "owner", "group", "backup", "force|thirsty",
		"remote_src", "validate", "follow", "local_follow", "unsafe_writes", "checksum", "decrypt", "directory_mode")
	if err != nil {
		return nil, err
	}
	a.exclusive("src", "content")
	dest := a.required("dest")
	src := a.str("src", "")
	content, hasContent := a.content("content")
	o := putOpts{mod: "copy", dest: dest, attrs: parseAttrs(a, true), backup: a.boolean("backup", false),
		force: a.boolean("force", true), follow: a.boolean("follow", false), validate: a.str("validate", "")}
	remote := a.boolean("remote_src", false)
	localFollow := a.boolean("local_follow", true)
	var dirMode *modeSpec
	if v, ok := a.get("directory_mode"); ok && v != nil && !a.templated(v) {
		m, err := parseMode(v, false)
		if err != nil {
			a.fail("directory_mode: %v", err)
		}
		dirMode = m
	}
	_ = a.boolean("unsafe_writes", false)
	_ = a.boolean("decrypt", true)
	wantSum := a.str("checksum", "")
	if o.validate != "" && !strings.Contains(o.validate, "%s") {
		a.fail("validate must contain %%s: %s", o.validate)
	}
	if a.err == nil && src == "" && !hasContent {
		a.fail("src (or content) is required")
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	switch {
	case hasContent:
		o.data = []byte(content)
		o.srcMode = 0o644
	case remote:
		o.src = src
		fi, err := statPath(ctx, env.Conn, src)
		if err != nil {
			return nil, err
		}
		if fi == nil {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Source %s not found", src)}
		}
		if fi.Mode&fs.ModeSymlink != 0 {
			if _, fi, err = followLinks(ctx, env.Conn, src); err != nil {
				return nil, err
			}
			if fi == nil {
				return nil, &tasks.Failed{Msg: fmt.Sprintf("Source %s is a broken symlink", src)}
			}
		}
		if fi.IsDir() {
			if wantSum != "" {
				return nil, &tasks.Failed{Msg: "checksum can not be used with a directory src"}
			}
			if overlay.PendingPath(env.Conn, src) {
				// An earlier planned change touches the source tree: its
				// entries are known only once that change is applied.
				return pendingChange(dest, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
					return planCopy(ctx, env, raw)
				}), nil
			}
			tree := srcTree{conn: env.Conn, remote: true, follow: localFollow}
			return planCopyDir(ctx, env, o, tree, src, src, dirMode)
		}
		data, _, err := tasks.ReadFileFor(ctx, env.Conn, src, &o.reads)
		if errors.Is(err, overlay.ErrPending) {
			return pendingChange(dest, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
				return planCopy(ctx, env, raw)
			}), nil
		}
		if err != nil {
			return nil, fmt.Errorf("host %s: read %s: %w", env.Conn.Host(), src, err)
		}
		o.data, o.srcMode = data, fi.Mode
	default:
		local, err := findFile(env, "files", src)
		if err != nil {
			return nil, &tasks.Failed{Msg: err.Error()}
		}
		tree := localTree(env, localFollow)
		isDir, err := tree.isDir(ctx, local)
		if err != nil {
			return nil, &tasks.Failed{Msg: err.Error()}
		}
		if isDir {
			if wantSum != "" {
				return nil, &tasks.Failed{Msg: "checksum can not be used with a directory src"}
			}
			return planCopyDir(ctx, env, o, tree, src, local, dirMode)
		}
		data, mode, err := readLocal(ctx, env, local)
		if err != nil {
			return nil, &tasks.Failed{Msg: err.Error()}
		}
		o.src, o.data, o.srcMode = src, data, mode
	}
	if wantSum != "" && wantSum != sha1Hex(o.data) {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("copied file does not match the expected checksum: got %s, expected %s", sha1Hex(o.data), wantSum)}
	}
	return planPut(ctx, env, o)
}

func planTemplate(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := parseArgs("template", raw, "src", "dest", "mode", "owner", "group", "backup", "force", "validate",
		"follow", "newline_sequence", "output_encoding", "unsafe_writes")
	if err != nil {
		return nil, err
	}
	src := a.required("src")
	dest := a.required("dest")
	o := putOpts{mod: "template", dest: dest, src: src, attrs: parseAttrs(a, true), backup: a.boolean("backup", false),
		force: a.boolean("force", true), follow: a.boolean("follow", false), validate: a.str("validate", "")}
	nl := a.choice("newline_sequence", `\n`, `\n`, `\r`, `\r\n`)
	if enc := a.str("output_encoding", "utf-8"); enc != "utf-8" && enc != "utf8" {
		a.fail("only utf-8 output_encoding is supported, got %q", enc)
	}
	_ = a.boolean("unsafe_writes", false)
	if o.validate != "" && !strings.Contains(o.validate, "%s") {
		a.fail("validate must contain %%s: %s", o.validate)
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	if env.Render == nil {
		return nil, fmt.Errorf("template: no template renderer in this run")
	}
	local, err := findFile(env, "templates", src)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	text, mode, err := readLocal(ctx, env, local)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	out, err := env.Render(string(text))
	if err != nil {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("template %s: %v", src, err)}
	}
	if nl != `\n` {
		repl := map[string]string{`\r`: "\r", `\r\n`: "\r\n"}[nl]
		out = strings.ReplaceAll(out, "\n", repl)
	}
	o.data, o.srcMode = []byte(out), mode
	return planPut(ctx, env, o)
}

// srcTree reads a copy source directory: on the control machine through the
// os package (conn nil), or through a Conn (a control machine that is not
// the local OS, or the host itself with remote_src), listed by one
// read-only find per directory.
type srcTree struct {
	conn   transport.Conn
	remote bool // conn is the host (remote_src): reads are preconditions
	follow bool // local_follow: follow symlinks found in the tree
}

// localTree is the srcTree for a control-machine src.
func localTree(env *tasks.Env, follow bool) srcTree {
	if _, osLocal := env.Local.(*transport.LocalConn); env.Local == nil || osLocal {
		return srcTree{follow: follow}
	}
	return srcTree{conn: env.Local, follow: follow}
}

func (t srcTree) where() string {
	if t.remote {
		return "host " + t.conn.Host()
	}
	return "the control machine"
}

// stat describes p, following symlinks when follow.
func (t srcTree) stat(ctx context.Context, p string, follow bool) (*transport.FileInfo, error) {
	if t.conn == nil {
		st, err := os.Lstat(p)
		if err == nil && follow && st.Mode()&fs.ModeSymlink != 0 {
			st, err = os.Stat(p)
		}
		if err != nil {
			return nil, fmt.Errorf("stat %s on %s: %w", p, t.where(), err)
		}
		return &transport.FileInfo{Path: p, Size: st.Size(), Mode: st.Mode()}, nil
	}
	var fi *transport.FileInfo
	var err error
	if follow {
		_, fi, err = followLinks(ctx, t.conn, p)
	} else {
		fi, err = statPath(ctx, t.conn, p)
	}
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return nil, fmt.Errorf("stat %s on %s: %w", p, t.where(), fs.ErrNotExist)
	}
	return fi, nil
}

func (t srcTree) isDir(ctx context.Context, p string) (bool, error) {
	fi, err := t.stat(ctx, p, true)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// srcEntry is one entry below a source root.
type srcEntry struct {
	rel  string      // slash path below the root
	kind byte        // 'd' directory, 'f' regular file, 'l' symlink, 'o' other
	mode fs.FileMode // permission bits
}

// resolve follows symlinks in p, so that a listing of the result
// descends into the directory a link names.
func (t srcTree) resolve(ctx context.Context, p string) (string, error) {
	if t.conn == nil {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", fmt.Errorf("resolve %s on %s: %w", p, t.where(), err)
		}
		return r, nil
	}
	r, _, err := followLinks(ctx, t.conn, path.Clean(p))
	return r, err
}

// list returns every entry below root (root itself excluded), parents
// before children, without following symlinks.
func (t srcTree) list(ctx context.Context, root string) ([]srcEntry, error) {
	var out []srcEntry
	if t.conn == nil {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == root {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, srcEntry{rel: filepath.ToSlash(rel), kind: kindByte(info.Mode()), mode: info.Mode().Perm()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s on %s: %w", root, t.where(), err)
		}
		return out, nil
	}
	clean := path.Clean(root)
	res, err := t.conn.Run(ctx, sh("find", clean, "-printf", `%y %m %p\0`), transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s on %s: %w", root, t.where(), err)
	}
	prefix := strings.TrimSuffix(clean, "/") + "/"
	for _, rec := range strings.Split(string(res.Stdout), "\x00") {
		typ, rest, ok1 := strings.Cut(rec, " ")
		perm, p, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 || p == clean {
			continue
		}
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		m, err := strconv.ParseUint(perm, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("list %s on %s: bad mode %q for %s", root, t.where(), perm, p)
		}
		k := byte('o')
		switch typ {
		case "d", "f", "l":
			k = typ[0]
		}
		out = append(out, srcEntry{rel: rel, kind: k, mode: fs.FileMode(m).Perm()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

func kindByte(m fs.FileMode) byte {
	switch {
	case m.IsDir():
		return 'd'
	case m&fs.ModeSymlink != 0:
		return 'l'
	case m.IsRegular():
		return 'f'
	}
	return 'o'
}

// treeFile is a file of the source tree to copy: rel below the copy root,
// read from src.
type treeFile struct {
	rel, src string
	mode     fs.FileMode
}

// walk lists the directories and files to copy from root; symlinks are
// followed when t.follow (a link to a directory is copied as that
// directory), else skipped and returned in skipped. Other special files
// are skipped too.
func (t srcTree) walk(ctx context.Context, root, prefix string, depth int, dirs *[]string, files *[]treeFile, skipped *[]string) error {
	if depth > 8 {
		return fmt.Errorf("copy %s on %s: too many levels of symbolic links to directories (a loop?)", root, t.where())
	}
	root, err := t.resolve(ctx, root)
	if err != nil {
		return err
	}
	entries, err := t.list(ctx, root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		rel := path.Join(prefix, e.rel)
		p := path.Join(root, e.rel)
		switch e.kind {
		case 'd':
			*dirs = append(*dirs, rel)
		case 'f':
			*files = append(*files, treeFile{rel: rel, src: p, mode: e.mode})
		case 'l':
			if !t.follow {
				*skipped = append(*skipped, rel)
				continue
			}
			fi, err := t.stat(ctx, p, true)
			if err != nil {
				return fmt.Errorf("copy %s: follow symlink: %w", p, err)
			}
			switch {
			case fi.IsDir():
				*dirs = append(*dirs, rel)
				if err := t.walk(ctx, p, rel, depth+1, dirs, files, skipped); err != nil {
					return err
				}
			case fi.Mode.IsRegular():
				*files = append(*files, treeFile{rel: rel, src: p, mode: fi.Mode.Perm()})
			default:
				*skipped = append(*skipped, rel)
			}
		default:
			*skipped = append(*skipped, rel)
		}
	}
	return nil
}

// read returns a source file's content; on the host (remote_src) it is
// recorded as a precondition.
func (t srcTree) read(ctx context.Context, p string, reads *[]tasks.Precondition) ([]byte, error) {
	switch {
	case t.remote:
		data, _, err := tasks.ReadFileFor(ctx, t.conn, p, reads)
		if err != nil {
			return nil, fmt.Errorf("host %s: read %s: %w", t.conn.Host(), p, err)
		}
		return data, nil
	case t.conn != nil:
		data, err := t.conn.ReadFile(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("read %s on the control machine: %w", p, err)
		}
		return data, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s on the control machine: %w", p, err)
	}
	return data, nil
}

// planCopyDir plans copying the directory srcArg (as the user wrote it;
// found at root) to o.dest: "dir/" copies its contents, "dir" the
// directory itself. New directories get dirMode (else the host's default)
// and owner/group; each file is planned by planPut, against a view in
// which the new directories already exist, so the plan reads exactly what
// a single-file copy would.
func planCopyDir(ctx context.Context, env *tasks.Env, o putOpts, tree srcTree, srcArg, root string, dirMode *modeSpec) (*tasks.Change, error) {
	c := env.Conn
	if err := o.attrs.checkOwners(ctx, c); err != nil {
		return nil, err
	}
	destRoot := o.dest
	if !strings.HasSuffix(srcArg, "/") {
		destRoot = path.Join(destRoot, path.Base(srcArg))
	}
	destRoot = path.Clean(destRoot)

	var dirs []string
	var files []treeFile
	var skipped []string
	if err := tree.walk(ctx, root, "", 0, &dirs, &files, &skipped); err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}

	// Directories: the missing parents of destRoot, destRoot, then the tree.
	var reads []tasks.Precondition
	var newDirs []string
	ov := overlay.NewOverlay()
	realRoot, rfi, err := followLinks(ctx, c, destRoot)
	if err != nil {
		return nil, err
	}
	switch {
	case rfi == nil:
		missing, err := missingDirs(ctx, c, destRoot)
		if err != nil {
			return nil, err
		}
		if _, err := tasks.StatFor(ctx, c, destRoot, &reads); err != nil {
			return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), destRoot, err)
		}
		newDirs = append(newDirs, missing...)
	case !rfi.IsDir():
		return nil, &tasks.Failed{Msg: fmt.Sprintf("Destination %s exists and is not a directory; cannot copy directory %s into it", destRoot, srcArg)}
	default:
		destRoot = realRoot
		if _, err := tasks.StatFor(ctx, c, destRoot, &reads); err != nil {
			return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), destRoot, err)
		}
	}
	rootIsNew := len(newDirs) > 0
	for _, d := range dirs {
		p := path.Join(destRoot, d)
		if rootIsNew || isUnder(p, newDirs) {
			newDirs = append(newDirs, p)
			continue
		}
		fi, err := tasks.StatFor(ctx, c, p, &reads)
		if err != nil {
			return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), p, err)
		}
		if fi == nil {
			newDirs = append(newDirs, p)
			continue
		}
		if !fi.IsDir() && fi.Mode&fs.ModeSymlink == 0 {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Destination %s exists and is not a directory", p)}
		}
	}
	var dirPerm fs.FileMode
	if dirMode != nil {
		dirPerm = fsMode(dirMode.apply(0o755, true))
	}
	var writes []overlay.PlannedFile
	for _, d := range newDirs {
		writes = append(writes, overlay.PlannedFile{Path: d, Kind: overlay.PlannedDir, Mode: dirPerm,
			Owner: o.attrs.owner, Group: o.attrs.group})
	}
	ov.Add(writes...)

	// Files: one single-file plan each, against the new directories.
	fileEnv := *env
	fileEnv.Conn = overlay.View(c, ov)
	var children []*tasks.Change
	var allFiles, changedFiles []string
	var diffs []tasks.Diff
	for _, f := range files {
		fo := o
		fo.dest = path.Join(destRoot, f.rel)
		fo.src = path.Join(srcArg, f.rel)
		fo.srcMode = f.mode
		fo.ownersChecked = true
		fo.reads = nil
		data, err := tree.read(ctx, f.src, &fo.reads)
		if errors.Is(err, overlay.ErrPending) {
			return pendingChange(destRoot, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
				return planCopyDir(ctx, env, o, tree, srcArg, root, dirMode)
			}), nil
		}
		if err != nil {
			return nil, err
		}
		fo.data = data
		ch, err := planPut(ctx, &fileEnv, fo)
		if err != nil {
			return nil, err
		}
		allFiles = append(allFiles, fo.dest)
		reads = append(reads, ch.Reads...)
		if ch.Action == tasks.None {
			continue
		}
		changedFiles = append(changedFiles, fo.dest)
		children = append(children, ch)
		diffs = append(diffs, ch.Diffs...)
		writes = append(writes, ch.Writes...)
	}

	result := map[string]any{"dest": destRoot, "src": srcArg, "state": "directory", "files": allFiles}
	if len(skipped) > 0 {
		result["skipped_links"] = skipped
		result["msg"] = fmt.Sprintf("skipped %d symlink(s) or special file(s) in %s (local_follow: false): %s",
			len(skipped), srcArg, strings.Join(skipped, ", "))
	}
	if len(newDirs) == 0 && len(children) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: destRoot + " is up to date", Reads: reads, Result: result}, nil
	}
	result["changed_files"] = changedFiles
	action := tasks.Update
	if rootIsNew {
		action = tasks.Create
	}
	summary := fmt.Sprintf("would copy %s to %s: %d of %d file(s) to write", srcArg, destRoot, len(changedFiles), len(files))
	if len(newDirs) > 0 {
		summary += fmt.Sprintf(", %d directory(ies) to create", len(newDirs))
	}
	ch := &tasks.Change{Action: action, Summary: summary, Diffs: diffs, Reads: reads, Writes: writes, Result: result}
	ch.Apply = func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
		out := map[string]any{}
		c := env.Conn
		for _, d := range newDirs {
			if err := run(ctx, c, "create directory "+d, "mkdir", "--", d); err != nil {
				return out, err
			}
			if o.attrs.owner != "" || o.attrs.group != "" {
				if err := o.attrs.applyAttrs(ctx, c, d, attrDelta{owner: o.attrs.owner != "", group: o.attrs.group != ""}, false); err != nil {
					return out, err
				}
			}
			if dirPerm != 0 {
				if err := run(ctx, c, "chmod "+d, "chmod", "--", octalString(unixMode(dirPerm)), d); err != nil {
					return out, err
				}
			}
		}
		var backups []string
		for _, child := range children {
			res, err := child.Apply(ctx, env)
			if b, ok := res["backup_file"].(string); ok {
				backups = append(backups, b)
			}
			if err != nil {
				return out, err
			}
		}
		if len(backups) > 0 {
			out["backup_files"] = backups
		}
		return out, nil
	}
	return ch, nil
}

// isUnder reports whether p is one of dirs or below one of them.
func isUnder(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
