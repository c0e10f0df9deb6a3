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
	"github.com/sshplay/sshplay/tasks/args"
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
	// decrypt: the files of a control-machine directory source that are
	// vault data are copied as their plaintext (copy's decrypt).
	decrypt bool
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
	dest, mkdirs, err := putDest(ctx, c, o)
	if err != nil {
		return nil, err
	}
	t, err := readPutTarget(ctx, c, dest, o)
	if err != nil {
		return nil, err
	}
	result := map[string]any{"dest": dest, "checksum": sha1Hex(o.data), "size": len(o.data), "state": "file"}
	if o.src != "" {
		result["src"] = o.src
	}
	if t.fi != nil && !o.force {
		result["msg"] = "file already exists"
		return &tasks.Change{Action: tasks.None, Summary: dest + " exists (force: no)", Reads: t.reads, Result: result}, nil
	}
	attrs := o.attrs
	if attrs.mode != nil && attrs.mode.preserve {
		attrs.mode = &modeSpec{raw: "preserve", octal: true, bits: unixMode(o.srcMode)}
	}
	cp := &contentPlan{path: t.real, fi: t.fi, exists: t.exists, before: t.before, after: o.data, attrs: attrs,
		backup: o.backup, validate: o.validate, reads: t.reads, mkdirs: mkdirs, backupKey: "backup_file", result: result}
	if t.replaceLink {
		cp.fi, cp.exists, cp.replaceLink = nil, false, true
	}
	ch := cp.change(env)
	delete(ch.Result, "msg")
	if t.replaceLink {
		ch.Action = tasks.Update
		ch.Summary = fmt.Sprintf("would replace symlink %s with a file (%d bytes)", dest, len(o.data))
	}
	return ch, nil
}

// putDest is the file o.dest names: a directory dest (dest/, or an
// existing directory) takes the source's base name. mkdirs are the
// directories a dest/ that does not exist needs; otherwise dest's
// directory must exist.
func putDest(ctx context.Context, c transport.Conn, o putOpts) (dest string, mkdirs []string, err error) {
	dest = o.dest
	if strings.HasSuffix(dest, "/") {
		if o.src == "" {
			return "", nil, &tasks.Failed{Msg: "can not use content with a dir as dest"}
		}
		fi, err := statPath(ctx, c, dest)
		if err != nil {
			return "", nil, err
		}
		if fi == nil {
			if mkdirs, err = missingDirs(ctx, c, dest); err != nil {
				return "", nil, err
			}
		}
		dest = path.Join(dest, path.Base(o.src))
	} else if _, fi, err := followLinks(ctx, c, dest); err != nil {
		return "", nil, err
	} else if fi != nil && fi.IsDir() {
		if o.src == "" {
			return "", nil, &tasks.Failed{Msg: "can not use content with a dir as dest"}
		}
		dest = path.Join(dest, path.Base(o.src))
	}
	if len(mkdirs) == 0 {
		missing, err := missingDirs(ctx, c, parentDir(dest))
		if err != nil {
			return "", nil, err
		}
		if len(missing) > 0 {
			return "", nil, &tasks.Failed{Msg: fmt.Sprintf("Destination directory %s does not exist", parentDir(dest))}
		}
	}
	return dest, mkdirs, nil
}

// putTarget is what is at a copy's dest.
type putTarget struct {
	real        string              // dest, through a symlink when follow
	fi          *transport.FileInfo // nil: nothing there
	replaceLink bool                // a symlink that the file replaces (follow: no)
	before      []byte
	exists      bool
	reads       []tasks.Precondition // o.reads and dest's content
}

