package yamlx

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var reSyntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// SyntaxError places a yaml.v3 syntax error err, got while parsing data,
// at the token that caused it, as PyYAML's problem mark does: Line and
// Col (1-based, in characters) of the first character of the offending
// token, Msg yaml.v3's message without its "yaml: line N: " prefix.
//
// yaml.v3 itself names only a line, and often the wrong one: for a parser
// error it gives the 0-based line where the enclosing block began (a task
// key indented one space too far on line 6 reads "line 2: did not find
// expected key"), for a problem on the first line of a block nothing, and
// for a quote never closed the line where the input ended. Its parser
// stops at the first bad token whatever follows it, so the shortest
// prefix of data that fails with the very same error ends just past that
// token: it is found by binary search over whole lines, then over the
// characters of the last line. A character yaml.v3's reader refuses
// (invalid UTF-8, a control character) is placed where it stands.
//
// When ctx is cancelled, or no prefix fails the same way, the position is
// the line yaml.v3 named (1 when none), column 1.
func SyntaxError(ctx context.Context, file string, data []byte, err error) *Error {
	line, msg := syntaxMessage(err)
	e := &Error{File: file, Line: max(line, 1), Col: 1, Msg: msg}
	if refusedChar(msg) {
		if l, c, ok := badChar(data); ok {
			e.Line, e.Col = l, c
		}
		return e
	}
	want := err.Error()
	at := func(n int) bool { return stopsAt(ctx, data[:n], want) }
	ends := lineEnds(data)
	i := firstTrue(len(ends), func(i int) bool { return at(ends[i]) })
	if i == len(ends) {
		// Only the end of the input makes it fail (a flow collection
		// never closed, running to the end): place it where the first
		// prefix fails the same way, inside that collection.
		at = func(n int) bool { return prefixFails(ctx, data[:n], want) }
		i = firstTrue(len(ends), func(i int) bool { return at(ends[i]) })
	}
	if i == len(ends) || ctx.Err() != nil {
		return e
	}
	start := 0
	if i > 0 {
		start = ends[i-1]
	}
	cuts := runeEnds(data[start:ends[i]])
	j := firstTrue(len(cuts), func(j int) bool { return at(start + cuts[j]) })
	if j == len(cuts) || ctx.Err() != nil {
		j = 0
	}
	text := []rune(string(data[start:ends[i]]))
	if isValue(text, j) && msg != msgNoValue && !strings.Contains(msg, "',' or") {
		j = keyStart(text, j)
	}
	e.Line, e.Col = i+1, j+1
	return e
}

// msgNoValue is the one error a value indicator causes by itself in a
// block; any other error first seen there when a ':' arrives is the
// key's, a token that begins where the key does. (In a flow collection,
// "did not find expected ',' or ']'", the ':' itself is the bad token: a
// key there never spans lines.)
const msgNoValue = "mapping values are not allowed in this context"

// isValue reports whether line[j] is a ':' that ends a key: followed by
// a blank or the end of the line.
func isValue(line []rune, j int) bool {
	return line[j] == ':' && (j+1 == len(line) || strings.ContainsRune(" \t\r\n", line[j+1]))
}

// keyStart is where the key ended by the ':' at line[j] begins: a quoted
// key at its opening quote, a plain one after the indentation and any
// "- " or "? " indicators, or after the ',', '[' or '{' before it in a
// flow collection.
func keyStart(line []rune, j int) int {
	i := j
	for i > 0 && (line[i-1] == ' ' || line[i-1] == '\t') {
		i--
	}
	if i > 0 && (line[i-1] == '"' || line[i-1] == '\'') {
		if k := lastIndex(line[:i-1], line[i-1]); k >= 0 {
			return k
		}
	}
	for i > 0 && !strings.ContainsRune(",[{", line[i-1]) {
		i--
	}
	for i < j {
		switch {
		case line[i] == ' ' || line[i] == '\t':
			i++
		case (line[i] == '-' || line[i] == '?') && i+1 < j && (line[i+1] == ' ' || line[i+1] == '\t'):
			i += 2
		default:
			return i
		}
	}
	return j
}

