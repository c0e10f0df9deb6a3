package inventory

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// This file follows ansible/inventory/manager.py: split_host_pattern,
// order_patterns, _evaluate_patterns, _match_one_pattern and subscripts.

var (
	rePatternSplit = regexp.MustCompile(`(?:[^\s:\[\]]|\[[^\]]*\])+`)
	reSubscript    = regexp.MustCompile(`^(.+)\[(?:(-?[0-9]+)|([0-9]*)([:-])([0-9]*))\]$`)
)

// splitPattern splits "a,b" or "a:b:&c:!d" into single patterns. A
// pattern with a comma is split on commas only; without one, a text that
// parses as a single address (an IPv6 address, host:port, a host range)
// stays whole, otherwise ':' separates. A '[' without its ']' (or the
// reverse) is an *Error naming the pattern: dropping it would turn
// "~db0[" into "~db0" and silently select more hosts.
func splitPattern(pattern string) ([]string, error) {
	var parts []string
	switch {
	case strings.Contains(pattern, ","):
		parts = strings.Split(pattern, ",")
	default:
		if _, _, ok := parseAddress(pattern); ok {
			parts = []string{pattern}
			break
		}
		parts = rePatternSplit.FindAllString(pattern, -1)
		// What the split skipped must be separators only.
		if rest := rePatternSplit.ReplaceAllString(pattern, ""); strings.Trim(rest, ": \t\r\n") != "" {
			return nil, badBrackets(pattern)
		}
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			if !bracketsBalanced(p) {
				return nil, badBrackets(pattern)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func badBrackets(pattern string) *Error {
	return &Error{Msg: fmt.Sprintf("invalid host pattern %q: unbalanced [ ]", pattern)}
}

// bracketsBalanced reports whether every '[' in s is closed by a later ']'.
func bracketsBalanced(s string) bool {
	depth := 0
	for _, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// orderPatterns puts unions first, then intersections (&), then exclusions
// (!); with no union, "all" is implied.
func orderPatterns(ps []string) []string {
	var reg, and, not []string
	for _, p := range ps {
		switch p[0] {
		case '!':
			not = append(not, p)
		case '&':
			and = append(and, p)
		default:
			reg = append(reg, p)
		}
	}
	if len(reg) == 0 {
		reg = []string{"all"}
	}
	return append(append(reg, and...), not...)
}

// Match returns the hosts a pattern selects, in Ansible's order: "all" or
// "*", host or group names, globs (web*, *.example.com), ~regex, a:b or a,b
// (union), a:&b (intersection), a:!b (exclusion), and subscripts on a group
// (web[0], web[-1], web[1:3] inclusive, web[:2], web[1:]). A term that
// matches no group and no host, or a pattern that selects nothing, is a
// *NoMatchError (Ansible only warns about such a term; a typo in an
// exclusion would otherwise silently widen the run); a bad regex or
// subscript is an *Error.
func (inv *Inventory) Match(pattern string) ([]*Host, error) {
	parts, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, &Error{Msg: fmt.Sprintf("empty host pattern %q", pattern)}
	}
	hosts, err := inv.evaluate(parts)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, inv.noMatch(pattern)
	}
	return hosts, nil
}

func (inv *Inventory) noMatch(pattern string) *NoMatchError {
	return &NoMatchError{Pattern: pattern, Groups: inv.userGroups()}
}

func (inv *Inventory) evaluate(parts []string) ([]*Host, error) {
	var hosts []*Host
	for _, p := range orderPatterns(parts) {
		if h, ok := inv.hostByName[p]; ok {
			hosts = appendNew(hosts, []*Host{h})
			continue
		}
		that, err := inv.matchOne(p)
		if err != nil {
			return nil, err
		}
		switch p[0] {
		case '!':
			set := hostSet(that)
			hosts = filterHosts(hosts, func(h *Host) bool { return !set[h] })
		case '&':
			set := hostSet(that)
			hosts = filterHosts(hosts, func(h *Host) bool { return set[h] })
		default:
			hosts = appendNew(hosts, that)
		}
	}
	return hosts, nil
}

// matchOne resolves one term, without its & or ! prefix.
func (inv *Inventory) matchOne(pattern string) ([]*Host, error) {
	p := pattern
	if p[0] == '&' || p[0] == '!' {
		// "!\vweb" is "!web": blanks after the operator go, as the
		// whole pattern's blanks do (strings.TrimSpace, which also
		// knows \v and the Unicode blanks the split leaves in a term).
		p = strings.TrimSpace(p[1:])
	}
	if p == "" {
		return nil, &Error{Msg: fmt.Sprintf("empty host pattern after %q", pattern[:1])}
	}
	expr, sub, err := splitSubscript(p)
	if err != nil {
		return nil, err
	}
	hosts, matchedAny, err := inv.enumerate(expr)
	if err != nil {
		return nil, err
	}
	if !matchedAny {
		return nil, inv.noMatch(p)
	}
	if sub == nil || len(hosts) == 0 {
		return hosts, nil
	}
	out, ok := sub.apply(hosts)
	if !ok {
		return nil, &NoMatchError{Pattern: p, Groups: inv.userGroups()}
	}
	return out, nil
}

// enumerate matches group names first; host names are tried too when no
// group matched or the pattern is a regex or glob. matchedAny tells whether
// any group or host matched at all.
func (inv *Inventory) enumerate(pattern string) ([]*Host, bool, error) {
	re, err := compilePattern(pattern)
	if err != nil {
		return nil, false, err
	}
	var out []*Host
	matchedGroup := false
	for _, g := range inv.groups {
		if re.MatchString(g.Name) {
			matchedGroup = true
			out = appendNew(out, inv.groupHosts(g))
		}
	}
	matchedHost := false
	if !matchedGroup || pattern[0] == '~' || strings.ContainsAny(pattern, ".?*[") {
		for _, h := range inv.hosts {
			if re.MatchString(h.Name) {
				matchedHost = true
				out = appendNew(out, []*Host{h})
			}
		}
	}
	return out, matchedGroup || matchedHost, nil
}

// compilePattern turns "~regex" (matched at the start, as Python's
// re.match) or a shell glob (matched whole) into a regexp.
func compilePattern(p string) (*regexp.Regexp, error) {
	if p[0] == '~' {
		if _, err := regexp.Compile(p[1:]); err != nil {
			return nil, &Error{Msg: fmt.Sprintf("invalid host pattern %q: %v", p, err)}
		}
		re, err := regexp.Compile(`^(?:` + p[1:] + `)`)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("invalid host pattern %q: %v", p, err)}
		}
		return re, nil
	}
	re, err := regexp.Compile(`^(?s:` + globToRegexp(p) + `)\z`)
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("invalid host pattern %q: %v", p, err)}
	}
	return re, nil
}