// readPutTarget reads what is at dest: a symlink is followed with
// o.follow, else replaced; a directory is refused.
func readPutTarget(ctx context.Context, c transport.Conn, dest string, o putOpts) (putTarget, error) {
	t := putTarget{real: dest, reads: o.reads}
	var err error
	if t.fi, err = statPath(ctx, c, dest); err != nil {
		return t, err
	}
	if t.fi != nil && t.fi.Mode&fs.ModeSymlink != 0 {
		if !o.follow {
			t.replaceLink = true
		} else if t.real, t.fi, err = followLinks(ctx, c, dest); err != nil {
			return t, err
		}
	}
	if t.fi != nil && t.fi.IsDir() {
		return t, &tasks.Failed{Msg: fmt.Sprintf("Destination %s is a directory", dest)}
	}
	if t.fi == nil || t.replaceLink {
		return t, nil
	}
	var rerr error
	t.before, t.exists, rerr = tasks.ReadFileFor(ctx, c, t.real, &t.reads)
	if errors.Is(rerr, overlay.ErrPending) {
		// An earlier planned change writes this file with content
		// unknown until apply: plan as if it were empty.
		t.before, t.exists = nil, true
	} else if rerr != nil {
		return t, fmt.Errorf("host %s: read %s: %w", c.Host(), t.real, rerr)
	}
	return t, nil
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

// copyArgs are copy's arguments, decoded and checked.
type copyArgs struct {
	o           putOpts // dest, attrs, backup, force, follow, validate
	src         string
	content     string
	hasContent  bool
	remote      bool // remote_src
	localFollow bool
	decrypt     bool // decrypt a src encrypted with ansible-vault
	dirMode     *modeSpec
	checksum    string // the SHA-1 the content must have
}

// parseCopyArgs decodes and checks copy's arguments before the host is
// looked at, so that CheckArgs (static mode) stops at args.Ready.
func parseCopyArgs(raw map[string]any) (copyArgs, error) {
	a, err := args.Parse("copy", raw, "src", "content", "dest", "mode", "owner", "group", "backup", "force|thirsty",
		"remote_src", "validate", "follow", "local_follow", "unsafe_writes", "checksum", "decrypt", "directory_mode")
	if err != nil {
		return copyArgs{}, err
	}
	a.Exclusive("src", "content")
	var ca copyArgs
	dest := a.Required("dest")
	ca.src = a.Str("src", "")
	ca.content, ca.hasContent = a.Content("content")
	ca.o = putOpts{mod: "copy", dest: dest, attrs: parseAttrs(a, true), backup: a.Bool("backup", false),
		force: a.Bool("force", true), follow: a.Bool("follow", false), validate: a.Str("validate", "")}
	ca.remote, ca.localFollow = a.Bool("remote_src", false), a.Bool("local_follow", true)
	if v, ok := a.Get("directory_mode"); ok && !a.Templated(v) {
		m, err := parseMode(v, false)
		if err != nil {
			a.Fail("directory_mode", "%v", err)
		}
		ca.dirMode = m
	}
	_ = a.Bool("unsafe_writes", false)
	ca.decrypt = a.Bool("decrypt", true)
	ca.o.decrypt = ca.decrypt
	ca.checksum = a.Str("checksum", "")
	if ca.o.validate != "" && !strings.Contains(ca.o.validate, "%s") {
		a.Fail("", "validate must contain %%s: %s", ca.o.validate)
	}
	if ca.src == "" && !ca.hasContent {
		a.Fail("", "src (or content) is required")
	}
	return ca, a.Ready()
}

func planCopy(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	ca, err := parseCopyArgs(raw)
	if err != nil {
		return nil, err
	}
	replan := func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) { return planCopy(ctx, env, raw) }
	var ch *tasks.Change
	switch {
	case ca.hasContent:
		ca.o.data, ca.o.srcMode = []byte(ca.content), 0o644
	case ca.remote:
		ch, err = ca.hostSource(ctx, env, replan)
	default:
		ch, err = ca.localSource(ctx, env)
	}
	if ch != nil || err != nil {
		return ch, err
	}
	if ca.checksum != "" && ca.checksum != sha1Hex(ca.o.data) {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("copied file does not match the expected checksum: got %s, expected %s", sha1Hex(ca.o.data), ca.checksum)}
	}
	return planPut(ctx, env, ca.o)
}

// hostSource reads a remote_src file into ca.o, or plans the copy of a
// remote_src directory (returned as ch).
func (ca *copyArgs) hostSource(ctx context.Context, env *tasks.Env, replan func(context.Context, *tasks.Env) (*tasks.Change, error)) (ch *tasks.Change, err error) {
	src, dest := ca.src, ca.o.dest
	ca.o.src = src
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
		if ca.checksum != "" {
			return nil, &tasks.Failed{Msg: "checksum can not be used with a directory src"}
		}
		if overlay.PendingPath(env.Conn, src) {
			// An earlier planned change touches the source tree: its
			// entries are known only once that change is applied.
			return pendingChange(dest, replan), nil
		}
		tree := srcTree{conn: env.Conn, remote: true, follow: ca.localFollow}
		return planCopyDir(ctx, env, ca.o, tree, src, src, ca.dirMode)
	}
	data, _, err := tasks.ReadFileFor(ctx, env.Conn, src, &ca.o.reads)
	if errors.Is(err, overlay.ErrPending) {
		return pendingChange(dest, replan), nil
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Conn.Host(), src, err)
	}
	ca.o.data, ca.o.srcMode = data, fi.Mode
	return nil, nil
}

