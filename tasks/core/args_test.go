package core

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/shlex"
	"github.com/sshplay/sshplay/internal/testenv"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

func TestParseMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      any
		cur     uint32
		dir     bool
		want    uint32
		wantErr string
	}{
		{in: "0644", want: 0o644},
		{in: "644", want: 0o644},
		{in: "0o600", want: 0o600},
		{in: "01777", want: 0o1777},
		{in: 420, want: 0o644}, // YAML 0644 arrives as 420
		{in: 0o600, want: 0o600},
		{in: 644, wantErr: "decimal number"},
		{in: 99999, wantErr: "out of range"},
		{in: "u=rw,g=r,o=r", cur: 0o777, want: 0o644},
		{in: "u+x", cur: 0o644, want: 0o744},
		{in: "go-rwx", cur: 0o755, want: 0o700},
		{in: "a+X", cur: 0o644, want: 0o644},
		{in: "a+X", cur: 0o644, dir: true, want: 0o755},
		{in: "u=rwx,g=u-w,o=", cur: 0o7, want: 0o750},
		{in: "bogus", wantErr: "bad symbolic clause"},
		{in: "preserve", wantErr: "only valid"},
		{in: []any{1}, wantErr: "octal string"},
	}
	for _, tt := range tests {
		m, err := parseMode(tt.in, false)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: want error %q, got %v", tt.in, tt.wantErr, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.in, err)
			continue
		}
		if got := m.apply(tt.cur, tt.dir); got != tt.want {
			t.Errorf("%v on %o: got %o, want %o", tt.in, tt.cur, got, tt.want)
		}
	}
}

// TestCommandSplitsFreeFormLikePythonShlex: the command module's words are
// shlex.Split's (Python's shlex.split, as Ansible's command module uses).
func TestCommandSplitsFreeFormLikePythonShlex(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		`echo hello world`:         {"echo", "hello", "world"},
		`echo "a b" 'c d'`:         {"echo", "a b", "c d"},
		`echo a"b c"d`:             {"echo", "ab cd"},
		`echo "say \"hi\"" \$HOME`: {"echo", `say "hi"`, "$HOME"},
		`echo 'it''s'`:             {"echo", "its"},
		`ls | wc`:                  {"ls", "|", "wc"},
		"printf 'a\tb'\t\\n":       {"printf", "a\tb", "n"},
	}
	for in, want := range tests {
		host, local := newHosts()
		ch, err := planOnly(t, testEnv(host, local), "command", map[string]any{"_raw_params": in})
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got, _ := ch.Result["cmd"].([]string); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
		if split, err := shlex.Split(in); err != nil || strings.Join(split, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s: shlex.Split gives %q %v", in, split, err)
		}
	}
}

// TestCoreBooleansAreAnsibleStrict pins the core modules' booleans to
// boolean.Parse: a blank string and the text "1.0" or "0.0" used to be
// read as false and true; Ansible refuses them.
func TestCoreBooleansAreAnsibleStrict(t *testing.T) {
	t.Parallel()
	m := modByName(t, "copy").(tasks.ArgChecker)
	for in, wantErr := range map[any]bool{"": true, " ": true, "1.0": true, "0.0": true, "none": true,
		"t": false, "F": false, "yes": false, 1: false, 0.0: false, 2: true} {
		err := m.CheckArgs(map[string]any{"content": "x", "dest": "/x", "force": in})
		var ae *args.Error
		switch {
		case wantErr && (err == nil || !errors.As(err, &ae) || !strings.Contains(err.Error(), "copy: force: ")):
			t.Errorf("force=%#v: got %v, want an error naming copy and force", in, err)
		case !wantErr && err != nil:
			t.Errorf("force=%#v: %v", in, err)
		}
	}
}

// TestQuoteExpandingWithRealShell runs the quoted words through /bin/sh and
// checks the command module's expansion rules: set variables and ~ expand,
// unset variables stay literal, nothing else is interpreted.
func TestQuoteExpandingWithRealShell(t *testing.T) {
	t.Parallel()
	needSh(t)
	args := []string{"$FOO", "${FOO}x", "$UNSET", "${UNSET}", "a b", "$(id)", "`id`", "*", "it's", "~/x", "~", "a~", "$1", "semi;colon", "\\n"}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = quoteExpanding(a)
	}
	cmd := exec.CommandContext(context.Background(), "sh", "-c", `printf '[%s]\n' `+strings.Join(quoted, " "))
	cmd.Env = []string{"FOO=v a l", "HOME=/home/u", "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "[v a l]\n[v a lx]\n[$UNSET]\n[${UNSET}]\n[a b]\n[$(id)]\n[`id`]\n[*]\n[it's]\n[/home/u/x]\n[/home/u]\n[a~]\n[$1]\n[semi;colon]\n[\\n]\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// needSh skips a test that runs /bin/sh on a machine without one, and fails
// it when CI is set (the rule of lab/labtest: CI never passes by skipping).
func needSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		testenv.SkipOrFail(t, "no sh: %v", err)
	}
}

// TestGlobQuoteWithRealShell expands globQuote's words with /bin/sh in a
// directory whose names hold a newline, a space, a quote, $ and a
// backslash: the literal parts match only themselves, *, ? and [...]
// stay patterns, and pathExists gives the same answers through a real
// local Conn.
func TestGlobQuoteWithRealShell(t *testing.T) {
	t.Parallel()
	needSh(t)
	dir := t.TempDir()
	names := []string{"new\nline.conf", "a b.conf", "it's.conf", "$x.conf", `back\n.conf`, "x.conf", "y.conf", "n.conf", "*.lit"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string][]string{
		"new\n*":      {"new\nline.conf"},
		"new*":        {"new\nline.conf"},
		"n*":          {"n.conf", "new\nline.conf"},
		"a b.*":       {"a b.conf"},
		"it's*":       {"it's.conf"},
		"$x.*":        {"$x.conf"},
		`back\n.*`:    {`back\n.conf`},
		"[xy].conf":   {"x.conf", "y.conf"},
		"[!xy].conf":  {"n.conf"},
		"?.conf":      {"n.conf", "x.conf", "y.conf"},
		"*.lit":       {"*.lit"},
		"$(touch p)*": nil,
		"`id`*":       nil,
		"z*":          nil,
	}
	for pat, want := range tests {
		word := globQuote(dir + "/" + pat)
		cmd := exec.CommandContext(context.Background(), "sh", "-c", `for f in `+word+`; do test -e "$f" && printf '%s\0' "${f##*/}"; done; exit 0`)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q (%s): %v", pat, word, err)
		}
		var got []string
		if len(out) > 0 {
			got = strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q as %s: matched %q, want %q", pat, word, got, want)
		}
		exists, err := pathExists(context.Background(), transport.Local(), dir+"/"+pat)
		if err != nil || exists != (len(want) > 0) {
			t.Errorf("pathExists(%q) = %v %v, want %v", pat, exists, err, len(want) > 0)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "p")); err == nil {
		t.Error("a command substitution in a pattern ran")
	}
}
