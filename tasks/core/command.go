package core

// command and shell: run a command on the host (ansible.builtin.command,
// ansible.builtin.shell). Plan never runs the command: it only checks
// creates/removes, which decide between "skipped" (no change) and "run".

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/internal/shlex"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var (
	varRef  = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)
	tildeRe = regexp.MustCompile(`^~[A-Za-z0-9._-]*(/|$)`)
	shName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// quoteExpanding quotes one argument for the remote shell so that it gets
// exactly the expansion Ansible's command module applies (expand_argument_vars:
// os.path.expandvars then expanduser, on the host): $NAME and ${NAME} of set
// variables, a leading ~ or ~user. Unset variables stay literal, as in
// Python. Nothing else is expanded: no globbing, no command substitution.
func quoteExpanding(arg string) string {
	var b strings.Builder
	if m := tildeRe.FindString(arg); m != "" {
		b.WriteString(strings.TrimSuffix(m, "/"))
		arg = arg[len(strings.TrimSuffix(m, "/")):]
	}
	last := 0
	for _, m := range varRef.FindAllStringSubmatchIndex(arg, -1) {
		name := strings.Trim(arg[m[2]:m[3]], "{}")
		if !shName.MatchString(name) {
			continue
		}
		if m[0] > last {
			b.WriteString(shellescape.Quote(arg[last:m[0]]))
		}
		if strings.HasPrefix(arg[m[2]:m[3]], "{") {
			fmt.Fprintf(&b, `"${%s-\${%s\}}"`, name, name)
		} else {
			fmt.Fprintf(&b, `"${%s-\$%s}"`, name, name)
		}
		last = m[1]
	}
	if last < len(arg) || b.Len() == 0 {
		b.WriteString(shellescape.Quote(arg[last:]))
	}
	return b.String()
}

// globQuote quotes p for a POSIX shell but leaves *, ? and [...] active:
// each literal run between them is quoted with shellescape (so a newline,
// a space or a quote stays itself), the metacharacters stay bare, and so
// does a ! that opens a bracket expression ([!a] negates, as in
// Python's glob).
func globQuote(p string) string {
	var b, lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			b.WriteString(shellescape.Quote(lit.String()))
			lit.Reset()
		}
	}
	prev := rune(0)
	for _, r := range p {
		switch {
		case strings.ContainsRune("*?[]", r), prev == '[' && r == '!':
			flush()
			b.WriteRune(r)
		default:
			lit.WriteRune(r)
		}
		prev = r
	}
	flush()
	if b.Len() == 0 {
		return "''"
	}
	return b.String()
}

// pathExists checks creates/removes on the host; a pattern with glob
// characters is expanded by the host's shell, like Ansible's glob.glob.
func pathExists(ctx context.Context, c transport.Conn, p string) (bool, error) {
	if strings.ContainsAny(p, "*?[") {
		probe := "for f in " + globQuote(p) + `; do test -e "$f" -o -L "$f" && exit 0; done; exit 1`
		_, err := c.Run(ctx, probe, transport.RunOptions{})
		var ee *transport.ExitError
		if errors.As(err, &ee) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("host %s: check %s: %w", c.Host(), p, err)
		}
		return true, nil
	}
	fi, err := statPath(ctx, c, p)
	return fi != nil, err
}

type commandSpec struct {
	shell      bool
	display    any    // cmd as registered: []string for command, string for shell
	line       string // the command line sent to Conn.Run
	chdir      string
	creates    string
	removes    string
	stdin      *string
	stripEmpty bool
	// script is a shell module's text, sent on stdin ahead of stdin (see
	// scriptLine) so that it never shows in the host's process list.
	script string
}

func planCommand(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("command", raw, "_raw_params", "cmd", "argv", "chdir", "creates", "removes", "stdin",
		"stdin_add_newline", "strip_empty_ends", "expand_argument_vars", "executable", "_uses_shell")
	if err != nil {
		return nil, err
	}
	a.Exclusive("_raw_params", "cmd", "argv")
	var argv []string
	switch {
	case a.Has("argv"):
		argv = a.List("argv")
	default:
		text := a.Str("_raw_params", a.Str("cmd", ""))
		if argv, err = shlex.Split(text); err != nil {
			a.Fail("", "cannot split command %q: %v", text, err)
		}
	}
	if a.Has("executable") {
		a.Fail("", "executable is not used by command; use shell with executable")
	}
	expand := a.Bool("expand_argument_vars", true)
	spec, err := commonCommand(a, false)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, args.Errorf("command", "", "no command given (use the free-form text, cmd or argv)")
	}
	quoted := make([]string, len(argv))
	for i, w := range argv {
		if expand {
			quoted[i] = quoteExpanding(w)
		} else {
			quoted[i] = shellescape.Quote(w)
		}
	}
	spec.display = argv
	spec.line = strings.Join(quoted, " ")
	if err := a.Ready(); err != nil {
		return nil, err
	}
	return planRun(ctx, env, spec)
}

func planShell(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("shell", raw, "_raw_params", "cmd", "chdir", "creates", "removes", "stdin",
		"stdin_add_newline", "strip_empty_ends", "executable", "_uses_shell")
	if err != nil {
		return nil, err
	}
	a.Exclusive("_raw_params", "cmd")
	text := a.Str("_raw_params", a.Str("cmd", ""))
	exe := a.Str("executable", "")
	spec, err := commonCommand(a, true)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, args.Errorf("shell", "", "no command given")
	}
	spec.display = text
	spec.script = text
	// The text goes on stdin, not in the command line (transport.ScriptLine).
	spec.line = transport.ScriptLine(exe)
	if err := a.Ready(); err != nil {
		return nil, err
	}
	return planRun(ctx, env, spec)
}