// lastIndex is the index of the last r in s, or -1.
func lastIndex(s []rune, r rune) int {
	for k := len(s) - 1; k >= 0; k-- {
		if s[k] == r {
			return k
		}
	}
	return -1
}

// closers end a flow sequence or mapping that the end of a prefix may
// have cut open. (A quote is no closer: the scanner, looking ahead, would
// fail on the quoted scalar it opens before the parser reaches the bad
// token; and a prefix cut inside a quoted scalar fails differently from
// any later error, unless that scalar is the error, never closed.)
var closers = []string{"]", "}"}

// stopsAt reports whether the parse of prefix stops with the error want
// at a token inside prefix, not at its end: it fails that way whatever
// closer follows on a line of its own. A prefix cut inside "[1, 2" fails
// like a flow sequence that a later line breaks, but not once "]" closes
// it.
func stopsAt(ctx context.Context, prefix []byte, want string) bool {
	if !prefixFails(ctx, prefix, want) {
		return false
	}
	for _, c := range closers {
		if !prefixFails(ctx, append(append(slices.Clip(prefix), '\n'), c...), want) {
			return false
		}
	}
	return true
}

// syntaxMessage splits a yaml.v3 error into the line it names (0 when
// none) and its message without the "yaml: " and "line N: " prefixes.
func syntaxMessage(err error) (line int, msg string) {
	s := err.Error()
	if m := reSyntaxLine.FindStringSubmatch(s); m != nil {
		line, _ = strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(s, "yaml: ")
}

// prefixFails reports whether parsing data, every document of it, stops
// with an error that reads exactly want.
func prefixFails(ctx context.Context, data []byte, want string) bool {
	dec := NewDecoder(ctx, "", data)
	for {
		var doc yaml.Node
		if err := dec.dec.Decode(&doc); err != nil {
			return err.Error() == want && ctx.Err() == nil
		}
	}
}

// firstTrue is the smallest i in [0, n) for which f is true, assuming f
// is false then true (sort.Search's rule), or n when f(n-1) is false.
// f(n-1) is asked first, so an input where nothing fails costs one call.
func firstTrue(n int, f func(int) bool) int {
	if n == 0 || !f(n-1) {
		return n
	}
	lo, hi := 0, n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if f(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// lineEnds is the offset just past each line of data, its newline
// included; a last line without one ends at len(data).
func lineEnds(data []byte) []int {
	var ends []int
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			ends = append(ends, len(data))
			break
		}
		off += i + 1
		ends = append(ends, off)
	}
	return ends
}

// runeEnds is the offset just past each character of line, so a prefix
// never splits a UTF-8 sequence.
func runeEnds(line []byte) []int {
	var ends []int
	for off := 0; off < len(line); {
		_, size := utf8.DecodeRune(line[off:])
		off += size
		ends = append(ends, off)
	}
	return ends
}

// refusedChar reports whether a yaml.v3 message is its reader refusing a
// character (it then names no line).
func refusedChar(msg string) bool {
	for _, s := range []string{"UTF-8", "UTF-16", "Unicode character", "surrogate", "control characters"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// badChar is the line and column of the first character of data that a
// YAML reader refuses: invalid UTF-8, or a character YAML does not allow
// (control characters but tab and line ends, surrogates, U+FFFE/FFFF).
func badChar(data []byte) (line, col int, ok bool) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 || !yamlChar(r) {
			return line, col, true
		}
		data = data[size:]
		col++
		if r == '\n' {
			line, col = line+1, 1
		}
	}
	return 0, 0, false
}

// yamlChar reports whether YAML allows r in a document (its
// c-printable production, as yaml.v3's reader checks it).
func yamlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0x7E || r == 0x85 ||
		r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
