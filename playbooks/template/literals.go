package template

// Source rewriting before gonja parses a template: string literals get
// the value Ansible's Jinja gives them, and ansible.builtin.<name> becomes
// <name> for the filters and tests Ansible itself ships.

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// literalMode says how backslashes in string literals are read.
type literalMode int

const (
	// varsMode is a template string of a playbook: Ansible doubles every
	// backslash of a string literal inside {{ }} before Jinja reads it
	// (_escape_backslashes), so there they are literal; {% %} literals
	// get Python's unicode-escape decoding, as in plain Jinja.
	varsMode literalMode = iota
	// decodeMode decodes every literal as plain Jinja does: a when:
	// condition (Ansible wraps it in {% if %}) and a template file
	// (rendered with escape_backslashes=False).
	decodeMode
)

// fqcnBuiltin are the filters and tests Ansible 2.14 ships as plugins
// (ansible.builtin.<name>); Jinja's own (join, string, ...) have no
// ansible.builtin name there either, and a template using one fails.
var fqcnBuiltin = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"bool", "to_json", "to_nice_json", "from_json", "to_yaml", "to_nice_yaml",
		"from_yaml", "regex_replace", "regex_search", "regex_findall", "regex_escape", "basename", "dirname",
		"b64encode", "b64decode", "mandatory", "ternary", "combine", "dict2items", "items2dict", "flatten",
		"unique", "quote", "split", "difference", "intersect", "type_debug", "extract", "random", "realpath",
		"strftime", "to_uuid", "password_hash", "changed", "failed", "skipped", "succeeded", "success",
		"version", "version_compare", "match", "search", "regex", "env", "file", "pipe", "password", "template", "unvault"} {
		m[n] = true
	}
	return m
}()

var reFQCN = regexp.MustCompile(`\bansible\.(?:builtin|legacy)\.([A-Za-z_][A-Za-z0-9_]*)`)

// rewriteSource returns src with its string literals re-encoded so that
// gonja reads the value Ansible's Jinja would, and ansible.builtin names
// shortened. Text outside {{ }} and {% %} is left as is, as are
// {# comments #} and {% raw %} blocks.
func rewriteSource(src string, mode literalMode) (string, error) {
	if !strings.Contains(src, "\\") && !strings.Contains(src, "ansible.") {
		return src, nil
	}
	var b strings.Builder
	for i := 0; i < len(src); {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			b.WriteString(src[i:])
			break
		}
		j += i
		b.WriteString(src[i:j])
		switch src[j+1] {
		case '#':
			end := strings.Index(src[j:], "#}")
			if end < 0 {
				b.WriteString(src[j:])
				return b.String(), nil
			}
			b.WriteString(src[j : j+end+2])
			i = j + end + 2
		case '{', '%':
			if src[j+1] == '%' && reRawStart.MatchString(src[j:]) {
				end := reRawEnd.FindStringIndex(src[j:])
				if end == nil {
					b.WriteString(src[j:])
					return b.String(), nil
				}
				b.WriteString(src[j : j+end[1]])
				i = j + end[1]
				continue
			}
			next, err := rewriteCode(&b, src, j, mode == varsMode && src[j+1] == '{')
			if err != nil {
				return "", err
			}
			i = next
		default:
			b.WriteByte('{')
			i = j + 1
		}
	}
	return b.String(), nil
}

var (
	reRawStart = regexp.MustCompile(`^\{%[-+]?\s*raw\s*[-+]?%\}`)
	reRawEnd   = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)
)

// rewriteCode copies the code block that starts at src[start] ("{{" or
// "{%") to b, rewriting its literals, and returns where the block ends.
func rewriteCode(b *strings.Builder, src string, start int, literal bool) (int, error) {
	closer := "}}"
	if src[start+1] == '%' {
		closer = "%}"
	}
	b.WriteString(src[start : start+2])
	code := start + 2
	for i := start + 2; i < len(src); {
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			b.WriteString(reFQCN.ReplaceAllStringFunc(src[code:i], shortName))
			end, val, err := readLiteral(src, i, literal)
			if err != nil {
				return 0, err
			}
			b.WriteString(encodeLiteral(val))
			i, code = end, end
		case strings.HasPrefix(src[i:], closer):
			b.WriteString(reFQCN.ReplaceAllStringFunc(src[code:i], shortName))
			b.WriteString(closer)
			return i + 2, nil
		default:
			i++
		}
	}
	b.WriteString(reFQCN.ReplaceAllStringFunc(src[code:], shortName))
	return len(src), nil
}

// shortName turns ansible.builtin.<name> into <name> when Ansible ships
// that name; other collection names are left for CheckNames to report.
func shortName(s string) string {
	m := reFQCN.FindStringSubmatch(s)
	if fqcnBuiltin[m[1]] {
		return m[1]
	}
	return s
}

// readLiteral reads the string literal that starts at src[i] as Jinja's
// lexer finds it (a backslash escapes the next character), and returns
// where it ends and its value.
func readLiteral(src string, i int, literal bool) (int, string, error) {
	q := src[i]
	j := i + 1
	for ; j < len(src) && src[j] != q; j++ {
		if src[j] == '\\' {
			j++
		}
	}
	if j >= len(src) {
		return 0, "", errors.New("unterminated string literal")
	}
	raw := src[i+1 : j]
	if !literal {
		return j + 1, pyUnescape(raw), nil
	}
	// Ansible doubles the backslashes, so a \' ends the literal early and
	// what follows is a syntax error in Ansible too.
	if strings.Contains(raw, `\`+string(q)) {
		return 0, "", fmt.Errorf("unexpected %c after a backslash in string literal %s", q, src[i:j+1])
	}
	return j + 1, raw, nil
}

// encodeLiteral writes a string value as a literal gonja decodes back to
// exactly that value: gonja runs Go's unquoting on literals, so the
// characters that would be read as escapes are written as \xNN.
func encodeLiteral(v string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range v {
		switch {
		case r == '\\' || r == '\'' || r == '"' || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// pyUnescape decodes s as Python's "unicode-escape" codec does (what
// Jinja does to a string literal); an unknown escape is kept as written.
func pyUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if r, n, ok := pyEscape(s[i:]); ok {
			if r >= 0 {
				b.WriteRune(r)
			}
			i += n - 1
			continue
		}
		b.WriteByte('\\')
		b.WriteByte(s[i])
	}
	return b.String()
}

// pyEscape decodes the escape after a backslash: the rune (-1 for an
// escaped newline, which is dropped) and how many bytes it took.
func pyEscape(s string) (rune, int, bool) {
	simple := map[byte]rune{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11, '\n': -1}
	if r, ok := simple[s[0]]; ok {
		return r, 1, true
	}
	if s[0] >= '0' && s[0] <= '7' {
		n := 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			n++
		}
		v, _ := strconv.ParseUint(s[:n], 8, 32)
		return rune(v), n, true
	}
	width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[0]]
	if width == 0 || len(s) < width+1 {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(s[1:width+1], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, 0, false
	}
	return rune(v), width + 1, true
}