// globToRegexp is Python's fnmatch.translate.
func globToRegexp(pat string) string {
	var sb strings.Builder
	for i := 0; i < len(pat); {
		c := pat[i]
		i++
		switch c {
		case '*':
			sb.WriteString(".*")
		case '?':
			sb.WriteString(".")
		case '[':
			j := i
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				sb.WriteString(`\[`)
				continue
			}
			stuff := pat[i:j]
			i = j + 1
			neg := strings.HasPrefix(stuff, "!")
			if neg {
				stuff = stuff[1:]
			}
			stuff = strings.ReplaceAll(stuff, `\`, `\\`)
			stuff = strings.ReplaceAll(stuff, `[`, `\[`)
			stuff = strings.ReplaceAll(stuff, `]`, `\]`)
			if stuff == "" {
				if neg {
					sb.WriteString(".") // [!] matches any character
				} else {
					sb.WriteString("[^\\x00-\\x{10FFFF}]") // [] matches nothing
				}
				continue
			}
			if strings.HasPrefix(stuff, "^") {
				stuff = `\` + stuff
			}
			if neg {
				sb.WriteString("[^" + stuff + "]")
			} else {
				sb.WriteString("[" + stuff + "]")
			}
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return sb.String()
}

type subscript struct {
	start, end int
	single     bool
}

// splitSubscript splits "web[1:3]" into "web" and its subscript.
func splitSubscript(p string) (string, *subscript, error) {
	if p[0] == '~' {
		return p, nil, nil
	}
	m := reSubscript.FindStringSubmatch(p)
	if m == nil {
		return p, nil, nil
	}
	bad := func() (string, *subscript, error) {
		return "", nil, &Error{Msg: fmt.Sprintf("invalid subscript in host pattern %q", p)}
	}
	if m[2] != "" {
		n, err := strconv.Atoi(m[2])
		if err != nil {
			return bad()
		}
		return m[1], &subscript{start: n, single: true}, nil
	}
	start, end := 0, -1
	var err error
	if m[3] != "" {
		if start, err = strconv.Atoi(m[3]); err != nil {
			return bad()
		}
	}
	if m[5] != "" {
		if end, err = strconv.Atoi(m[5]); err != nil {
			return bad()
		}
	}
	return m[1], &subscript{start: start, end: end}, nil
}

// apply selects hosts as Ansible's _apply_subscript: [i] is one host
// (negative counts from the end), [a:b] is inclusive, [a:] runs to the end.
// ok is false when a single index is out of range.
func (s *subscript) apply(hosts []*Host) ([]*Host, bool) {
	n := len(hosts)
	if s.single || s.end == 0 {
		i := s.start
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, false
		}
		return []*Host{hosts[i]}, true
	}
	end := s.end
	if end == -1 {
		end = n - 1
	}
	start := min(s.start, n)
	stop := min(end+1, n)
	if stop < start {
		return nil, true
	}
	return hosts[start:stop], true
}

// Limit narrows hosts to those the limit pattern selects, as --limit does:
// same syntax as Match, and an "@file" term reads one pattern per line. An
// empty limit keeps hosts as they are; a limit that leaves nothing is a
// *NoMatchError.
func (inv *Inventory) Limit(hosts []*Host, limit string) ([]*Host, error) {
	if strings.TrimSpace(limit) == "" {
		return hosts, nil
	}
	terms, err := splitPattern(limit)
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, p := range terms {
		if !strings.HasPrefix(p, "@") {
			parts = append(parts, p)
			continue
		}
		data, err := os.ReadFile(p[1:])
		if err != nil {
			return nil, &Error{File: p[1:], Msg: fmt.Sprintf("limit file: %v", unwrapPathError(err))}
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				parts = append(parts, line)
			}
		}
	}
	if len(parts) == 0 {
		return nil, &Error{Msg: fmt.Sprintf("limit %q names no host", limit)}
	}
	subset, err := inv.evaluate(parts)
	if err != nil {
		return nil, err
	}
	set := hostSet(subset)
	out := filterHosts(hosts, func(h *Host) bool { return set[h] })
	if len(out) == 0 {
		return nil, inv.noMatch(limit)
	}
	return out, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func hostSet(hs []*Host) map[*Host]bool {
	m := make(map[*Host]bool, len(hs))
	for _, h := range hs {
		m[h] = true
	}
	return m
}

func filterHosts(hs []*Host, keep func(*Host) bool) []*Host {
	var out []*Host
	for _, h := range hs {
		if keep(h) {
			out = append(out, h)
		}
	}
	return out
}

// appendNew appends the hosts of add not yet in hs.
func appendNew(hs, add []*Host) []*Host {
	seen := hostSet(hs)
	for _, h := range add {
		if !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	return hs
}
