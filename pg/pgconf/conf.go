package pgconf

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Setting is one "name = value" to enforce. Value is the plain value
// (ssl_cert_file = /etc/ssl/x.crt, not '/etc/ssl/x.crt'); Set quotes it.
type Setting struct {
	Name  string
	Value string
}

// Entry is an active setting line as PostgreSQL reads it.
type Entry struct {
	Name  string // as written in the file
	Value string // unquoted, escapes resolved
	Line  int    // 1-based
}

// Include is an include, include_if_exists or include_dir directive.
type Include struct {
	Kind string // "include", "include_if_exists" or "include_dir", lower case
	Path string // as written (relative paths are relative to the including file's directory)
	Line int    // 1-based
}

// SyntaxError is a line PostgreSQL would reject (and with it the whole file).
type SyntaxError struct {
	Line int
	Text string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: syntax error in %q", e.Line, strings.TrimRight(e.Text, "\r"))
}

// Managed block markers for settings that have nowhere better to go.
const (
	BeginMarker = "# BEGIN sshplay managed settings"
	EndMarker   = "# END sshplay managed settings"
	// RemovedPrefix is put in front of lines Remove comments out.
	RemovedPrefix = "# sshplay: "
)

// line is one physical line and what it holds.
type line struct {
	text string // without the newline
	eol  string // "\n" ("\r" of a parsed CRLF line stays in text), "\r\n" on inserted lines, "" on a last line without newline

	kind     lineKind
	name     string // setting name (original case); for commented settings too
	value    string // resolved value
	valStart int    // offsets of the value token in text
	valEnd   int
	comment  int // offset of the trailing comment, len(text) if none
}

type lineKind int

const (
	lineBlank lineKind = iota
	lineComment
	lineSetting   // active setting (includes are settings named include*)
	lineCommented // a comment that would parse as a setting: "#ssl = off"
	lineError
)

// parse splits content into lines and classifies each.
func parse(content []byte) []*line {
	s := string(content)
	var lines []*line
	for len(s) > 0 {
		l := &line{}
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l.text, l.eol, s = s[:i], "\n", s[i+1:]
		} else {
			l.text, s = s, ""
		}
		classify(l)
		lines = append(lines, l)
	}
	return lines
}

func classify(l *line) {
	name, value, vs, ve, comment, ok, empty := parseSetting(l.text)
	switch {
	case empty && comment < len(l.text):
		l.kind = lineComment
		// "#ssl = off" and "# ssl = on   # comment": a commented-out setting.
		body := strings.TrimLeft(l.text[comment:], "#")
		if n2, v2, _, _, _, ok2, _ := parseSetting(body); ok2 {
			l.kind, l.name, l.value = lineCommented, n2, v2
		}
	case empty:
		l.kind = lineBlank
	case ok:
		l.kind, l.name, l.value, l.valStart, l.valEnd, l.comment = lineSetting, name, value, vs, ve, comment
	default:
		l.kind = lineError
	}
}

// parseSetting parses "name [=] value [# comment]". empty reports a line
// with no tokens (blank or comment only).
func parseSetting(text string) (name, value string, valStart, valEnd, comment int, ok, empty bool) {
	toks, comment := lexLine(text)
	if len(toks) == 0 {
		return "", "", 0, 0, comment, false, true
	}
	if toks[0].kind != tokID && toks[0].kind != tokQualifiedID {
		return "", "", 0, 0, comment, false, false
	}
	i := 1
	if i < len(toks) && toks[i].kind == tokEquals {
		i++
	}
	if i != len(toks)-1 {
		return "", "", 0, 0, comment, false, false
	}
	v := toks[i]
	switch v.kind {
	case tokString:
		value = deescape(v.text)
	case tokUnquoted, tokInteger, tokReal, tokID:
		value = v.text
	default:
		return "", "", 0, 0, comment, false, false
	}
	return toks[0].text, value, v.start, v.end, comment, true, false
}

func isInclude(name string) bool {
	switch strings.ToLower(name) {
	case "include", "include_if_exists", "include_dir":
		return true
	}
	return false
}

// ValidName reports whether name is a setting name PostgreSQL accepts
// ("ssl", "pg_stat_statements.max").
func ValidName(name string) bool {
	return name != "" && (matchID(name) == len(name) || matchQualifiedID(name) == len(name))
}