// localSource reads a control-machine file (found in files/) into ca.o,
// or plans the copy of a control-machine directory (returned as ch).
func (ca *copyArgs) localSource(ctx context.Context, env *tasks.Env) (ch *tasks.Change, err error) {
	local, err := findFile(env, "files", ca.src)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	tree := localTree(env, ca.localFollow)
	isDir, err := tree.isDir(ctx, local)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	if isDir {
		if ca.checksum != "" {
			return nil, &tasks.Failed{Msg: "checksum can not be used with a directory src"}
		}
		return planCopyDir(ctx, env, ca.o, tree, ca.src, local, ca.dirMode)
	}
	data, mode, err := readLocal(ctx, env, local)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	if data, err = decryptSource(ctx, ca.decrypt, local, data); err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	ca.o.src, ca.o.data, ca.o.srcMode = ca.src, data, mode
	return nil, nil
}

func planTemplate(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("template", raw, "src", "dest", "mode", "owner", "group", "backup", "force", "validate",
		"follow", "newline_sequence", "output_encoding", "unsafe_writes")
	if err != nil {
		return nil, err
	}
	src := a.Required("src")
	dest := a.Required("dest")
	o := putOpts{mod: "template", dest: dest, src: src, attrs: parseAttrs(a, true), backup: a.Bool("backup", false),
		force: a.Bool("force", true), follow: a.Bool("follow", false), validate: a.Str("validate", "")}
	nl := a.Choice("newline_sequence", `\n`, `\n`, `\r`, `\r\n`)
	utf8Only(a, "output_encoding")
	_ = a.Bool("unsafe_writes", false)
	if o.validate != "" && !strings.Contains(o.validate, "%s") {
		a.Fail("", "validate must contain %%s: %s", o.validate)
	}
	if err := a.Ready(); err != nil {
		return nil, err
	}
	if env.Render == nil {
		return nil, fmt.Errorf("template: no template renderer in this run")
	}
	local, err := findFile(env, "templates", src)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	out, mode, err := renderTemplateSource(ctx, env, local, src)
	if err != nil {
		return nil, err
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
	if err := o.attrs.checkOwners(ctx, env.Conn); err != nil {
		return nil, err
	}
	destRoot := o.dest
	if !strings.HasSuffix(srcArg, "/") {
		destRoot = path.Join(destRoot, path.Base(srcArg))
	}
	var dirs, skipped []string
	var files []treeFile
	if err := tree.walk(ctx, root, "", 0, &dirs, &files, &skipped); err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	d := &dirCopy{o: o, srcArg: srcArg, destRoot: path.Clean(destRoot)}
	if dirMode != nil {
		d.dirPerm = fsMode(dirMode.apply(0o755, true))
	}
	if err := d.planDirs(ctx, env.Conn, dirs); err != nil {
		return nil, err
	}
	pending, err := d.planFiles(ctx, env, tree, files)
	if err != nil {
		return nil, err
	}
	if pending {
		return pendingChange(d.destRoot, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
			return planCopyDir(ctx, env, o, tree, srcArg, root, dirMode)
		}), nil
	}
	return d.change(len(files), skipped), nil
}

// dirCopy is a directory copy being planned: the directories to create,
// then one single-file plan for each file that changes.
type dirCopy struct {
	o         putOpts
	srcArg    string
	destRoot  string      // symlinks resolved once it exists
	dirPerm   fs.FileMode // directory_mode for new directories; 0: the host's
	rootIsNew bool
	newDirs   []string
	reads     []tasks.Precondition
	writes    []overlay.PlannedFile
	children  []*tasks.Change // the file copies that change something
	allFiles  []string
	changed   []string
	diffs     []tasks.Diff
}

// planDirs finds the directories to create: the missing parents of
// destRoot, destRoot, then those of the tree (dirs, below destRoot).
func (d *dirCopy) planDirs(ctx context.Context, c transport.Conn, dirs []string) error {
	realRoot, rfi, err := followLinks(ctx, c, d.destRoot)
	if err != nil {
		return err
	}
	switch {
	case rfi == nil:
		if d.newDirs, err = missingDirs(ctx, c, d.destRoot); err != nil {
			return err
		}
	case !rfi.IsDir():
		return &tasks.Failed{Msg: fmt.Sprintf("Destination %s exists and is not a directory; cannot copy directory %s into it", d.destRoot, d.srcArg)}
	default:
		d.destRoot = realRoot
	}
	if _, err := tasks.StatFor(ctx, c, d.destRoot, &d.reads); err != nil {
		return fmt.Errorf("host %s: stat %s: %w", c.Host(), d.destRoot, err)
	}
	d.rootIsNew = len(d.newDirs) > 0
	for _, dir := range dirs {
		p := path.Join(d.destRoot, dir)
		if d.rootIsNew || isUnder(p, d.newDirs) {
			d.newDirs = append(d.newDirs, p)
			continue
		}
		fi, err := tasks.StatFor(ctx, c, p, &d.reads)
		if err != nil {
			return fmt.Errorf("host %s: stat %s: %w", c.Host(), p, err)
		}
		if fi == nil {
			d.newDirs = append(d.newDirs, p)
			continue
		}
		if !fi.IsDir() && fi.Mode&fs.ModeSymlink == 0 {
			return &tasks.Failed{Msg: fmt.Sprintf("Destination %s exists and is not a directory", p)}
		}
	}
	for _, dir := range d.newDirs {
		d.writes = append(d.writes, overlay.PlannedFile{Path: dir, Kind: overlay.PlannedDir, Mode: d.dirPerm,
			Owner: d.o.attrs.owner, Group: d.o.attrs.group})
	}
	return nil
}

