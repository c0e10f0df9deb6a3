package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reproduces ast.literal_eval, which Ansible's INI plugin applies
// to every value, so INI values come out with the types Ansible gives them.
// (Host lines are split with shlex.split(line, comments=True): see
// internal/shlex.)

// iniValue is Ansible's InventoryModule._parse_value: the Python literal the
// text spells (int, float, bool, None, string, list, tuple, dict, set), or
// the text itself when it is not a literal.
func iniValue(s string) any {
	if v, ok := pyLiteral(s); ok {
		return v
	}
	return s
}

// pyLiteral evaluates s like Python's ast.literal_eval. s is one line: the
// INI reader has split the file at every line break (pyLines), which
// around a value Python would take for blank lines.
func pyLiteral(s string) (any, bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, false // Python refuses source text holding a NUL
	}
	p := &pyParser{src: strings.TrimLeft(s, " \t")}
	v, err := p.parseTestList()
	if err != nil {
		return nil, false
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, false
	}
	return v, true
}

type pyParser struct {
	src   string
	pos   int
	depth int // bracket nesting: newlines are whitespace inside brackets
}

var errNotLiteral = errors.New("not a python literal")

func (p *pyParser) skipSpace() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			p.pos++
		case (c == '\n' || c == '\r') && p.depth > 0:
			p.pos++
		case c == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n':
			p.pos += 2
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *pyParser) peek() byte {
	p.skipSpace()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// parseTestList parses "a" or "a, b," (a tuple, returned as a list).
func (p *pyParser) parseTestList() (any, error) {
	first, err := p.parseAtom()
	if err != nil {
		return nil, err
	}
	if p.peek() != ',' {
		return first, nil
	}
	items := []any{first}
	for p.peek() == ',' {
		p.pos++
		if c := p.peek(); c == 0 || c == ')' || c == ']' || c == '}' {
			break
		}
		v, err := p.parseAtom()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

func (p *pyParser) parseAtom() (any, error) {
	if p.depth > 100 {
		return nil, errNotLiteral
	}
	c := p.peek()
	switch {
	case c == 0:
		return nil, errNotLiteral
	case c == '[':
		p.pos++
		return p.parseSeq(']')
	case c == '(':
		p.pos++
		p.depth++
		if p.peek() == ')' {
			p.pos++
			p.depth--
			return []any{}, nil
		}
		v, err := p.parseTestList()
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, errNotLiteral
		}
		p.pos++
		p.depth--
		return v, nil
	case c == '{':
		p.pos++
		return p.parseBrace()
	case c == '-' || c == '+':
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.src) || !(isDigit(p.src[p.pos]) || p.src[p.pos] == '.') {
			return nil, errNotLiteral
		}
		v, err := p.parseNumber()
		if err != nil || c == '+' {
			return v, err
		}
		switch n := v.(type) {
		case int:
			return -n, nil
		case float64:
			return -n, nil
		}
		return nil, errNotLiteral
	case isDigit(c) || (c == '.' && p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1])):
		return p.parseNumber()
	case c == '\'' || c == '"':
		return p.parseStrings()
	case isIdentStart(c):
		start := p.pos
		for p.pos < len(p.src) && (isIdentStart(p.src[p.pos]) || isDigit(p.src[p.pos])) {
			p.pos++
		}
		word := p.src[start:p.pos]
		if p.pos < len(p.src) && (p.src[p.pos] == '\'' || p.src[p.pos] == '"') && isStringPrefix(word) {
			p.pos = start
			return p.parseStrings()
		}
		switch word {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		}
	}
	return nil, errNotLiteral
}

func (p *pyParser) parseSeq(closer byte) (any, error) {
	p.depth++
	items := []any{}
	for {
		if p.peek() == closer {
			p.pos++
			p.depth--
			return items, nil
		}
		v, err := p.parseAtom()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		switch p.peek() {
		case ',':
			p.pos++
		case closer:
		default:
			return nil, errNotLiteral
		}
	}
}

// parseBrace parses a dict ({k: v}) or a set ({a, b}, returned as a list).
func (p *pyParser) parseBrace() (any, error) {
	p.depth++
	if p.peek() == '}' {
		p.pos++
		p.depth--
		return map[string]any{}, nil
	}
	first, err := p.parseAtom()
	if err != nil {
		return nil, err
	}
	if p.peek() != ':' {
		items := []any{first}
		for p.peek() == ',' {
			p.pos++
			if p.peek() == '}' {
				break
			}
			v, err := p.parseAtom()
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		if p.peek() != '}' {
			return nil, errNotLiteral
		}
		p.pos++
		p.depth--
		return items, nil
	}
	m := map[string]any{}
	key := first
	for {
		if p.peek() != ':' {
			return nil, errNotLiteral
		}
		p.pos++
		v, err := p.parseAtom()
		if err != nil {
			return nil, err
		}
		ks, ok := pyKeyString(key)
		if !ok {
			return nil, errNotLiteral
		}
		m[ks] = v
		switch p.peek() {
		case ',':
			p.pos++
			if p.peek() == '}' {
				p.pos++
				p.depth--
				return m, nil
			}
			if key, err = p.parseAtom(); err != nil {
				return nil, err
			}
		case '}':
			p.pos++
			p.depth--
			return m, nil
		default:
			return nil, errNotLiteral
		}
	}
}

// pyKeyString renders a dict key as JSON would (Python json.dumps).
func pyKeyString(k any) (string, bool) {
	switch v := k.(type) {
	case string:
		return v, true
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	}
	return "", false // lists are unhashable in Python
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb":
		return true
	}
	return false
}

