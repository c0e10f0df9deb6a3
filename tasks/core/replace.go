package core

// replace: replace every match of a regular expression in a file, within
// an optional after/before section, with Python's re.subn semantics
// (ansible.builtin.replace).

import (
	"context"
	"fmt"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

// replaceText is replace's edit: it returns the new text, the number of
// replacements, and whether the after/before section was found.
func replaceText(contents, rx, repl string, after, before *string) (string, int, bool, error) {
	pattern := ""
	switch {
	case after != nil && *after != "" && before != nil && *before != "":
		pattern = *after + "(?P<subsection>.*?)" + *before
	case after != nil && *after != "":
		pattern = *after + "(?P<subsection>.*)"
	case before != nil && *before != "":
		pattern = "(?P<subsection>.*)" + *before
	}
	section, start, end := contents, 0, len(contents)
	if pattern != "" {
		sre, err := compilePy("(?s)"+pattern, false)
		if err != nil {
			return "", 0, false, err
		}
		m := sre.FindStringSubmatchIndex(contents)
		if m == nil {
			return contents, 0, false, nil
		}
		g := sre.SubexpIndex("subsection")
		start, end = m[2*g], m[2*g+1]
		section = contents[start:end]
	}
	re, err := compilePy(rx, true)
	if err != nil {
		return "", 0, true, err
	}
	out, n, err := pySubn(re, repl, section)
	if err != nil {
		return "", 0, true, err
	}
	if n == 0 || out == section {
		return contents, n, true, nil
	}
	return contents[:start] + out + contents[end:], n, true, nil
}

func planReplace(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("replace", raw, "path|dest|destfile|name", "regexp", "replace", "after", "before",
		"backup", "mode", "owner", "group", "validate", "unsafe_writes", "encoding")
	if err != nil {
		return nil, err
	}
	p := a.Required("path")
	rx := a.Required("regexp")
	repl := a.Str("replace", "")
	after, before := a.OptStr("after"), a.OptStr("before")
	ea := parseEditArgs(a)
	utf8Only(a, "encoding")
	if err := a.Ready(); err != nil {
		return nil, err
	}
	t, err := readEditTarget(ctx, env.Conn, p, ea.attrs, func(ctx context.Context, env *tasks.Env) (*tasks.Change, error) {
		return planReplace(ctx, env, raw)
	})
	if err != nil || t.pending != nil {
		return t.pending, err
	}
	if !t.exists {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("Path %s does not exist !", p), Result: map[string]any{"rc": 257}}
	}
	out, n, found, err := replaceText(string(t.data), rx, repl, after, before)
	if err != nil {
		return nil, args.Errorf("replace", "", "%w", err)
	}
	if !found {
		pat := ""
		if after != nil {
			pat += *after
		}
		if before != nil {
			pat += " … " + *before
		}
		// Ansible exits here: nothing changes, not even attributes.
		return &tasks.Change{Action: tasks.None, Summary: p + ": before/after pattern not found", Reads: t.reads,
			Result: map[string]any{"rc": 0, "msg": "Pattern for before/after params did not match the given file: " + pat}}, nil
	}
	cp := t.plan(ea, "backup_file", map[string]any{"rc": 0})
	cp.after = []byte(out)
	cp.msg = fmt.Sprintf("%d replacements made", n)
	return cp.change(env), nil
}