// Parse returns the active settings in file order (include directives are
// left out: see Includes) and the first line PostgreSQL would reject, as a
// *SyntaxError. Comment lines are never errors.
func Parse(content []byte) ([]Entry, error) {
	var entries []Entry
	var first error
	for i, l := range parse(content) {
		switch {
		case l.kind == lineSetting && !isInclude(l.name):
			entries = append(entries, Entry{Name: l.name, Value: l.value, Line: i + 1})
		case l.kind == lineError && first == nil:
			first = &SyntaxError{Line: i + 1, Text: l.text}
		}
	}
	return entries, first
}

// Get returns the value of the last active occurrence of name (matched case
// insensitively) in content and its 1-based line. Settings made in included
// files or in postgresql.auto.conf are not seen.
func Get(content []byte, name string) (value string, lineNo int, ok bool) {
	lines := parse(content)
	if i := lastActive(lines, name); i >= 0 {
		return lines[i].value, i + 1, true
	}
	return "", 0, false
}

// Includes lists the include directives of content in order.
func Includes(content []byte) []Include {
	var out []Include
	for i, l := range parse(content) {
		if l.kind == lineSetting && isInclude(l.name) {
			out = append(out, Include{Kind: strings.ToLower(l.name), Path: l.value, Line: i + 1})
		}
	}
	return out
}

// Set makes each setting's value the one PostgreSQL reads from content:
//   - when the setting is active, the value of its last active line is
//     replaced in place (name, "=", spacing and trailing comment kept;
//     earlier duplicates are left alone since the last one wins);
//   - else, when a commented-out line exists ("#ssl = off"), the setting is
//     inserted on the line right after the last such line;
//   - else it is added in a block between BeginMarker and EndMarker at the
//     end of content (the block is reused on later calls).
//
// A value already equal (after unquoting; on/off/true/false/yes/no compared
// as booleans) is left as it is, so Set twice changes nothing the second
// time. Values are quoted by Quote. Include directives cannot be set.
func Set(content []byte, settings []Setting) (newContent []byte, changed bool, err error) {
	for _, s := range settings {
		if !ValidName(s.Name) {
			return nil, false, fmt.Errorf("set %q: not a valid setting name", s.Name)
		}
		if isInclude(s.Name) {
			return nil, false, fmt.Errorf("set %q: include directives cannot be set", s.Name)
		}
	}
	lines := parse(content)
	nl := newline(lines)
	for _, s := range settings {
		quoted := Quote(s.Value)
		if i := lastActive(lines, s.Name); i >= 0 {
			l := lines[i]
			if sameValue(l.value, s.Value) {
				continue
			}
			l.text = replaceValue(l, quoted)
			classify(l)
			changed = true
			continue
		}
		newLine := &line{text: s.Name + " = " + quoted, eol: nl}
		classify(newLine)
		if i := lastCommented(lines, s.Name); i >= 0 {
			if lines[i].eol == "" {
				lines[i].eol = nl
			}
			lines = insertAt(lines, i+1, newLine)
			changed = true
			continue
		}
		begin, end := managedBlock(lines)
		if begin < 0 {
			if n := len(lines); n > 0 && lines[n-1].eol == "" {
				lines[n-1].eol = nl
			}
			if n := len(lines); n > 0 && lines[n-1].kind != lineBlank {
				lines = append(lines, &line{eol: nl})
			}
			lines = append(lines, &line{text: BeginMarker, eol: nl, kind: lineComment}, &line{text: EndMarker, eol: nl, kind: lineComment})
			end = len(lines) - 1
		}
		lines = insertAt(lines, end, newLine)
		changed = true
	}
	if !changed {
		return content, false, nil
	}
	return render(lines), true, nil
}

// Remove comments out, with RemovedPrefix, every active line whose name
// matches one of patterns (case insensitive; "*" matches any run of
// characters, so "ssl*" covers every ssl setting). It is how ssl lines in
// postgresql.auto.conf are neutralised when ALTER SYSTEM is not used.
func Remove(content []byte, patterns []string) (newContent []byte, changed bool) {
	lines := parse(content)
	for _, l := range lines {
		if l.kind != lineSetting || isInclude(l.name) {
			continue
		}
		for _, p := range patterns {
			if globMatch(strings.ToLower(p), strings.ToLower(l.name)) {
				l.text = RemovedPrefix + l.text
				classify(l)
				changed = true
				break
			}
		}
	}
	if !changed {
		return content, false
	}
	return render(lines), true
}

