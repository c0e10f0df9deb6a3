package pki

import (
	"fmt"
	"net"
	"strings"
)

// ClassifySANs sorts subjectAltName values into DNS names and IP addresses.
// Each value is "DNS:name", "IP:addr" (prefixes case-insensitive) or bare,
// in which case an IPv4 or IPv6 literal (brackets allowed) is an IP and
// anything else must be a DNS name (DNSName), possibly under a leading
// "*." wildcard label. DNS names are lower-cased, a trailing dot is
// dropped.
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
			name, err := sanDNSName(v)
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

// DNSName checks that name is a host name a certificate may carry and
// returns it as the certificate carries it: lower case, without a trailing
// dot. It is the one rule sshplay has for DNS names, for the names it puts
// in certificates and for telling which inventory hostnames are names
// (pg.WantedNames). A name:
//   - has 1 to 253 characters in dot-separated labels of 1 to 63;
//   - uses letters, digits, hyphens and underscores, and no label starts
//     or ends with a hyphen. Underscores are in because the verify-full
//     checks that meet these certificates accept them: crypto/x509 (and so
//     pgx and sshplay's own proof) and libpq compare names as written;
//   - is not an IP address, and not made of numbers alone (12345, 10.1,
//     0x7f.1): the C resolver reads those as IPv4 addresses, so a client
//     given that "name" connects to an address, which only an IP entry of
//     the certificate matches.
//
// A wildcard ("*.example.com") is not a host name; ClassifySANs accepts one
// as a certificate entry.
func DNSName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("invalid DNS name %q: length must be 1 to 253", name)
	}
	if net.ParseIP(n) != nil {
		return "", fmt.Errorf("invalid DNS name %q: it is an IP address (use IP:%s)", name, n)
	}
	numeric := true
	for _, l := range strings.Split(n, ".") {
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
		numeric = numeric && numericLabel(l)
	}
	if numeric {
		return "", fmt.Errorf("invalid DNS name %q: made of numbers only, resolvers read it as an IPv4 address", name)
	}
	return n, nil
}

// numericLabel reports whether a lower-case label is a number as inet_aton
// reads one: decimal or octal digits, or 0x and hex digits.
func numericLabel(l string) bool {
	if hex, ok := strings.CutPrefix(l, "0x"); ok {
		return hex != "" && strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(l, "0123456789") == ""
}

// sanDNSName is DNSName for a certificate entry, where a leftmost "*"
// label (a wildcard) is allowed over at least two more labels.
func sanDNSName(name string) (string, error) {
	rest, wild := strings.CutPrefix(name, "*.")
	if !wild {
		return DNSName(name)
	}
	n, err := DNSName(rest)
	if err != nil {
		return "", fmt.Errorf("wildcard %q: %w", name, err)
	}
	if !strings.Contains(n, ".") {
		return "", fmt.Errorf("invalid DNS name %q: a wildcard needs two labels after it", name)
	}
	return "*." + n, nil
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
