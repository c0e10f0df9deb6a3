package pg

import (
	"fmt"
	"net"
	"strings"

	"github.com/sshplay/sshplay/pki"
)

// SANInput is where a server certificate's names come from: the inventory.
type SANInput struct {
	InventoryHostname string
	AnsibleHost       string
	PGHost            string
	// Extra are the entries of tls_san (names or addresses).
	Extra []string
}

// Names are the DNS names and IP addresses a certificate must carry.
type Names struct {
	DNS []string
	IPs []net.IP
}

// WantedNames selects the certificate names, each once, in this order: the
// inventory hostname, ansible_host and pg_host, each when it is an address
// or a DNS name by pki.DNSName (an inventory alias that is neither is left
// out), then every tls_san entry. Go's verify-full ignores the CN and
// matches an IP only against IP SANs, so every address clients use must be
// here. tls_san entries are "DNS:name", "IP:addr" or bare values
// classified by pki.ClassifySANs; an entry that is neither a valid name
// nor an address is an error (never dropped silently).
func WantedNames(in SANInput) (Names, error) {
	var n Names
	seen := map[string]bool{}
	addIP := func(ip net.IP) {
		key := "ip:" + ip.String()
		if !seen[key] {
			seen[key] = true
			n.IPs = append(n.IPs, ip)
		}
	}
	addDNS := func(s string) {
		s = strings.ToLower(strings.TrimSuffix(s, "."))
		if !seen["dns:"+s] {
			seen["dns:"+s] = true
			n.DNS = append(n.DNS, s)
		}
	}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
			addIP(ip)
			return
		}
		if name, err := pki.DNSName(s); err == nil {
			addDNS(name)
		}
	}
	add(in.InventoryHostname)
	add(in.AnsibleHost)
	add(in.PGHost)
	for _, e := range in.Extra {
		if strings.TrimSpace(e) == "" {
			continue
		}
		dns, ips, err := pki.ClassifySANs([]string{e})
		if err != nil {
			return n, fmt.Errorf("tls_san entry %q: %w", e, err)
		}
		for _, ip := range ips {
			addIP(ip)
		}
		for _, d := range dns {
			addDNS(d)
		}
	}
	return n, nil
}

// CommonName is the subject CN for the CSR: the first DNS name, else the
// first IP, else fallback.
func (n Names) CommonName(fallback string) string {
	if len(n.DNS) > 0 {
		return n.DNS[0]
	}
	if len(n.IPs) > 0 {
		return n.IPs[0].String()
	}
	return fallback
}

// String lists the names as "DNS:a, IP:1.2.3.4".
func (n Names) String() string {
	return strings.Join(n.ext(", "), ", ")
}

// SubjectAltName is the value for openssl's subjectAltName extension.
func (n Names) SubjectAltName() string {
	return strings.Join(n.ext(""), ",")
}

func (n Names) ext(string) []string {
	var out []string
	for _, d := range n.DNS {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range n.IPs {
		out = append(out, "IP:"+ip.String())
	}
	return out
}

// Equal reports whether a certificate's names are exactly n (order and case
// of DNS names ignored).
func (n Names) Equal(dns []string, ips []net.IP) bool {
	if len(dns) != len(n.DNS) || len(ips) != len(n.IPs) {
		return false
	}
	want := map[string]int{}
	for _, d := range n.DNS {
		want["d:"+strings.ToLower(d)]++
	}
	for _, ip := range n.IPs {
		want["i:"+ip.String()]++
	}
	for _, d := range dns {
		want["d:"+strings.ToLower(d)]--
	}
	for _, ip := range ips {
		want["i:"+ip.String()]--
	}
	for _, v := range want {
		if v != 0 {
			return false
		}
	}
	return true
}

// Addresses are the hosts clients connect to (pg_host, then ansible_host),
// each once; the proof connects to every one.
func Addresses(pgHost, ansibleHost string) []string {
	var out []string
	for _, a := range []string{pgHost, ansibleHost} {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == a {
				dup = true
			}
		}
		if !dup {
			out = append(out, a)
		}
	}
	return out
}
