package core

// blockinfile: insert, update or remove a block of lines between marker
// lines, with Ansible's rules for markers, insertafter/insertbefore and
// blank-line handling (ansible.builtin.blockinfile).

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/sshplay/sshplay/tasks"
)

type blockOpts struct {
	block                          string
	marker, markerBegin, markerEnd string
	insertAfter, insertBefore      *string
	present                        bool
	prependNewline, appendNewline  bool
}

// editBlock is blockinfile's edit of lines (original is nil for a missing
// file). It returns the new content.
func editBlock(original []byte, exists bool, o blockOpts) (string, error) {
	const sep = "\n"
	lines := splitLinesKeep(string(original))
	insertAfter, insertBefore := o.insertAfter, o.insertBefore
	if insertAfter == nil && insertBefore == nil {
		eof := "EOF"
		insertAfter = &eof
	}
	var insRe *regexp.Regexp
	var multiline bool
	var err error
	switch {
	case insertAfter != nil && *insertAfter != "EOF":
		insRe, err = compilePy(*insertAfter, false)
		multiline = strings.HasPrefix(*insertAfter, "(?m")
	case insertBefore != nil && *insertBefore != "BOF":
		insRe, err = compilePy(*insertBefore, false)
		multiline = strings.HasPrefix(*insertBefore, "(?m")
	}
	if err != nil {
		return "", err
	}
	marker0 := strings.ReplaceAll(o.marker, "{mark}", o.markerBegin) + sep
	marker1 := strings.ReplaceAll(o.marker, "{mark}", o.markerEnd) + sep
	var blockLines []string
	if o.present && o.block != "" {
		block := o.block
		if !strings.HasSuffix(block, sep) {
			block += sep
		}
		blockLines = append([]string{marker0}, splitLinesKeep(block)...)
		blockLines = append(blockLines, marker1)
	}
	n0, n1 := -1, -1
	for i, l := range lines {
		if l == marker0 {
			n0 = i
		}
		if l == marker1 {
			n1 = i
		}
	}
	switch {
	case n0 == -1 || n1 == -1:
		n0 = -1
		switch {
		case insRe != nil && multiline:
			if m := insRe.FindStringIndex(string(original)); m != nil {
				if insertAfter != nil {
					n0 = strings.Count(string(original)[:m[1]], "\n")
				} else {
					n0 = strings.Count(string(original)[:m[0]], "\n")
				}
			} else {
				n0 = len(lines)
			}
		case insRe != nil:
			for i, l := range lines {
				if reLine(insRe, l) != nil {
					n0 = i
				}
			}
			if n0 == -1 {
				n0 = len(lines)
			} else if insertAfter != nil {
				n0++
			}
		case insertBefore != nil:
			n0 = 0 // BOF
		default:
			n0 = len(lines) // EOF
		}
	case n0 < n1:
		lines = append(lines[:n0], lines[n1+1:]...)
	default:
		lines = append(lines[:n1], lines[n0+1:]...)
		n0 = n1
	}
	if n0 > 0 && !strings.HasSuffix(lines[n0-1], sep) {
		lines[n0-1] += sep
	}
	if o.prependNewline && o.present && n0 != 0 && lines[n0-1] != sep {
		lines = append(lines[:n0], append([]string{sep}, lines[n0:]...)...)
		n0++
	}
	lines = append(lines[:n0], append(append([]string(nil), blockLines...), lines[n0:]...)...)
	if o.appendNewline && o.present {
		after := n0 + len(blockLines)
		if after < len(lines) && lines[after] != sep {
			lines = append(lines[:after], append([]string{sep}, lines[after:]...)...)
		}
	}
	return strings.Join(lines, ""), nil
}

func planBlockinfile(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := parseArgs("blockinfile", raw, "path|dest|destfile|name", "state", "marker", "block|content",
		"insertafter", "insertbefore", "create", "backup", "marker_begin", "marker_end",
		"append_newline", "prepend_newline", "mode", "owner", "group", "validate", "unsafe_writes")
	if err != nil {
		return nil, err
	}
	p := a.required("path")
	a.exclusive("insertbefore", "insertafter")
	o := blockOpts{
		present:        a.choice("state", "present", "present", "absent") == "present",
		marker:         a.str("marker", "# {mark} ANSIBLE MANAGED BLOCK"),
		markerBegin:    a.str("marker_begin", "BEGIN"),
		markerEnd:      a.str("marker_end", "END"),
		block:          a.str("block", ""),
		insertAfter:    a.optStr("insertafter"),
		insertBefore:   a.optStr("insertbefore"),
		prependNewline: a.boolean("prepend_newline", false),
		appendNewline:  a.boolean("append_newline", false),
	}
	create := a.boolean("create", false)
	ea := parseEditArgs(a)
	backup, validate, attrs := ea.backup, ea.validate, ea.attrs
	if a.err != nil {
		return nil, a.err
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	c := env.Conn
	real, fi, data, exists, reads, pending, err := readEditTarget(ctx, c, p, attrs, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
		return planBlockinfile(ctx, env, raw)
	})
	if err != nil || pending != nil {
		return pending, err
	}
	cp := &contentPlan{path: real, fi: fi, exists: exists, before: data, attrs: attrs, backup: backup,
		validate: validate, reads: reads, backupKey: "backup_file", result: map[string]any{}}
	if !exists {
		if !create {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Path %s does not exist !", p), Result: map[string]any{"rc": 257}}
		}
		if !o.present {
			return &tasks.Change{Action: tasks.None, Summary: p + " is absent", Reads: reads,
				Result: map[string]any{"msg": fmt.Sprintf("File %s not present", p)}}, nil
		}
		if cp.mkdirs, err = missingDirs(ctx, c, parentDir(real)); err != nil {
			return nil, err
		}
	}
	after, err := editBlock(data, exists, o)
	if err != nil {
		return nil, &argError{"blockinfile: " + err.Error()}
	}
	cp.after = []byte(after)
	switch {
	case exists && after == string(data):
	case !exists:
		cp.msg = "File created"
	case !o.present || o.block == "":
		cp.msg = "Block removed"
	default:
		cp.msg = "Block inserted"
	}
	return cp.change(env), nil
}
