package core

// Helpers shared by the modules that manage files: owner/group/mode
// comparison, symlink resolution, backups, validation and the content
// planner that copy, template, lineinfile, blockinfile and replace share.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// sh quotes argv into one shell command line.
func sh(argv ...string) string { return shellescape.QuoteCommand(argv) }

// run runs argv (quoted) and wraps a failure with what was attempted.
func run(ctx context.Context, c transport.Conn, what string, argv ...string) error {
	res, err := c.Run(ctx, sh(argv...), transport.RunOptions{})
	if err != nil {
		var ee *transport.ExitError
		if errors.As(err, &ee) && res != nil {
			return fmt.Errorf("host %s: %s: %s", c.Host(), what, strings.TrimSpace(string(res.Stderr)))
		}
		return fmt.Errorf("host %s: %s: %w", c.Host(), what, err)
	}
	return nil
}

// statPath stats p; a missing path is (nil, nil).
func statPath(ctx context.Context, c transport.Conn, p string) (*transport.FileInfo, error) {
	fi, err := c.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: stat %s: %w", c.Host(), p, err)
	}
	return fi, nil
}

// followLinks resolves symlinks on the final component of p (the file
// modules edit the real file, as Ansible's os.path.realpath does).
func followLinks(ctx context.Context, c transport.Conn, p string) (string, *transport.FileInfo, error) {
	for i := 0; i < 40; i++ {
		fi, err := statPath(ctx, c, p)
		if err != nil || fi == nil || fi.Mode&fs.ModeSymlink == 0 {
			return p, fi, err
		}
		t := fi.LinkTarget
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = t
	}
	return "", nil, fmt.Errorf("host %s: %s: too many levels of symbolic links", c.Host(), p)
}

func kind(fi *transport.FileInfo) string {
	switch {
	case fi == nil:
		return "absent"
	case fi.Mode.IsDir():
		return "directory"
	case fi.Mode&fs.ModeSymlink != 0:
		return "link"
	case fi.Mode.IsRegular():
		return "file"
	}
	return "special file"
}

// fileAttrs are the mode/owner/group arguments every file module takes.
type fileAttrs struct {
	mode         *modeSpec
	owner, group string
}

func parseAttrs(a *args.Args, allowPreserve bool) fileAttrs {
	var fa fileAttrs
	if v, ok := a.Get("mode"); ok && v != nil && !a.Templated(v) {
		m, err := parseMode(v, allowPreserve)
		if err != nil {
			a.Fail("", "%v", err)
		}
		fa.mode = m
	}
	fa.owner = a.Str("owner", "")
	fa.group = a.Str("group", "")
	return fa
}

// checkOwners fails the plan when owner or group names no user or group
// on the host, so that check mode fails where the real run would (read-only
// probes: id -u NAME, getent group NAME; numeric ids are taken as given).
func (fa fileAttrs) checkOwners(ctx context.Context, c transport.Conn) error {
	probe := func(kind, name, cmd string) error {
		if name == "" {
			return nil
		}
		if _, err := strconv.Atoi(name); err == nil {
			return nil
		}
		_, err := c.Run(ctx, cmd, transport.RunOptions{})
		var ee *transport.ExitError
		switch {
		case errors.As(err, &ee):
			return &tasks.Failed{Msg: fmt.Sprintf("host %s: %s: no such %s %q on the host", c.Host(), kind, kind, name)}
		case err != nil:
			return fmt.Errorf("host %s: look up %s %q: %w", c.Host(), kind, name, err)
		}
		return nil
	}
	if err := probe("user", fa.owner, sh("id", "-u", fa.owner)); err != nil {
		return err
	}
	return probe("group", fa.group, sh("getent", "group", fa.group))
}

// sameID reports whether want (a name or numeric id) names name/id.
func sameID(want, name string, id int) bool {
	if want == name {
		return true
	}
	n, err := strconv.Atoi(want)
	return err == nil && n == id
}

