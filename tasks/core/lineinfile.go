package core

// lineinfile: ensure one line is present in (or absent from) a text file,
// with Ansible's exact rules for regexp, search_string, insertafter/
// insertbefore, firstmatch and backrefs (ansible.builtin.lineinfile).

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

// lineOpts are lineinfile's editing arguments.
type lineOpts struct {
	regexp       *regexp.Regexp
	searchString *string
	line         *string
	insertAfter  *string
	insertBefore *string
	backrefs     bool
	firstMatch   bool
}

// splitLinesKeep splits b after every "\n", as Python's readlines on a
// binary file does.
func splitLinesKeep(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func trimEOL(s string) string { return strings.TrimRight(s, "\r\n") }

// reLine matches re against one line the way Python's re.search sees
// "text\n": $ also matches before the final newline.
func reLine(re *regexp.Regexp, l string) []int {
	return re.FindStringSubmatchIndex(strings.TrimSuffix(l, "\n"))
}

// linePresent is lineinfile's present(): it returns the new lines and
// Ansible's message ("line added", "line replaced" or "").
func linePresent(lines []string, o lineOpts) ([]string, string, error) {
	var insRe *regexp.Regexp
	var err error
	switch {
	case o.insertAfter != nil && *o.insertAfter != "BOF" && *o.insertAfter != "EOF":
		insRe, err = compilePy(*o.insertAfter, false)
	case o.insertBefore != nil && *o.insertBefore != "BOF":
		insRe, err = compilePy(*o.insertBefore, false)
	}
	if err != nil {
		return nil, "", err
	}
	m := findLine(lines, o, insRe)
	if m.at != -1 {
		return replaceLine(lines, o, m)
	}
	newLines, msg := insertLine(lines, o, m.insertAt)
	return newLines, msg, nil
}

// lineMatch is where lineinfile's present() found its line.
type lineMatch struct {
	at       int   // the line to replace: regexp's or search_string's match, else an equal line; -1: none
	groups   []int // regexp's submatch indexes in that line (backrefs)
	matched  bool  // regexp or search_string matched
	insertAt int   // where insertafter/insertbefore's pattern says the line goes; -1: none
}

// findLine finds the line to replace (the last match, or the first with
// firstmatch) or else where a new line goes.
func findLine(lines []string, o lineOpts, insRe *regexp.Regexp) lineMatch {
	m := lineMatch{at: -1, insertAt: -1}
	for i, l := range lines {
		if o.regexp == nil {
			break
		}
		if g := reLine(o.regexp, l); g != nil {
			m.at, m.groups, m.matched = i, g, true
			if o.firstMatch {
				break
			}
		}
	}
	for i, l := range lines {
		if o.searchString == nil {
			break
		}
		if strings.Contains(l, *o.searchString) {
			m.at, m.matched = i, true
			if o.firstMatch {
				break
			}
		}
	}
	if m.matched {
		return m
	}
	for i, l := range lines {
		if *o.line == trimEOL(l) {
			m.at = i
		} else if insRe != nil && reLine(insRe, l) != nil {
			if o.insertAfter != nil {
				m.insertAt = i + 1
			} else {
				m.insertAt = i
			}
			if o.firstMatch {
				break
			}
		}
	}
	return m
}

// replaceLine puts the line (expanded with backrefs) at m.at.
func replaceLine(lines []string, o lineOpts, m lineMatch) ([]string, string, error) {
	newLine := *o.line
	if o.backrefs && m.matched && m.groups != nil {
		var err error
		l := strings.TrimSuffix(lines[m.at], "\n")
		if newLine, err = pyExpand(o.regexp, *o.line, l, m.groups); err != nil {
			return nil, "", err
		}
	}
	if !strings.HasSuffix(newLine, "\n") {
		newLine += "\n"
	}
	if lines[m.at] == newLine {
		return lines, "", nil
	}
	lines[m.at] = newLine
	return lines, "line replaced", nil
}

// insertLine adds the line where insertafter/insertbefore say (at, -1 when
// their pattern matched nothing), unless backrefs is set.
func insertLine(lines []string, o lineOpts, at int) ([]string, string) {
	const sep = "\n"
	line := *o.line
	insertAt := func(i int) []string {
		return append(lines[:i], append([]string{line + sep}, lines[i:]...)...)
	}
	endsOpen := func() bool {
		n := len(lines)
		return n > 0 && !strings.HasSuffix(lines[n-1], "\n") && !strings.HasSuffix(lines[n-1], "\r")
	}
	switch {
	case o.backrefs:
		// Not safe to build the line without the match: change nothing.
		return lines, ""
	case (o.insertBefore != nil && *o.insertBefore == "BOF") || (o.insertAfter != nil && *o.insertAfter == "BOF"):
		return insertAt(0), "line added"
	case (o.insertAfter != nil && *o.insertAfter == "EOF") || at == -1:
		if endsOpen() {
			lines = append(lines, sep)
		}
		return append(lines, line+sep), "line added"
	case o.insertAfter != nil && len(lines) == at:
		if trimEOL(lines[at-1]) == line {
			return lines, ""
		}
		if endsOpen() {
			lines[len(lines)-1] += sep
		}
		return append(lines, line+sep), "line added"
	case o.insertAfter != nil && line == trimEOL(lines[at]):
		return lines, ""
	}
	return insertAt(at), "line added"
}

// lineAbsent is lineinfile's absent(): it drops every matching line and
// returns how many it dropped.
func lineAbsent(lines []string, o lineOpts) ([]string, int) {
	var kept []string
	found := 0
	for _, l := range lines {
		var m bool
		switch {
		case o.regexp != nil:
			m = reLine(o.regexp, l) != nil
		case o.searchString != nil:
			m = strings.Contains(l, *o.searchString)
		default:
			m = *o.line == trimEOL(l)
		}
		if m {
			found++
		} else {
			kept = append(kept, l)
		}
	}
	return kept, found
}

// lineArgs are lineinfile's arguments, decoded and checked.
type lineArgs struct {
	path   string
	absent bool // state=absent
	create bool
	opts   lineOpts
	edit   editArgs
}

// parseLineArgs decodes and checks lineinfile's arguments, with Ansible's
// rules for what each state requires; present without insertafter or
// insertbefore inserts at EOF.
func parseLineArgs(raw map[string]any) (lineArgs, error) {
	a, err := args.Parse("lineinfile", raw, "path|dest|destfile|name", "state", "regexp|regex", "search_string",
		"line|value", "insertafter", "insertbefore", "backrefs", "create", "backup", "firstmatch",
		"mode", "owner", "group", "validate", "unsafe_writes", "follow", "encoding")
	if err != nil {
		return lineArgs{}, err
	}
	la := lineArgs{path: a.Required("path")}
	la.absent = a.Choice("state", "present", "present", "absent") == "absent"
	a.Exclusive("insertbefore", "insertafter")
	a.Exclusive("backrefs", "search_string")
	a.Exclusive("regexp", "search_string")
	o := lineOpts{
		searchString: a.OptStr("search_string"),
		line:         a.OptStr("line"),
		insertAfter:  a.OptStr("insertafter"),
		insertBefore: a.OptStr("insertbefore"),
		backrefs:     a.Bool("backrefs", false),
		firstMatch:   a.Bool("firstmatch", false),
	}
	la.create = a.Bool("create", false)
	la.edit = parseEditArgs(a)
	_ = a.Bool("follow", false)
	utf8Only(a, "encoding")
	if rx := a.OptStr("regexp"); rx != nil && a.Err() == nil {
		re, err := compilePy(*rx, false)
		if err != nil {
			a.Fail("", "%v", err)
		}
		o.regexp = re
	}
	switch {
	case !la.absent && o.backrefs && o.regexp == nil:
		a.Fail("", "regexp is required with backrefs=true")
	case !la.absent && o.line == nil:
		a.Fail("", "line is required with state=present")
	case la.absent && o.regexp == nil && o.searchString == nil && o.line == nil:
		a.Fail("", "one of line, search_string, or regexp is required with state=absent")
	}
	if !la.absent && o.insertAfter == nil && o.insertBefore == nil {
		eof := "EOF"
		o.insertAfter = &eof
	}
	la.opts = o
	return la, a.Ready()
}

func planLineinfile(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	la, err := parseLineArgs(raw)
	if err != nil {
		return nil, err
	}
	p, c := la.path, env.Conn
	t, err := readEditTarget(ctx, c, p, la.edit.attrs, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
		return planLineinfile(ctx, env, raw)
	})
	if err != nil || t.pending != nil {
		return t.pending, err
	}
	cp := t.plan(la.edit, "backup", map[string]any{"backup": ""})
	lines := splitLinesKeep(string(t.data))
	if la.absent {
		if !t.exists {
			return &tasks.Change{Action: tasks.None, Summary: p + " is absent", Reads: t.reads,
				Result: map[string]any{"msg": "file not present", "found": 0}}, nil
		}
		kept, found := lineAbsent(lines, la.opts)
		cp.after = []byte(strings.Join(kept, ""))
		if found > 0 {
			cp.msg = fmt.Sprintf("%d line(s) removed", found)
		}
		cp.result["found"] = found
		return cp.change(env), nil
	}
	if !t.exists {
		if !la.create {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Destination %s does not exist !", p), Result: map[string]any{"rc": 257}}
		}
		if cp.mkdirs, err = missingDirs(ctx, c, parentDir(t.real)); err != nil {
			return nil, err
		}
	}
	newLines, msg, err := linePresent(lines, la.opts)
	if err != nil {
		return nil, args.Errorf("lineinfile", "", "%w", err)
	}
	cp.after = []byte(strings.Join(newLines, ""))
	cp.msg = msg
	return cp.change(env), nil
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return p[:i]
}
