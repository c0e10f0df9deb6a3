package pki

import (
	"fmt"
	"net"
	"strings"
)

// ClassifySANs sorts subjectAltName values into DNS names and IP addresses.
// Each value is "DNS:name", "IP:addr" (prefixes case-insensitive) or bare,
// in which case an IPv4 or IPv6 literal (brackets allowed) is an IP and
// anything else must be a valid DNS name. DNS names are lower-cased, a
// trailing dot is dropped, a leading "*." wildcard label is allowed.
// Duplicates are removed; order is kept.
func ClassifySANs(values []string) (dns []string, ips []net.IP, err error) {
	for _, v := range values {
		v = strings.TrimSpace(v)
		kind := ""
		if i := strings.IndexByte(v, ':'); i > 0 {
			switch strings.ToUpper(v[:i]) {
			case "DNS":
				kind, v = "dns", strings.TrimSpace(v[i+1:])
			case "IP", "IP ADDRESS":
				kind, v = "ip", strings.TrimSpace(v[i+1:])
			}
		}
		if v == "" {
			return nil, nil, fmt.Errorf("empty subjectAltName value")
		}
		ip := parseIP(v)
		switch {
		case kind == "ip" && ip == nil:
			return nil, nil, fmt.Errorf("subjectAltName %q: not an IP address", v)
		case kind == "ip" || (kind == "" && ip != nil):
			ips = appendUniqueIP(ips, ip)
		default:
			name, err := normalizeDNSName(v)
			if err != nil {
				return nil, nil, err
			}
			dns = appendUnique(dns, name)
		}
	}
	return dns, ips, nil
}

func parseIP(s string) net.IP {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if strings.Contains(s, "%") { // zoned addresses cannot go in a certificate
		return nil
	}
	return net.ParseIP(s)
}

// normalizeDNSName validates a DNS name for a certificate and returns it in
// canonical form (lower case, no trailing dot).
func normalizeDNSName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("invalid DNS name %q: length must be 1 to 253", name)
	}
	if net.ParseIP(n) != nil {
		return "", fmt.Errorf("invalid DNS name %q: it is an IP address (use IP:%s)", name, n)
	}
	labels := strings.Split(n, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("invalid DNS name %q: empty or over-long label", name)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("invalid DNS name %q: label %q starts or ends with a hyphen", name, l)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("invalid DNS name %q: character %q not allowed", name, c)
			}
		}
	}
	return n, nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func appendUniqueIP(list []net.IP, ip net.IP) []net.IP {
	for _, x := range list {
		if x.Equal(ip) {
			return list
		}
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return append(list, ip)
}