// attrDelta says which attributes of an existing path differ from fa.
type attrDelta struct {
	mode          bool
	wantMode      uint32
	owner, group  bool
	descr         []string
	isDir, isLink bool
}

func (fa fileAttrs) delta(fi *transport.FileInfo) attrDelta {
	d := attrDelta{isDir: fi.IsDir(), isLink: fi.Mode&fs.ModeSymlink != 0}
	cur := unixMode(fi.Mode)
	if fa.mode != nil && !fa.mode.preserve && !d.isLink {
		d.wantMode = fa.mode.apply(cur, d.isDir)
		if d.wantMode != cur {
			d.mode = true
			d.descr = append(d.descr, fmt.Sprintf("mode %s → %s", octalString(cur), octalString(d.wantMode)))
		}
	}
	if fa.owner != "" && !sameID(fa.owner, fi.Owner, fi.UID) {
		d.owner = true
		d.descr = append(d.descr, fmt.Sprintf("owner %s → %s", nameOr(fi.Owner, fi.UID), fa.owner))
	}
	if fa.group != "" && !sameID(fa.group, fi.Group, fi.GID) {
		d.group = true
		d.descr = append(d.descr, fmt.Sprintf("group %s → %s", nameOr(fi.Group, fi.GID), fa.group))
	}
	return d
}

func (d attrDelta) any() bool { return d.mode || d.owner || d.group }

func nameOr(name string, id int) string {
	if name != "" {
		return name
	}
	return strconv.Itoa(id)
}

// applyAttrs runs chown/chmod for the differences in d (owner first, as a
// chown may clear setuid bits).
func (fa fileAttrs) applyAttrs(ctx context.Context, c transport.Conn, p string, d attrDelta, recurse bool) error {
	if d.owner || d.group {
		spec := fa.owner
		if d.group || (fa.group != "" && recurse) {
			spec += ":" + fa.group
		}
		argv := []string{"chown"}
		if d.isLink {
			argv = append(argv, "-h")
		}
		if recurse {
			argv = append(argv, "-R")
		}
		if err := run(ctx, c, "chown "+p, append(argv, "--", spec, p)...); err != nil {
			return err
		}
	}
	if d.mode {
		argv := []string{"chmod"}
		if recurse {
			argv = append(argv, "-R")
		}
		if err := run(ctx, c, "chmod "+p, append(argv, "--", octalString(d.wantMode), p)...); err != nil {
			return err
		}
	}
	return nil
}

// backupName is Ansible's backup file name: PATH.YYYY-MM-DD@HH:MM:SS~.
func backupName(p string, now time.Time) string {
	return p + "." + now.Format("2006-01-02@15:04:05") + "~"
}

// backupFile copies the current content of p next to it, keeping its mode
// and owner, and returns the backup's path.
func backupFile(ctx context.Context, c transport.Conn, p string, data []byte, fi *transport.FileInfo) (string, error) {
	name := backupName(p, time.Now())
	for i := 1; ; i++ {
		old, err := statPath(ctx, c, name)
		if err != nil {
			return "", err
		}
		if old == nil {
			break
		}
		name = fmt.Sprintf("%s.%d~", strings.TrimSuffix(backupName(p, time.Now()), "~"), i)
	}
	opts := transport.WriteOptions{}
	if fi != nil {
		opts = transport.WriteOptions{Mode: fi.Mode.Perm(), Owner: fi.Owner, Group: fi.Group}
	}
	if err := c.WriteFile(ctx, name, data, opts); err != nil {
		return "", fmt.Errorf("host %s: back up %s: %w", c.Host(), p, err)
	}
	return name, nil
}

