package transport

import (
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// ScriptLine is a command line that runs a script read from standard
// input: the login shell reads the script's line count, then its lines,
// with the read builtin (no extra process; the rest of stdin stays for the
// script), and runs it with eval — or hands it to executable through its
// environment. It is one { } group, so that "cd DIR && " before it guards
// all of it. The script, secrets included, is thus never in any
// process's argv, which every user on the host can read. ScriptInput makes
// the matching stdin.
func ScriptLine(executable string) string {
	read := `{ __sshplay_n=; IFS= read -r __sshplay_n; __sshplay_s=; __sshplay_i=0; ` +
		`while [ "$__sshplay_i" -lt "$__sshplay_n" ] && IFS= read -r __sshplay_l; do __sshplay_s="$__sshplay_s$__sshplay_l
"; __sshplay_i=$((__sshplay_i+1)); done; unset __sshplay_n __sshplay_i __sshplay_l; `
	if executable == "" {
		return read + `eval "$__sshplay_s"; }`
	}
	return read + `export __sshplay_s; exec ` + shellescape.Quote(executable) + ` -c 'eval "$__sshplay_s"'; }`
}

// ScriptInput is the stdin for ScriptLine: the script's line count, its
// lines, then stdin (the script's own input).
func ScriptInput(script, stdin string) string {
	if !strings.HasSuffix(script, "\n") {
		script += "\n"
	}
	return strconv.Itoa(strings.Count(script, "\n")) + "\n" + script + stdin
}

// SplitScriptInput undoes ScriptInput (for stand-ins of a host that
// interpret commands themselves); ok is false when in is not one.
func SplitScriptInput(in string) (script, stdin string, ok bool) {
	head, rest, found := strings.Cut(in, "\n")
	n, err := strconv.Atoi(head)
	if !found || err != nil || n < 0 {
		return "", "", false
	}
	i := 0
	for ; n > 0; n-- {
		j := strings.IndexByte(rest[i:], '\n')
		if j < 0 {
			return "", "", false
		}
		i += j + 1
	}
	return strings.TrimSuffix(rest[:i], "\n"), rest[i:], true
}
