package inventory

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// This file follows ansible/parsing/utils/addresses.py (parse_address) and
// expand_hostname_range from ansible/plugins/inventory/__init__.py.

const (
	numericRange = `\[[0-9]+:[0-9]+(?::[0-9]+)?\]`
	hexRange     = `\[[0-9a-fA-F]+:[0-9a-fA-F]+(?::[0-9]+)?\]`
	alnumRange   = `\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	wordChar     = `[\p{L}\p{N}_]`
	label        = `(?:` + wordChar + `|` + alnumRange + `)(?:` + wordChar + `|-|` + alnumRange + `)*`
	ipv4Part     = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numericRange + `)`
)

var (
	reBracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)
	reHostPort          = regexp.MustCompile(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)
	reIPv4              = regexp.MustCompile(`^(?:` + ipv4Part + `\.){3}` + ipv4Part + `$`)
	reHostname          = regexp.MustCompile(`^` + label + `(?:\.` + label + `)*$`)
	reHexRange          = regexp.MustCompile(hexRange)
)

// parseAddress splits "host:port", "[v6]:port" or a bare host (possibly
// with [x:y] ranges) into host and port (0 when none). ok is false when the
// text is not a host identifier Ansible would recognise.
func parseAddress(s string) (host string, port int, ok bool) {
	for _, re := range []*regexp.Regexp{reBracketedHostPort, reHostPort} {
		if m := re.FindStringSubmatch(s); m != nil {
			p, err := strconv.Atoi(m[2])
			if err != nil || p > 65535 {
				return "", 0, false
			}
			s, port = m[1], p
		}
	}
	if reIPv4.MatchString(s) || isIPv6(s) || isHostname(s) {
		return s, port, true
	}
	return "", 0, false
}

func isIPv6(s string) bool {
	if !strings.Contains(s, ":") {
		return false
	}
	ip := net.ParseIP(reHexRange.ReplaceAllString(s, "0"))
	return ip != nil && strings.Contains(s, ":")
}

func isHostname(s string) bool {
	if !reHostname.MatchString(s) {
		return false
	}
	// Ansible's (?<![_-]): no label ends in '-' or '_'.
	for _, l := range strings.Split(s, ".") {
		if strings.HasSuffix(l, "-") || strings.HasSuffix(l, "_") {
			return false
		}
	}
	return true
}

// maxRangeHosts bounds what one host line may expand to.
const maxRangeHosts = 1 << 20

// expandHostPattern turns one inventory host entry (db[01:03]:2222) into
// host names and a port, as Ansible's _expand_hostpattern does.
func expandHostPattern(s string) ([]string, int, error) {
	host, port, ok := parseAddress(s)
	if !ok {
		host, port = s, 0
	}
	if strings.TrimSpace(host) == "---" {
		return nil, 0, fmt.Errorf("invalid host pattern %q: '---' is normally a sign this is a YAML file", s)
	}
	if !strings.Contains(host, "[") {
		return []string{host}, port, nil
	}
	var out []string
	if err := expandRange(host, &out); err != nil {
		return nil, 0, fmt.Errorf("host range %q: %w", s, err)
	}
	return out, port, nil
}

const asciiLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func expandRange(line string, out *[]string) error {
	i := strings.IndexByte(line, '[')
	if i < 0 {
		*out = append(*out, line)
		return nil
	}
	j := strings.IndexByte(line, ']')
	if j < i {
		return fmt.Errorf("unbalanced brackets")
	}
	head, nrange, tail := line[:i], line[i+1:j], line[j+1:]
	bounds := strings.Split(nrange, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return fmt.Errorf("want [begin:end] or [begin:end:step], got [%s]", nrange)
	}
	beg, end, step := bounds[0], bounds[1], 1
	if len(bounds) == 3 {
		n, err := strconv.Atoi(strings.TrimSpace(bounds[2]))
		if err != nil || n < 1 {
			return fmt.Errorf("step %q is not a positive integer", bounds[2])
		}
		step = n
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return fmt.Errorf("range must specify an end value")
	}
	width := 0
	if len(beg) > 1 && beg[0] == '0' {
		if len(beg) != len(end) {
			return fmt.Errorf("begin %q and end %q must have the same width when zero-padded", beg, end)
		}
		width = len(beg)
	}
	var seq []string
	bi, ei := strings.Index(asciiLetters, beg), strings.Index(asciiLetters, end)
	if len(beg) == 1 && len(end) == 1 && bi >= 0 && ei >= 0 {
		if bi > ei {
			return fmt.Errorf("begin %q is after end %q", beg, end)
		}
		for k := bi; k <= ei; k += step {
			seq = append(seq, asciiLetters[k:k+1])
		}
	} else {
		b, err1 := strconv.Atoi(strings.TrimSpace(beg))
		e, err2 := strconv.Atoi(strings.TrimSpace(end))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("[%s] is neither a numeric nor a single-letter range", nrange)
		}
		if b > e {
			return fmt.Errorf("begin %d is after end %d", b, e)
		}
		if (e-b)/step+1 > maxRangeHosts {
			return fmt.Errorf("range expands to more than %d hosts", maxRangeHosts)
		}
		for k := b; k <= e; k += step {
			s := strconv.Itoa(k)
			for len(s) < width {
				s = "0" + s
			}
			seq = append(seq, s)
		}
	}
	for _, s := range seq {
		if len(*out) > maxRangeHosts {
			return fmt.Errorf("range expands to more than %d hosts", maxRangeHosts)
		}
		if err := expandRange(head+s+tail, out); err != nil {
			return err
		}
	}
	return nil
}