func commonCommand(a *args.Args, shell bool) (commandSpec, error) {
	s := commandSpec{
		shell:      shell,
		chdir:      a.Str("chdir", ""),
		creates:    a.Str("creates", ""),
		removes:    a.Str("removes", ""),
		stdin:      a.OptStr("stdin"),
		stripEmpty: a.Bool("strip_empty_ends", true),
	}
	_ = a.Bool("_uses_shell", false)
	if s.stdin != nil && a.Bool("stdin_add_newline", true) {
		v := *s.stdin + "\n"
		s.stdin = &v
	}
	return s, a.Err()
}

// planRun decides between skipped (creates/removes) and run.
func planRun(ctx context.Context, env *tasks.Env, s commandSpec) (*tasks.Change, error) {
	c := env.Conn
	rel := func(p string) string {
		if s.chdir != "" && !path.IsAbs(p) && !strings.HasPrefix(p, "~") {
			return path.Join(s.chdir, p)
		}
		return p
	}
	skipped := func(msg string) *tasks.Change {
		return &tasks.Change{Action: tasks.None, Summary: msg, Result: map[string]any{
			"msg": msg, "rc": 0, "stdout": "", "stderr": "", "stdout_lines": []string{}, "stderr_lines": []string{},
			"cmd": s.display, "changed": false,
		}}
	}
	if s.creates != "" {
		ok, err := pathExists(ctx, c, rel(s.creates))
		if err != nil {
			return nil, err
		}
		if ok {
			return skipped(fmt.Sprintf("skipped, since %s exists", s.creates)), nil
		}
	}
	if s.removes != "" {
		ok, err := pathExists(ctx, c, rel(s.removes))
		if err != nil {
			return nil, err
		}
		if !ok {
			return skipped(fmt.Sprintf("skipped, since %s does not exist", s.removes)), nil
		}
	}
	line := s.line
	if s.chdir != "" {
		line = "cd " + shellescape.Quote(s.chdir) + " && " + line
	}
	// A command that declares what it creates or removes tells later plans
	// of a check run what it would leave: the created path with content
	// known only after apply, the removed path gone.
	var writes []overlay.PlannedFile
	if p := rel(s.creates); s.creates != "" && !strings.ContainsAny(p, "*?[") && !strings.HasPrefix(p, "~") {
		writes = append(writes, overlay.PlannedFile{Path: p, Pending: true})
	}
	if p := rel(s.removes); s.removes != "" && !strings.ContainsAny(p, "*?[") && !strings.HasPrefix(p, "~") {
		writes = append(writes, overlay.PlannedFile{Path: p, Removed: true})
	}
	return &tasks.Change{
		Action:  tasks.Run,
		Summary: "would run: " + displayCmd(s.display),
		Result:  map[string]any{"cmd": s.display},
		Writes:  writes,
		Decided: s.creates != "" || s.removes != "",
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return runCommand(ctx, env.Conn, line, s)
		},
	}, nil
}

func displayCmd(d any) string {
	if argv, ok := d.([]string); ok {
		return sh(argv...)
	}
	return fmt.Sprint(d)
}

// ansibleDelta formats a duration as Python's timedelta str: 0:00:00.003036.
func ansibleDelta(d time.Duration) string {
	us := d.Microseconds()
	h := us / 3_600_000_000
	m := us / 60_000_000 % 60
	sec := us / 1_000_000 % 60
	return fmt.Sprintf("%d:%02d:%02d.%06d", h, m, sec, us%1_000_000)
}

const ansibleTime = "2006-01-02 15:04:05.000000"

func runCommand(ctx context.Context, c transport.Conn, line string, s commandSpec) (map[string]any, error) {
	opts := transport.RunOptions{}
	switch {
	case s.script != "":
		in := ""
		if s.stdin != nil {
			in = *s.stdin
		}
		opts.Stdin = strings.NewReader(transport.ScriptInput(s.script, in))
	case s.stdin != nil:
		opts.Stdin = strings.NewReader(*s.stdin)
	}
	start := time.Now()
	res, err := c.Run(ctx, line, opts)
	end := time.Now()
	var ee *transport.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("host %s: run %s: %w", c.Host(), displayCmd(s.display), err)
	}
	stdout, stderr := res.Stdout, res.Stderr
	if s.stripEmpty {
		stdout, stderr = bytes.TrimRight(stdout, "\r\n"), bytes.TrimRight(stderr, "\r\n")
	}
	out := map[string]any{
		"cmd": s.display, "rc": res.ExitCode,
		"stdout": string(stdout), "stderr": string(stderr),
		"stdout_lines": splitOutLines(string(stdout)), "stderr_lines": splitOutLines(string(stderr)),
		"start": start.Format(ansibleTime), "end": end.Format(ansibleTime), "delta": ansibleDelta(end.Sub(start)),
		"msg": "", "changed": true,
	}
	if res.ExitCode != 0 {
		out["msg"] = "non-zero return code"
		return out, &tasks.Failed{Msg: "non-zero return code", Result: out}
	}
	return out, nil
}

// splitOutLines is Python's str.splitlines for stdout_lines.
func splitOutLines(s string) []string {
	if s == "" {
		return []string{}
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}
