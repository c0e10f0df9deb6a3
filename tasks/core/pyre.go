package core

// Ansible's modules take Python regular expressions and Python replacement
// templates (\1, \g<1>, \g<name>). Go's RE2 accepts most Python syntax,
// including (?P<name>...); what it cannot do (look-around, backreferences
// inside the pattern) is reported as an error rather than guessed.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// compilePy compiles a Python regular expression. multiline adds Python's
// re.MULTILINE.
func compilePy(pattern string, multiline bool) (*regexp.Regexp, error) {
	p := pyToRE2(pattern)
	if multiline {
		p = "(?m)" + p
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w (sshplay uses RE2 syntax: no look-around, no backreferences in patterns)", pattern, err)
	}
	return re, nil
}

// pyToRE2 rewrites the few Python spellings RE2 writes differently: \Z
// (end of text) becomes \z.
func pyToRE2(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			if p[i+1] == 'Z' {
				b.WriteString(`\z`)
			} else {
				b.WriteByte(p[i])
				b.WriteByte(p[i+1])
			}
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// pyExpand expands a Python replacement template against a match of re in
// src (submatch indexes m), as Python's match.expand and re.sub do: \1..\99,
// \g<n>, \g<name>, and the escapes \n \t \r \a \f \v \\. A group that did not
// take part in the match expands to "".
func pyExpand(re *regexp.Regexp, tmpl, src string, m []int) (string, error) {
	var b strings.Builder
	group := func(n int) error {
		if n < 0 || 2*n+1 >= len(m) {
			return fmt.Errorf("replacement %q: invalid group reference %d", tmpl, n)
		}
		if m[2*n] >= 0 {
			b.WriteString(src[m[2*n]:m[2*n+1]])
		}
		return nil
	}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '\\' || i+1 == len(tmpl) {
			b.WriteByte(c)
			continue
		}
		i++
		c = tmpl[i]
		switch {
		case c == 'g':
			if i+1 >= len(tmpl) || tmpl[i+1] != '<' {
				return "", fmt.Errorf("replacement %q: missing < after \\g", tmpl)
			}
			end := strings.IndexByte(tmpl[i+2:], '>')
			if end < 0 {
				return "", fmt.Errorf("replacement %q: missing > in \\g<...>", tmpl)
			}
			name := tmpl[i+2 : i+2+end]
			i += 2 + end
			n, err := strconv.Atoi(name)
			if err != nil {
				n = re.SubexpIndex(name)
				if n < 0 {
					return "", fmt.Errorf("replacement %q: unknown group name %q", tmpl, name)
				}
			}
			if err := group(n); err != nil {
				return "", err
			}
		case c >= '1' && c <= '9':
			n := int(c - '0')
			if i+1 < len(tmpl) && tmpl[i+1] >= '0' && tmpl[i+1] <= '9' {
				n = n*10 + int(tmpl[i+1]-'0')
				i++
			}
			if err := group(n); err != nil {
				return "", err
			}
		case c == '0':
			b.WriteByte(0)
		case c == 'n':
			b.WriteByte('\n')
		case c == 't':
			b.WriteByte('\t')
		case c == 'r':
			b.WriteByte('\r')
		case c == 'a':
			b.WriteByte('\a')
		case c == 'f':
			b.WriteByte('\f')
		case c == 'v':
			b.WriteByte('\v')
		case c == '\\':
			b.WriteByte('\\')
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			return "", fmt.Errorf("replacement %q: bad escape \\%c", tmpl, c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// pySubn replaces every match of re in s with the expanded template and
// returns the result and the number of replacements, like Python's re.subn.
func pySubn(re *regexp.Regexp, tmpl, s string) (string, int, error) {
	var b strings.Builder
	last, n := 0, 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		rep, err := pyExpand(re, tmpl, s, m)
		if err != nil {
			return "", 0, err
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(rep)
		last = m[1]
		n++
	}
	b.WriteString(s[last:])
	return b.String(), n, nil
}