// validateContent writes data to a private temporary file, runs the
// validate command with %s replaced by its quoted path, and removes it.
func validateContent(ctx context.Context, c transport.Conn, validate, dest string, data []byte) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "/tmp/.sshplay-validate-" + hex.EncodeToString(rnd[:]) + "-" + path.Base(dest)
	if err := c.WriteFile(ctx, tmp, data, transport.WriteOptions{Mode: 0o600}); err != nil {
		return fmt.Errorf("host %s: validate %s: write temporary file: %w", c.Host(), dest, err)
	}
	defer c.Remove(context.WithoutCancel(ctx), tmp) //nolint:errcheck // best-effort cleanup of a private temp file
	cmd := strings.ReplaceAll(validate, "%s", shellescape.Quote(tmp))
	res, err := c.Run(ctx, cmd, transport.RunOptions{})
	if err != nil {
		var ee *transport.ExitError
		if errors.As(err, &ee) && res != nil {
			return &tasks.Failed{
				Msg: fmt.Sprintf("failed to validate: rc:%d error:%s", res.ExitCode, strings.TrimSpace(string(res.Stderr))),
				Result: map[string]any{"rc": res.ExitCode, "stdout": string(res.Stdout), "stderr": string(res.Stderr),
					"exit_status": res.ExitCode},
			}
		}
		return fmt.Errorf("host %s: validate %s: %w", c.Host(), dest, err)
	}
	return nil
}

// missingDirs lists the directories mkdir -p would create for dir,
// outermost first.
func missingDirs(ctx context.Context, c transport.Conn, dir string) ([]string, error) {
	var out []string
	for d := path.Clean(dir); d != "/" && d != "."; d = path.Dir(d) {
		fi, err := statPath(ctx, c, d)
		if err != nil {
			return nil, err
		}
		if fi != nil {
			if !fi.IsDir() && fi.Mode&fs.ModeSymlink == 0 {
				return nil, fmt.Errorf("host %s: %s exists but is not a directory", c.Host(), d)
			}
			break
		}
		out = append([]string{d}, out...)
	}
	return out, nil
}

// contentPlan is a planned write of a whole file: the part copy, template,
// lineinfile, blockinfile and replace share once they know the new content.
type contentPlan struct {
	path     string // the real path (symlinks resolved)
	fi       *transport.FileInfo
	exists   bool
	before   []byte
	after    []byte
	attrs    fileAttrs
	backup   bool
	validate string
	// mkdirs are parents to create first (lineinfile/blockinfile create).
	mkdirs []string
	reads  []tasks.Precondition
	// msg is the module's message for a content change ("line added").
	msg string
	// backupKey is where the backup path is registered ("backup_file", or
	// "backup" for lineinfile).
	backupKey string
	// result holds module values registered in every case.
	result map[string]any
	// replaceLink: a symlink at path gives way to the file (copy's
	// follow: no); else the write goes through it.
	replaceLink bool
}

// change builds the Change: content first, then attributes.
func (p *contentPlan) change(env *tasks.Env) *tasks.Change {
	contentChanged := !p.exists || string(p.before) != string(p.after)
	var d attrDelta
	if p.exists {
		d = p.attrs.delta(p.fi)
	}
	wantMode := p.wantMode()
	ch := &tasks.Change{Reads: p.reads, Result: p.resultFor(contentChanged, d)}
	ch.Action, ch.Summary = p.summary(contentChanged, d, wantMode)
	if ch.Action == tasks.None {
		return ch
	}
	if contentChanged {
		ch.Diffs = []tasks.Diff{tasks.FileDiff(p.path, string(p.before), string(p.after))}
	}
	ch.Writes = []overlay.PlannedFile{p.planned(wantMode)}
	ch.Apply = func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
		return p.apply(ctx, env.Conn, contentChanged, d, wantMode)
	}
	return ch
}

// wantMode is the mode the file is written with; 0 leaves it to the host
// (an existing file keeps its own).
func (p *contentPlan) wantMode() fs.FileMode {
	if p.attrs.mode == nil || p.attrs.mode.preserve {
		return 0
	}
	cur := uint32(0o644)
	if p.exists {
		cur = unixMode(p.fi.Mode)
	}
	return fsMode(p.attrs.mode.apply(cur, false))
}

