package pki

import (
	"crypto/x509"
	"net"
	"strings"
	"testing"
)

// TestDNSNameRule pins the one DNS-name rule: what it accepts (and how it
// writes it), what it refuses and why. Every accepted name is also one
// crypto/x509, which pgx's verify-full uses, matches in a certificate.
func TestDNSNameRule(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "db01", want: "db01"},
		{in: "DB01.Example.COM.", want: "db01.example.com"},
		{in: "db-01.lan", want: "db-01.lan"},
		{in: "db_01", want: "db_01"},
		{in: "_pg._tcp.example.com", want: "_pg._tcp.example.com"},
		{in: "1db.example", want: "1db.example"},
		{in: "db.1", want: "db.1"},
		{in: "0xg1", want: "0xg1"},
		{in: "0x", want: "0x"},
		{in: strings.Repeat("a", 63) + ".lan", want: strings.Repeat("a", 63) + ".lan"},
		{in: "", err: "length"},
		{in: ".", err: "length"},
		{in: strings.Repeat("a.", 127) + "ab", err: "length"},
		{in: strings.Repeat("a", 64) + ".lan", err: "over-long label"},
		{in: "a..b", err: "empty"},
		{in: ".a", err: "empty"},
		{in: "-db.lan", err: "hyphen"},
		{in: "db-.lan", err: "hyphen"},
		{in: "db 01", err: "not allowed"},
		{in: "db!", err: "not allowed"},
		{in: "*.example.com", err: "not allowed"},
		{in: "bücher.de", err: "not allowed"},
		{in: "127.0.0.1", err: "IP address"},
		{in: "::1", err: "IP address"},
		{in: "12345", err: "numbers only"},
		{in: "10.1", err: "numbers only"},
		{in: "1.2.3.4.5", err: "numbers only"},
		{in: "0x7f.1", err: "numbers only"},
		{in: "0xdb", err: "numbers only"},
		{in: "0X7F.0.0.1", err: "numbers only"},
	} {
		got, err := DNSName(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("DNSName(%q) = %q, %v; want an error saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("DNSName(%q) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		cert := &x509.Certificate{DNSNames: []string{got}}
		if err := cert.VerifyHostname(c.in); err != nil {
			t.Errorf("crypto/x509 does not match %q against %q: %v", c.in, got, err)
		}
	}
}

// TestSANWildcard: a certificate entry may start with a "*" label over two
// or more labels that are a DNS name.
func TestSANWildcard(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"*.db.example.com":  "*.db.example.com",
		"*.DB.example.com.": "*.db.example.com",
		"*.com":             "",
		"*.*.example.com":   "",
		"x.*.example.com":   "",
		"*":                 "",
		"*.10.1":            "",
	} {
		got, err := sanDNSName(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("sanDNSName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzDNSName: a name the rule accepts comes back lower case, without a
// trailing dot, unchanged by a second pass, and crypto/x509 matches the
// name as given against a certificate holding it; ClassifySANs gives
// back only what the rule accepts.
func FuzzDNSName(f *testing.F) {
	for _, s := range []string{"db01", "DB01.Example.COM.", "db_01", "*.db.example.com", "10.1", "0x7f.1", "::1", "a..b", "-a", "bücher.de", "IP:10.0.0.1", "DNS:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := DNSName(s); err == nil {
			if again, err := DNSName(n); err != nil || again != n || n != strings.ToLower(n) || strings.HasSuffix(n, ".") || net.ParseIP(n) != nil {
				t.Fatalf("DNSName(%q) = %q, and again %q, %v", s, n, again, err)
			}
			cert := &x509.Certificate{DNSNames: []string{n}}
			if err := cert.VerifyHostname(s); err != nil {
				t.Fatalf("crypto/x509 does not match %q against %q: %v", s, n, err)
			}
		}
		dns, ips, err := ClassifySANs([]string{s})
		if err != nil {
			return
		}
		if len(dns)+len(ips) != 1 {
			t.Fatalf("ClassifySANs(%q) = %q %v", s, dns, ips)
		}
		for _, d := range dns {
			if n, err := sanDNSName(d); err != nil || n != d {
				t.Fatalf("ClassifySANs(%q) gives %q, which the rule reads as %q, %v", s, d, n, err)
			}
		}
	})
}