func (p *pyParser) parseNumber() (any, error) {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if isDigit(c) || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			p.pos++
			continue
		}
		if (c == '+' || c == '-') && p.pos > start && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E') && !strings.ContainsAny(p.src[start:p.pos], "xXbBoO") {
			p.pos++
			continue
		}
		break
	}
	return pyNumber(p.src[start:p.pos])
}

// pyNumber parses one Python int or float literal token.
func pyNumber(t string) (any, error) {
	if strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
		return nil, errNotLiteral
	}
	lower := strings.ToLower(t)
	if len(lower) > 2 && lower[0] == '0' && strings.ContainsRune("xob", rune(lower[1])) {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[lower[1]]
		digits := strings.ReplaceAll(lower[2:], "_", "")
		n, err := strconv.ParseInt(digits, base, 64)
		if err != nil || digits == "" {
			return nil, errNotLiteral
		}
		return int(n), nil
	}
	clean := strings.ReplaceAll(lower, "_", "")
	if clean == "" {
		return nil, errNotLiteral
	}
	for _, c := range []byte(clean) {
		if !isDigit(c) && c != '.' && c != 'e' && c != '+' && c != '-' {
			return nil, errNotLiteral // includes complex (j) and garbage
		}
	}
	if !strings.ContainsAny(clean, ".e") {
		if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
			return nil, errNotLiteral // 0123 is a SyntaxError in Python 3
		}
		n, err := strconv.ParseInt(clean, 10, 64)
		if err != nil {
			return nil, errNotLiteral
		}
		return int(n), nil
	}
	if strings.Count(clean, ".") > 1 || strings.Contains(clean, "e.") || strings.HasSuffix(clean, "e") {
		return nil, errNotLiteral
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil {
		return nil, errNotLiteral
	}
	return f, nil
}

// parseStrings parses one or more adjacent string literals ("a" 'b').
func (p *pyParser) parseStrings() (any, error) {
	var (
		sb      strings.Builder
		isBytes = -1
	)
	for {
		p.skipSpace()
		start := p.pos
		for p.pos < len(p.src) && isIdentStart(p.src[p.pos]) && p.src[p.pos] < 0x80 {
			p.pos++
		}
		prefix := strings.ToLower(p.src[start:p.pos])
		if p.pos >= len(p.src) || (p.src[p.pos] != '\'' && p.src[p.pos] != '"') || (prefix != "" && !isStringPrefix(prefix)) {
			p.pos = start
			break
		}
		b := 0
		if strings.Contains(prefix, "b") {
			b = 1
		}
		if isBytes >= 0 && isBytes != b {
			return nil, errNotLiteral // cannot mix bytes and str
		}
		isBytes = b
		s, err := p.parseOneString(strings.Contains(prefix, "r"), b == 1)
		if err != nil {
			return nil, err
		}
		sb.WriteString(s)
	}
	if isBytes < 0 {
		return nil, errNotLiteral
	}
	return sb.String(), nil
}

func (p *pyParser) parseOneString(raw, bytesLit bool) (string, error) {
	q := p.src[p.pos]
	delim := string(q)
	if strings.HasPrefix(p.src[p.pos:], strings.Repeat(delim, 3)) {
		delim = strings.Repeat(delim, 3)
	}
	p.pos += len(delim)
	var sb strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", errNotLiteral
		}
		if strings.HasPrefix(p.src[p.pos:], delim) {
			p.pos += len(delim)
			return sb.String(), nil
		}
		c := p.src[p.pos]
		if (c == '\n' || c == '\r') && len(delim) == 1 {
			return "", errNotLiteral
		}
		if c != '\\' {
			r, n := utf8.DecodeRuneInString(p.src[p.pos:])
			if bytesLit && r >= 0x80 {
				return "", errNotLiteral
			}
			sb.WriteRune(r)
			p.pos += n
			continue
		}
		if p.pos+1 >= len(p.src) {
			return "", errNotLiteral
		}
		e := p.src[p.pos+1]
		if raw || e >= utf8.RuneSelf {
			// Kept as written: the backslash and the whole character
			// after it (an escape Python does not know is no escape).
			r, n := utf8.DecodeRuneInString(p.src[p.pos+1:])
			if bytesLit && r >= utf8.RuneSelf {
				return "", errNotLiteral
			}
			sb.WriteByte('\\')
			sb.WriteRune(r)
			p.pos += 1 + n
			continue
		}
		p.pos += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			sb.WriteByte(e)
		case 'a':
			sb.WriteByte('\a')
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
		case 'v':
			sb.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			end := p.pos - 1
			for end < len(p.src) && end < p.pos+2 && p.src[end] >= '0' && p.src[end] <= '7' {
				end++
			}
			n, _ := strconv.ParseUint(p.src[p.pos-1:end], 8, 32)
			sb.WriteRune(rune(n))
			p.pos = end
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if bytesLit && e != 'x' {
				sb.WriteByte('\\')
				sb.WriteByte(e)
				continue
			}
			if p.pos+width > len(p.src) {
				return "", errNotLiteral
			}
			n, err := strconv.ParseUint(p.src[p.pos:p.pos+width], 16, 32)
			if err != nil || n > utf8.MaxRune {
				return "", errNotLiteral
			}
			sb.WriteRune(rune(n))
			p.pos += width
		default:
			sb.WriteByte('\\')
			sb.WriteByte(e)
		}
	}
}

// describe names a value's kind for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