// resultFor is the registered result: the module's values and Ansible's
// msg for what changes.
func (p *contentPlan) resultFor(contentChanged bool, d attrDelta) map[string]any {
	res := map[string]any{}
	for k, v := range p.result {
		res[k] = v
	}
	msg := p.msg
	if !contentChanged {
		msg = ""
	}
	if d.any() {
		if msg != "" {
			msg += " and "
		}
		msg += "ownership, perms or SE linux context changed"
	}
	res["msg"] = msg
	return res
}

// summary says what the change does, and so which action it is.
func (p *contentPlan) summary(contentChanged bool, d attrDelta, wantMode fs.FileMode) (tasks.Action, string) {
	switch {
	case !p.exists:
		mode := wantMode
		if mode == 0 {
			mode = 0o644
		}
		return tasks.Create, fmt.Sprintf("would create %s (%s, %d bytes)", p.path, octalString(unixMode(mode)), len(p.after))
	case contentChanged:
		s := fmt.Sprintf("would update %s", p.path)
		if p.msg != "" {
			s += ": " + p.msg
		}
		if d.any() {
			s += "; " + strings.Join(d.descr, ", ")
		}
		return tasks.Update, s
	case d.any():
		return tasks.Update, fmt.Sprintf("would change %s: %s", p.path, strings.Join(d.descr, ", "))
	}
	return tasks.None, p.path + " is up to date"
}

// planned is the file as later plans of a check run see it.
func (p *contentPlan) planned(wantMode fs.FileMode) overlay.PlannedFile {
	pf := overlay.PlannedFile{Path: p.path, Content: p.after, Mode: wantMode, Owner: p.attrs.owner, Group: p.attrs.group}
	if p.exists {
		if pf.Mode == 0 {
			pf.Mode = p.fi.Mode.Perm()
		}
		if pf.Owner == "" {
			pf.Owner = p.fi.Owner
		}
		if pf.Group == "" {
			pf.Group = p.fi.Group
		}
	}
	return pf
}

// apply carries the plan out: parents, then (for new content) validate,
// back up and write atomically; else only the attributes in d.
func (p *contentPlan) apply(ctx context.Context, c transport.Conn, contentChanged bool, d attrDelta, wantMode fs.FileMode) (map[string]any, error) {
	out := map[string]any{}
	if len(p.mkdirs) > 0 {
		last := p.mkdirs[len(p.mkdirs)-1]
		if err := run(ctx, c, "create directory "+last, "mkdir", "-p", "--", last); err != nil {
			return out, err
		}
	}
	if !contentChanged {
		return out, p.attrs.applyAttrs(ctx, c, p.path, d, false)
	}
	if p.validate != "" {
		if err := validateContent(ctx, c, p.validate, p.path, p.after); err != nil {
			return out, err
		}
	}
	if p.backup && p.exists {
		name, err := backupFile(ctx, c, p.path, p.before, p.fi)
		if err != nil {
			return out, err
		}
		out[p.backupKey] = name
	}
	opts := transport.WriteOptions{Mode: wantMode, Owner: p.attrs.owner, Group: p.attrs.group, ReplaceLink: p.replaceLink}
	if err := c.WriteFile(ctx, p.path, p.after, opts); err != nil {
		return out, fmt.Errorf("host %s: write %s: %w", c.Host(), p.path, err)
	}
	return out, nil
}

