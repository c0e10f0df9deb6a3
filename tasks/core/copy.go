package core

// copy and template: put a file with known content on the host
// (ansible.builtin.copy, ansible.builtin.template). The content comes from
// the content argument, a control-machine file (files/ or templates/
// search), or, with remote_src, a file already on the host.

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/sshplay/sshplay/tasks"
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
}

func sha1Hex(b []byte) string { return fmt.Sprintf("%x", sha1.Sum(b)) }

// planPut plans writing o.data to o.dest with Ansible's copy rules.
func planPut(ctx context.Context, env *tasks.Env, o putOpts) (*tasks.Change, error) {
	c := env.Conn
	if err := o.attrs.checkOwners(ctx, c); err != nil {
		return nil, err
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
		if errors.Is(rerr, transport.ErrPending) {
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
		cp.fi, cp.exists = nil, false
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
			return nil, 0, fmt.Errorf("%s on the control machine is a directory; copying directories is not supported, copy its files", p)
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
		return nil, 0, fmt.Errorf("%s on the control machine is a directory; copying directories is not supported, copy its files", p)
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
		"remote_src", "validate", "follow", "local_follow", "unsafe_writes", "checksum", "decrypt")
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
	_ = a.boolean("local_follow", true)
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
		if fi.IsDir() {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Source %s is a directory; copying directories is not supported", src)}
		}
		data, _, err := tasks.ReadFileFor(ctx, env.Conn, src, &o.reads)
		if errors.Is(err, transport.ErrPending) {
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