// Quote renders value for postgresql.conf: booleans (on, off, true, false,
// yes, no) and numbers, with an optional unit (100, 0.9, 64MB, 5min), stay
// bare; everything else is put in single quotes with quotes doubled and
// backslashes and line breaks escaped.
func Quote(value string) string {
	if isBoolWord(value) || isPlainNumber(value) {
		return value
	}
	var sb strings.Builder
	sb.WriteByte('\'')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\'':
			sb.WriteString("''")
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('\'')
	return sb.String()
}

func isBoolWord(v string) bool {
	switch strings.ToLower(v) {
	case "on", "off", "true", "false", "yes", "no":
		return true
	}
	return false
}

func boolOf(v string) bool {
	switch strings.ToLower(v) {
	case "on", "true", "yes":
		return true
	}
	return false
}

func isPlainNumber(v string) bool {
	if v == "" {
		return false
	}
	if n := matchInteger(v); n == len(v) {
		return true
	}
	n := matchReal(v)
	return n == len(v) && strings.ContainsAny(v, "0123456789")
}

func sameValue(have, want string) bool {
	if have == want {
		return true
	}
	return isBoolWord(have) && isBoolWord(want) && boolOf(have) == boolOf(want)
}

func lastActive(lines []*line, name string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].kind == lineSetting && strings.EqualFold(lines[i].name, name) {
			return i
		}
	}
	return -1
}

func lastCommented(lines []*line, name string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].kind == lineCommented && strings.EqualFold(lines[i].name, name) {
			return i
		}
	}
	return -1
}

func managedBlock(lines []*line) (begin, end int) {
	begin, end = -1, -1
	for i, l := range lines {
		t := strings.TrimRight(l.text, " \t\r")
		switch {
		case t == BeginMarker && begin < 0:
			begin = i
		case t == EndMarker && begin >= 0:
			return begin, i
		}
	}
	return -1, -1
}

// replaceValue swaps the value token of l for quoted, shifting a trailing
// comment as little as possible: padding before it shrinks or grows so the
// comment keeps its column when there is room.
func replaceValue(l *line, quoted string) string {
	before, after := l.text[:l.valStart], l.text[l.valEnd:]
	if n := len(before); n > 0 && strings.IndexByte(" \t\r=", before[n-1]) < 0 && quoted[0] != '\'' {
		// "name'value'" needs no separator; a bare value would run into
		// the name ("name0"), so it gets a space.
		before += " "
	}
	if l.comment < len(l.text) {
		gap := l.comment - l.valEnd // whitespace between value and comment
		pad := l.text[l.valEnd:l.comment]
		if strings.Trim(pad, " ") == "" { // spaces only: keep the column
			want := gap - (len(quoted) - (l.valEnd - l.valStart))
			if want < 1 {
				want = 1
			}
			after = strings.Repeat(" ", want) + l.text[l.comment:]
		}
	}
	return before + quoted + after
}

func insertAt(lines []*line, i int, l *line) []*line {
	lines = append(lines, nil)
	copy(lines[i+1:], lines[i:])
	lines[i] = l
	return lines
}

// newline picks "\r\n" when the content already uses it, else "\n".
func newline(lines []*line) string {
	for _, l := range lines {
		if l.eol != "" {
			if strings.HasSuffix(l.text, "\r") {
				return "\r\n"
			}
			return "\n"
		}
	}
	return "\n"
}

func render(lines []*line) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return b.Bytes()
}

// globMatch matches name against a lower-case pattern where "*" is a
// wildcard for any run of characters.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

// AutoConfHeader is the comment ALTER SYSTEM writes at the top of
// postgresql.auto.conf.
const AutoConfHeader = "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n"

// ResetAuto returns postgresql.auto.conf as ALTER SYSTEM RESET of names
// leaves it: PostgreSQL rewrites the whole file, its header, then every
// remaining setting in file order as name = 'value' (quotes and
// backslashes doubled), comments dropped. A plan shows this text so that
// its diff is what the run produces.
func ResetAuto(content []byte, names []string) []byte {
	var b strings.Builder
	b.WriteString(AutoConfHeader)
	entries, _ := Parse(content)
	for _, e := range entries {
		if isInclude(e.Name) || slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, e.Name) }) {
			continue
		}
		v := strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(e.Value)
		b.WriteString(e.Name + " = '" + v + "'\n")
	}
	return []byte(b.String())
}
