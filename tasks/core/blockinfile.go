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
	"github.com/sshplay/sshplay/tasks/args"
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
	anchor, err := newBlockAnchor(o)
	if err != nil {
		return "", err
	}
	lines := splitLinesKeep(string(original))
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
		n0 = anchor.insertAt(original, lines)
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

// blockAnchor is where a new block goes: insertafter or insertbefore
// (EOF when neither is given), its pattern compiled.
type blockAnchor struct {
	after, before *string
	re            *regexp.Regexp // nil for EOF and BOF
	multiline     bool           // the pattern starts with (?m
}

func newBlockAnchor(o blockOpts) (blockAnchor, error) {
	b := blockAnchor{after: o.insertAfter, before: o.insertBefore}
	if b.after == nil && b.before == nil {
		eof := "EOF"
		b.after = &eof
	}
	var pattern string
	switch {
	case b.after != nil && *b.after != "EOF":
		pattern = *b.after
	case b.before != nil && *b.before != "BOF":
		pattern = *b.before
	default:
		return b, nil
	}
	var err error
	b.re, err = compilePy(pattern, false)
	b.multiline = strings.HasPrefix(pattern, "(?m")
	return b, err
}

// insertAt is the line a new block goes before, with Ansible's rules:
// after (or before) the last line the pattern matches, or, for a (?m
// pattern, its first match in the whole text; at the end when nothing
// matches.
func (b blockAnchor) insertAt(original []byte, lines []string) int {
	switch {
	case b.re == nil && b.before != nil:
		return 0 // BOF
	case b.re == nil:
		return len(lines) // EOF
	case b.multiline:
		m := b.re.FindStringIndex(string(original))
		switch {
		case m == nil:
			return len(lines)
		case b.after != nil:
			return strings.Count(string(original)[:m[1]], "\n")
		}
		return strings.Count(string(original)[:m[0]], "\n")
	}
	at := -1
	for i, l := range lines {
		if reLine(b.re, l) != nil {
			at = i
		}
	}
	switch {
	case at == -1:
		return len(lines)
	case b.after != nil:
		return at + 1
	}
	return at
}

func planBlockinfile(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("blockinfile", raw, "path|dest|destfile|name", "state", "marker", "block|content",
		"insertafter", "insertbefore", "create", "backup", "marker_begin", "marker_end",
		"append_newline", "prepend_newline", "mode", "owner", "group", "validate", "unsafe_writes")
	if err != nil {
		return nil, err
	}
	p := a.Required("path")
	a.Exclusive("insertbefore", "insertafter")
	o := blockOpts{
		present:        a.Choice("state", "present", "present", "absent") == "present",
		marker:         a.Str("marker", "# {mark} ANSIBLE MANAGED BLOCK"),
		markerBegin:    a.Str("marker_begin", "BEGIN"),
		markerEnd:      a.Str("marker_end", "END"),
		block:          a.Str("block", ""),
		insertAfter:    a.OptStr("insertafter"),
		insertBefore:   a.OptStr("insertbefore"),
		prependNewline: a.Bool("prepend_newline", false),
		appendNewline:  a.Bool("append_newline", false),
	}
	create := a.Bool("create", false)
	ea := parseEditArgs(a)
	if err := a.Ready(); err != nil {
		return nil, err
	}
	t, err := readEditTarget(ctx, env.Conn, p, ea.attrs, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
		return planBlockinfile(ctx, env, raw)
	})
	if err != nil || t.pending != nil {
		return t.pending, err
	}
	cp := t.plan(ea, "backup_file", map[string]any{})
	if !t.exists {
		if !create {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Path %s does not exist !", p), Result: map[string]any{"rc": 257}}
		}
		if !o.present {
			return &tasks.Change{Action: tasks.None, Summary: p + " is absent", Reads: t.reads,
				Result: map[string]any{"msg": fmt.Sprintf("File %s not present", p)}}, nil
		}
		if cp.mkdirs, err = missingDirs(ctx, env.Conn, parentDir(t.real)); err != nil {
			return nil, err
		}
	}
	after, err := editBlock(t.data, t.exists, o)
	if err != nil {
		return nil, args.Errorf("blockinfile", "", "%w", err)
	}
	cp.after = []byte(after)
	switch {
	case t.exists && after == string(t.data):
	case !t.exists:
		cp.msg = "File created"
	case !o.present || o.block == "":
		cp.msg = "Block removed"
	default:
		cp.msg = "Block inserted"
	}
	return cp.change(env), nil
}