// planFiles plans each file of the tree with planPut, against a view in
// which the new directories exist. pending is true when a source file is
// written by an earlier change not applied yet.
func (d *dirCopy) planFiles(ctx context.Context, env *tasks.Env, tree srcTree, files []treeFile) (pending bool, err error) {
	ov := overlay.NewOverlay()
	ov.Add(d.writes...)
	fileEnv := *env
	fileEnv.Conn = overlay.View(env.Conn, ov)
	for _, f := range files {
		fo := d.o
		fo.dest = path.Join(d.destRoot, f.rel)
		fo.src = path.Join(d.srcArg, f.rel)
		fo.srcMode = f.mode
		fo.ownersChecked = true
		fo.reads = nil
		data, err := tree.read(ctx, f.src, &fo.reads)
		if errors.Is(err, overlay.ErrPending) {
			return true, nil
		}
		if err == nil && !tree.remote {
			data, err = decryptSource(ctx, d.o.decrypt, f.src, data)
		}
		if err != nil {
			return false, err
		}
		fo.data = data
		ch, err := planPut(ctx, &fileEnv, fo)
		if err != nil {
			return false, err
		}
		d.allFiles = append(d.allFiles, fo.dest)
		d.reads = append(d.reads, ch.Reads...)
		if ch.Action == tasks.None {
			continue
		}
		d.changed = append(d.changed, fo.dest)
		d.children = append(d.children, ch)
		d.diffs = append(d.diffs, ch.Diffs...)
		d.writes = append(d.writes, ch.Writes...)
	}
	return false, nil
}

// change is the plan of the whole copy; nFiles counts the tree's files.
func (d *dirCopy) change(nFiles int, skipped []string) *tasks.Change {
	result := map[string]any{"dest": d.destRoot, "src": d.srcArg, "state": "directory", "files": d.allFiles}
	if len(skipped) > 0 {
		result["skipped_links"] = skipped
		result["msg"] = fmt.Sprintf("skipped %d symlink(s) or special file(s) in %s (local_follow: false): %s",
			len(skipped), d.srcArg, strings.Join(skipped, ", "))
	}
	if len(d.newDirs) == 0 && len(d.children) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: d.destRoot + " is up to date", Reads: d.reads, Result: result}
	}
	result["changed_files"] = d.changed
	action := tasks.Update
	if d.rootIsNew {
		action = tasks.Create
	}
	summary := fmt.Sprintf("would copy %s to %s: %d of %d file(s) to write", d.srcArg, d.destRoot, len(d.changed), nFiles)
	if len(d.newDirs) > 0 {
		summary += fmt.Sprintf(", %d directory(ies) to create", len(d.newDirs))
	}
	return &tasks.Change{Action: action, Summary: summary, Diffs: d.diffs, Reads: d.reads, Writes: d.writes,
		Result: result, Apply: d.apply}
}

// apply creates the new directories, then applies each file's copy.
func (d *dirCopy) apply(ctx context.Context, env *tasks.Env) (map[string]any, error) {
	out := map[string]any{}
	c, attrs := env.Conn, d.o.attrs
	for _, dir := range d.newDirs {
		if err := run(ctx, c, "create directory "+dir, "mkdir", "--", dir); err != nil {
			return out, err
		}
		if attrs.owner != "" || attrs.group != "" {
			if err := attrs.applyAttrs(ctx, c, dir, attrDelta{owner: attrs.owner != "", group: attrs.group != ""}, false); err != nil {
				return out, err
			}
		}
		if d.dirPerm != 0 {
			if err := run(ctx, c, "chmod "+dir, "chmod", "--", octalString(unixMode(d.dirPerm)), dir); err != nil {
				return out, err
			}
		}
	}
	var backups []string
	for _, child := range d.children {
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

// isUnder reports whether p is one of dirs or below one of them.
func isUnder(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
