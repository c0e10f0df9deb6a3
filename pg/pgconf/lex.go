package pgconf

import "strings"

// Token kinds of PostgreSQL's guc-file.l lexer.
type tokKind int

const (
	tokID tokKind = iota
	tokQualifiedID
	tokString
	tokUnquoted
	tokInteger
	tokReal
	tokEquals
	tokError
)

type token struct {
	kind       tokKind
	start, end int // byte offsets in the line
	text       string
}

func isLetter(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isUnitLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// lexLine splits one line (no newline) into tokens the way guc-file.l does:
// each pattern is tried, the longest match wins and ties go to the pattern
// listed first (ID, QUALIFIED_ID, STRING, UNQUOTED_STRING, INTEGER, REAL,
// "="). It stops at a comment and returns where the comment starts
// (len(line) if there is none).
func lexLine(line string) (toks []token, commentAt int) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == ' ' || c == '\t' || c == '\r' {
			i++
			continue
		}
		if c == '#' {
			return toks, i
		}
		rest := line[i:]
		best, bestLen := tokError, 0
		for _, cand := range []struct {
			kind tokKind
			n    int
		}{
			{tokID, matchID(rest)},
			{tokQualifiedID, matchQualifiedID(rest)},
			{tokString, matchString(rest)},
			{tokUnquoted, matchUnquoted(rest)},
			{tokInteger, matchInteger(rest)},
			{tokReal, matchReal(rest)},
			{tokEquals, matchByte(rest, '=')},
		} {
			if cand.n > bestLen {
				best, bestLen = cand.kind, cand.n
			}
		}
		if bestLen == 0 {
			bestLen = 1
		}
		toks = append(toks, token{kind: best, start: i, end: i + bestLen, text: line[i : i+bestLen]})
		i += bestLen
	}
	return toks, len(line)
}

func matchByte(s string, b byte) int {
	if len(s) > 0 && s[0] == b {
		return 1
	}
	return 0
}

// matchID: {LETTER}{LETTER_OR_DIGIT}*
func matchID(s string) int {
	if len(s) == 0 || !isLetter(s[0]) {
		return 0
	}
	n := 1
	for n < len(s) && (isLetter(s[n]) || isDigit(s[n])) {
		n++
	}
	return n
}

// matchQualifiedID: {ID}"."{ID}
func matchQualifiedID(s string) int {
	n := matchID(s)
	if n == 0 || n >= len(s) || s[n] != '.' {
		return 0
	}
	m := matchID(s[n+1:])
	if m == 0 {
		return 0
	}
	return n + 1 + m
}

// matchUnquoted: {LETTER}({LETTER_OR_DIGIT}|[-._:/])*
func matchUnquoted(s string) int {
	if len(s) == 0 || !isLetter(s[0]) {
		return 0
	}
	n := 1
	for n < len(s) && (isLetter(s[n]) || isDigit(s[n]) || strings.IndexByte("-._:/", s[n]) >= 0) {
		n++
	}
	return n
}

// matchString: \'([^'\\\n]|\\.|\'\')*\' — the longest match, so a
// quote that could close the string is remembered in case a later doubled quote
// pair never finds its closing quote.
func matchString(s string) int {
	if len(s) == 0 || s[0] != '\'' {
		return 0
	}
	last := 0
	for j := 1; j < len(s); {
		switch s[j] {
		case '\\':
			if j+1 >= len(s) || s[j+1] == '\n' {
				return last
			}
			j += 2
		case '\'':
			last = j + 1
			if j+1 < len(s) && s[j+1] == '\'' {
				j += 2
				continue
			}
			return last
		case '\n':
			return last
		default:
			j++
		}
	}
	return last
}

// matchInteger: {SIGN}?({DIGIT}+|0x{HEXDIGIT}+){UNIT_LETTER}*
func matchInteger(s string) int {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	best := 0
	// decimal digits
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j > i {
		for j < len(s) && isUnitLetter(s[j]) {
			j++
		}
		best = j
	}
	// hexadecimal
	if len(s) > i+2 && s[i] == '0' && s[i+1] == 'x' && isHex(s[i+2]) {
		j = i + 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		for j < len(s) && isUnitLetter(s[j]) {
			j++
		}
		if j > best {
			best = j
		}
	}
	return best
}

// matchReal: {SIGN}?{DIGIT}*"."{DIGIT}*{EXPONENT}?
func matchReal(s string) int {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i >= len(s) || s[i] != '.' {
		return 0
	}
	i++
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '-' || s[j] == '+') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i
}

// deescape turns a quoted string token (with its quotes) into its value, as
// PostgreSQL's DeescapeQuotedString does.
func deescape(tok string) string {
	s := tok[1 : len(tok)-1]
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch d := s[i]; d {
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(d - '0')
				for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
					i++
					v = v*8 + int(s[i]-'0')
				}
				sb.WriteByte(byte(v))
			default:
				sb.WriteByte(d)
			}
		case c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			sb.WriteByte('\'')
			i++
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