// pendingChange is the plan for a file whose current content is only known
// after an earlier planned change is applied (check mode over an overlay):
// it says so, and at apply time plans again against the real file.
func pendingChange(p string, replan func(ctx context.Context, env *tasks.Env) (*tasks.Change, error)) *tasks.Change {
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: fmt.Sprintf("would edit %s (its content is known only after an earlier change is applied)", p),
		Writes:  []overlay.PlannedFile{{Path: p, Pending: true}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			planEnv := *env
			planEnv.Conn = overlay.View(env.Conn, nil)
			ch, err := replan(ctx, &planEnv)
			if err != nil {
				return nil, err
			}
			if ch.Apply == nil {
				out := map[string]any{"changed": false}
				for k, v := range ch.Result {
					out[k] = v
				}
				return out, nil
			}
			out, err := ch.Apply(ctx, env)
			for k, v := range ch.Result {
				if _, set := out[k]; !set {
					if out == nil {
						out = map[string]any{}
					}
					out[k] = v
				}
			}
			return out, err
		},
	}
}

// editTarget is the text file an editing module (lineinfile, blockinfile,
// replace) plans against.
type editTarget struct {
	real   string              // the path, symlinks followed
	fi     *transport.FileInfo // nil: nothing there
	data   []byte
	exists bool
	reads  []tasks.Precondition // its content, re-checked before apply
	// pending, when set, is the whole plan: an earlier task of this check
	// run writes the file with content known only after apply, so it
	// plans again then.
	pending *tasks.Change
}

// readEditTarget reads the file at p: owner/group names in attrs checked
// on the host, symlinks followed, a directory refused as Ansible does, the
// content recorded as a precondition. When an earlier task of this check
// run would write the file with content known only after apply, only
// pending is set: a change that plans again (replan) at apply time.
func readEditTarget(ctx context.Context, c transport.Conn, p string, attrs fileAttrs, replan func(ctx context.Context, env *tasks.Env) (*tasks.Change, error)) (editTarget, error) {
	var t editTarget
	if err := attrs.checkOwners(ctx, c); err != nil {
		return t, err
	}
	real, fi, err := followLinks(ctx, c, p)
	if err != nil {
		return t, err
	}
	if fi != nil && fi.IsDir() {
		return t, &tasks.Failed{Msg: fmt.Sprintf("Path %s is a directory !", p), Result: map[string]any{"rc": 256}}
	}
	t.real, t.fi = real, fi
	t.data, t.exists, err = tasks.ReadFileFor(ctx, c, real, &t.reads)
	switch {
	case errors.Is(err, overlay.ErrPending):
		return editTarget{pending: pendingChange(real, replan)}, nil
	case err != nil:
		return editTarget{}, fmt.Errorf("host %s: read %s: %w", c.Host(), real, err)
	}
	return t, nil
}

// plan is the content plan of an edit of t with the shared arguments;
// backupKey is where the module registers its backup's path, result what
// it registers in every case. The caller sets the new content.
func (t editTarget) plan(ea editArgs, backupKey string, result map[string]any) *contentPlan {
	return &contentPlan{path: t.real, fi: t.fi, exists: t.exists, before: t.data, attrs: ea.attrs, backup: ea.backup,
		validate: ea.validate, reads: t.reads, backupKey: backupKey, result: result}
}

// editArgs are the arguments lineinfile, blockinfile and replace share:
// backup, validate (which must name the file as %s), unsafe_writes
// (accepted, writes are always atomic), and the file attributes.
type editArgs struct {
	backup   bool
	validate string
	attrs    fileAttrs
}

// parseEditArgs decodes the arguments the editing modules share.
func parseEditArgs(a *args.Args) editArgs {
	e := editArgs{backup: a.Bool("backup", false), validate: a.Str("validate", "")}
	_ = a.Bool("unsafe_writes", false)
	e.attrs = parseAttrs(a, false)
	if e.validate != "" && !strings.Contains(e.validate, "%s") {
		a.Fail("", "validate must contain %%s: %s", e.validate)
	}
	return e
}

// utf8Only records an error unless the text encoding argument name is
// UTF-8, the only one sshplay reads and writes.
func utf8Only(a *args.Args, name string) {
	if enc := a.Str(name, "utf-8"); enc != "utf-8" && enc != "utf8" {
		a.Fail("", "only utf-8 %s is supported, got %q", name, enc)
	}
}
