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
	const sep = "\n"
	line := *o.line
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
	idx := [2]int{-1, -1}
	var match []int
	matched := false
	if o.regexp != nil {
		for i, l := range lines {
			if m := reLine(o.regexp, l); m != nil {
				idx[0], match, matched = i, m, true
				if o.firstMatch {
					break
				}
			}
		}
	}
	if o.searchString != nil {
		for i, l := range lines {
			if strings.Contains(l, *o.searchString) {
				idx[0], matched = i, true
				if o.firstMatch {
					break
				}
			}
		}
	}
	if !matched {
		for i, l := range lines {
			if line == trimEOL(l) {
				idx[0] = i
			} else if insRe != nil && reLine(insRe, l) != nil {
				if o.insertAfter != nil {
					idx[1] = i + 1
					if o.firstMatch {
						break
					}
				}
				if o.insertBefore != nil {
					idx[1] = i
					if o.firstMatch {
						break
					}
				}
			}
		}
	}
	insertAt := func(i int) {
		lines = append(lines[:i], append([]string{line + sep}, lines[i:]...)...)
	}
	ensureLastEOL := func() {
		if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") && !strings.HasSuffix(lines[n-1], "\r") {
			lines[n-1] += sep
		}
	}
	switch {
	case idx[0] != -1:
		newLine := line
		if o.backrefs && matched && match != nil {
			l := strings.TrimSuffix(lines[idx[0]], "\n")
			if newLine, err = pyExpand(o.regexp, line, l, match); err != nil {
				return nil, "", err
			}
		}
		if !strings.HasSuffix(newLine, sep) {
			newLine += sep
		}
		if lines[idx[0]] != newLine {
			lines[idx[0]] = newLine
			return lines, "line replaced", nil
		}
		return lines, "", nil
	case o.backrefs:
		// Not safe to build the line without the match: change nothing.
		return lines, "", nil
	case (o.insertBefore != nil && *o.insertBefore == "BOF") || (o.insertAfter != nil && *o.insertAfter == "BOF"):
		insertAt(0)
		return lines, "line added", nil
	case (o.insertAfter != nil && *o.insertAfter == "EOF") || idx[1] == -1:
		if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") && !strings.HasSuffix(lines[n-1], "\r") {
			lines = append(lines, sep)
		}
		lines = append(lines, line+sep)
		return lines, "line added", nil
	case o.insertAfter != nil && idx[1] != -1:
		if len(lines) == idx[1] {
			if trimEOL(lines[idx[1]-1]) != line {
				ensureLastEOL()
				lines = append(lines, line+sep)
				return lines, "line added", nil
			}
			return lines, "", nil
		}
		if line != trimEOL(lines[idx[1]]) {
			insertAt(idx[1])
			return lines, "line added", nil
		}
		return lines, "", nil
	default:
		insertAt(idx[1])
		return lines, "line added", nil
	}
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

func planLineinfile(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := parseArgs("lineinfile", raw, "path|dest|destfile|name", "state", "regexp|regex", "search_string",
		"line|value", "insertafter", "insertbefore", "backrefs", "create", "backup", "firstmatch",
		"mode", "owner", "group", "validate", "unsafe_writes", "follow", "encoding")
	if err != nil {
		return nil, err
	}
	p := a.required("path")
	state := a.choice("state", "present", "present", "absent")
	a.exclusive("insertbefore", "insertafter")
	a.exclusive("backrefs", "search_string")
	a.exclusive("regexp", "search_string")
	o := lineOpts{
		searchString: a.optStr("search_string"),
		line:         a.optStr("line"),
		insertAfter:  a.optStr("insertafter"),
		insertBefore: a.optStr("insertbefore"),
		backrefs:     a.boolean("backrefs", false),
		firstMatch:   a.boolean("firstmatch", false),
	}
	create := a.boolean("create", false)
	ea := parseEditArgs(a)
	backup, validate, attrs := ea.backup, ea.validate, ea.attrs
	_ = a.boolean("follow", false)
	if enc := a.str("encoding", "utf-8"); enc != "utf-8" && enc != "utf8" {
		a.fail("only utf-8 encoding is supported, got %q", enc)
	}
	if rx := a.optStr("regexp"); rx != nil && a.err == nil {
		re, err := compilePy(*rx, false)
		if err != nil {
			a.fail("%v", err)
		}
		o.regexp = re
	}
	if a.err == nil {
		switch {
		case state == "present" && o.backrefs && o.regexp == nil:
			a.fail("regexp is required with backrefs=true")
		case state == "present" && o.line == nil:
			a.fail("line is required with state=present")
		case state == "absent" && o.regexp == nil && o.searchString == nil && o.line == nil:
			a.fail("one of line, search_string, or regexp is required with state=absent")
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	if state == "present" && o.insertAfter == nil && o.insertBefore == nil {
		eof := "EOF"
		o.insertAfter = &eof
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	c := env.Conn
	real, fi, data, exists, reads, pending, err := readEditTarget(ctx, c, p, attrs, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
		return planLineinfile(ctx, env, raw)
	})
	if err != nil || pending != nil {
		return pending, err
	}
	cp := &contentPlan{path: real, fi: fi, exists: exists, before: data, attrs: attrs, backup: backup,
		validate: validate, reads: reads, backupKey: "backup", result: map[string]any{"backup": ""}}
	lines := splitLinesKeep(string(data))
	if state == "absent" {
		if !exists {
			return &tasks.Change{Action: tasks.None, Summary: p + " is absent", Reads: reads,
				Result: map[string]any{"msg": "file not present", "found": 0}}, nil
		}
		kept, found := lineAbsent(lines, o)
		cp.after = []byte(strings.Join(kept, ""))
		if found > 0 {
			cp.msg = fmt.Sprintf("%d line(s) removed", found)
		}
		cp.result["found"] = found
		return cp.change(env), nil
	}
	if !exists {
		if !create {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("Destination %s does not exist !", p), Result: map[string]any{"rc": 257}}
		}
		if cp.mkdirs, err = missingDirs(ctx, c, parentDir(real)); err != nil {
			return nil, err
		}
	}
	newLines, msg, err := linePresent(lines, o)
	if err != nil {
		return nil, &argError{"lineinfile: " + err.Error()}
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
