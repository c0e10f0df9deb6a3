package playbooks

// Ansible's short form of module arguments, "k=v k2='a b' free text"
// (ParseKV), also read for -e k=v: words split on blanks outside quotes and
// templates, escapes decoded as Ansible's parse_kv decodes them.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/tasks"
)

// freeFormArg is the argument that holds a module's free-form text, as
// in Ansible; errors name the module instead (Task.argError).
const freeFormArg = "_raw_params"

// ParseKV parses Ansible's short form "k=v k2='a b' free text". free says
// whether the module takes free text (the registry's FreeForm of the
// module: command, shell, meta, include_vars): if so, every word that is
// not one of its own options becomes _raw_params; if free is nil, a word
// that is not k=v is an error.
func ParseKV(s string, free *tasks.FreeForm) (map[string]any, error) {
	toks, err := splitArgs(s)
	if err != nil {
		return nil, err
	}
	args := map[string]any{}
	var raw []string
	for _, tk := range toks {
		k, v, isKV := strings.Cut(tk.text, "=")
		if isKV && reIdent.MatchString(k) && free.Takes(k) {
			// Ansible's parse_kv decodes escapes (\n, \t, \", \xHH,
			// \uHHHH) in k=v values; free text is kept as written.
			args[k] = unquote(decodeEscapes(v))
			continue
		}
		if free == nil {
			return nil, fmt.Errorf("%q is not key=value (this module takes no free-form text)", tk.text)
		}
		raw = append(raw, s[tk.start:tk.end])
	}
	if len(raw) > 0 {
		args[freeFormArg] = strings.Join(raw, " ")
	}
	return args, nil
}

var reEscape = regexp.MustCompile(`\\U[0-9A-Fa-f]{8}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\[0-7]{1,3}|\\[\\'"abfnrtv]`)

// decodeEscapes decodes the escape sequences Ansible's parse_kv decodes
// (Python's unicode_escape of each matched sequence).
func decodeEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return reEscape.ReplaceAllStringFunc(s, func(m string) string {
		switch m[1] {
		case 'U', 'u', 'x':
			n, err := strconv.ParseUint(m[2:], 16, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, err := strconv.ParseUint(m[1:], 8, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		}
		return map[byte]string{'\\': `\`, '\'': "'", '"': `"`, 'a': "\a", 'b': "\b", 'f': "\f",
			'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}[m[1]]
	})
}

type argToken struct {
	text       string
	start, end int
}

// splitArgs splits on whitespace outside quotes and outside {{ }} / {% %}.
func splitArgs(s string) ([]argToken, error) {
	var out []argToken
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		var quote byte
		depth := 0
		for i < len(s) {
			c := s[i]
			switch {
			case quote != 0:
				if c == '\\' && quote == '"' && i+1 < len(s) {
					i++
				} else if c == quote {
					quote = 0
				}
			case strings.HasPrefix(s[i:], "{{") || strings.HasPrefix(s[i:], "{%"):
				depth++
				i++
			case depth > 0 && (strings.HasPrefix(s[i:], "}}") || strings.HasPrefix(s[i:], "%}")):
				depth--
				i++
			case c == '\'' || c == '"':
				if depth == 0 {
					quote = c
				}
			case depth == 0 && (c == ' ' || c == '\t' || c == '\n'):
				goto done
			}
			i++
		}
	done:
		if quote != 0 {
			return nil, fmt.Errorf("unterminated quote in %q", s[start:])
		}
		out = append(out, argToken{text: s[start:i], start: start, end: i})
	}
	return out, nil
}

// unquote strips the quotes around a value whose escapes have been
// decoded, and nothing else, as Ansible's unquote: a \" left by the
// decoding (from \\\") is a backslash and a quote.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
