package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// Info is what sshplay needs to know about a certificate.
type Info struct {
	Subject   string
	Issuer    string
	DNSNames  []string
	IPs       []net.IP
	NotBefore time.Time
	NotAfter  time.Time
	// SHA256 of the certificate's DER, lowercase hex without colons: the
	// value to compare with the certificate a server presents.
	SHA256 string
	// KeyAlgo is "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048" (any
	// RSA size), "ed25519" or "unknown".
	KeyAlgo string
	IsCA    bool
	Serial  string // hex
}

// ParseCertificates decodes every CERTIFICATE block in data, in order. Other
// PEM blocks are skipped; at least one certificate is required.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// CertInfo describes the first certificate in certPEM (the leaf of a
// bundle).
func CertInfo(certPEM []byte) (*Info, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	return InfoOf(certs[0]), nil
}

// InfoOf describes a parsed certificate.
func InfoOf(c *x509.Certificate) *Info {
	sum := sha256.Sum256(c.Raw)
	return &Info{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		DNSNames:  append([]string(nil), c.DNSNames...),
		IPs:       append([]net.IP(nil), c.IPAddresses...),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		SHA256:    hex.EncodeToString(sum[:]),
		KeyAlgo:   KeyAlgo(c.PublicKey),
		IsCA:      c.IsCA,
		Serial:    c.SerialNumber.Text(16),
	}
}

// KeyAlgo names a public key the way Info.KeyAlgo does.
func KeyAlgo(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa-" + strings.ToLower(strings.ReplaceAll(k.Curve.Params().Name, "-", ""))
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "ed25519"
	}
	return "unknown"
}

// NeedsRenewal reports whether a certificate described by info must be
// replaced, and why: its DNS names or IPs differ (as sets; DNS compared case
// insensitively) from the wanted ones, it is not valid yet at now, or it
// expires within renewBefore of now. The reason is a short phrase for the
// plan ("names differ: missing DNS:db3.example.com"). It does not check the
// issuer: use VerifyChain for that.
func NeedsRenewal(info *Info, wantDNS []string, wantIPs []net.IP, renewBefore time.Duration, now time.Time) (bool, string) {
	if info == nil {
		return true, "no certificate"
	}
	have := sanSet(info.DNSNames, info.IPs)
	want := sanSet(wantDNS, wantIPs)
	var missing, extra []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	for k := range have {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing "+strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			parts = append(parts, "unwanted "+strings.Join(extra, ", "))
		}
		return true, "names differ: " + strings.Join(parts, "; ")
	}
	if now.Before(info.NotBefore) {
		return true, "not valid before " + info.NotBefore.UTC().Format(time.RFC3339)
	}
	if !now.Before(info.NotAfter) {
		return true, "expired on " + info.NotAfter.UTC().Format(time.RFC3339)
	}
	if info.NotAfter.Sub(now) < renewBefore {
		return true, fmt.Sprintf("expires on %s (within %s)", info.NotAfter.UTC().Format(time.RFC3339), renewBefore)
	}
	return false, ""
}

func sanSet(dns []string, ips []net.IP) map[string]bool {
	m := map[string]bool{}
	for _, d := range dns {
		m["DNS:"+strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	for _, ip := range ips {
		m["IP:"+ip.String()] = true
	}
	return m
}

// PublicKeyMatches reports whether the first certificate in certPEM carries
// the given public key. pub may be a PEM "PUBLIC KEY" (what `openssl pkey
// -pubout` prints), a PEM certificate request, or PKIX DER.
func PublicKeyMatches(certPEM, pub []byte) (bool, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return false, err
	}
	var key crypto.PublicKey
	if block, _ := pem.Decode(pub); block != nil {
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
			var csr *x509.CertificateRequest
			if csr, err = x509.ParseCertificateRequest(block.Bytes); err == nil {
				key = csr.PublicKey
			}
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return false, fmt.Errorf("public key: unexpected PEM block %q", block.Type)
		}
	} else {
		key, err = x509.ParsePKIXPublicKey(pub)
	}
	if err != nil {
		return false, fmt.Errorf("public key: %w", err)
	}
	return publicKeysEqual(certs[0].PublicKey, key), nil
}

// VerifyChain checks that the first certificate in leafPEM chains to the
// root in rootPEM, through the intermediates in chainPEM and any further
// certificates in leafPEM (so a server.crt bundle can be passed as is), is
// valid now for serverAuth and, when host is not empty, matches host (a DNS
// name or an IP literal) the way Go clients with verify-full check it.
func VerifyChain(leafPEM, chainPEM, rootPEM []byte, host string) error {
	return verifyChainAt(leafPEM, chainPEM, rootPEM, host, time.Time{})
}

func verifyChainAt(leafPEM, chainPEM, rootPEM []byte, host string, now time.Time) error {
	certs, err := ParseCertificates(leafPEM)
	if err != nil {
		return fmt.Errorf("verify: leaf: %w", err)
	}
	roots := x509.NewCertPool()
	rs, err := ParseCertificates(rootPEM)
	if err != nil {
		return fmt.Errorf("verify: root: %w", err)
	}
	for _, r := range rs {
		roots.AddCert(r)
	}
	inters := x509.NewCertPool()
	for _, c := range certs[1:] {
		inters.AddCert(c)
	}
	if len(chainPEM) > 0 {
		cs, err := ParseCertificates(chainPEM)
		if err != nil {
			return fmt.Errorf("verify: chain: %w", err)
		}
		for _, c := range cs {
			inters.AddCert(c)
		}
	}
	_, err = certs[0].Verify(x509.VerifyOptions{
		DNSName:       strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"),
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// Object identifiers of the Edwards-curve algorithms (RFC 8410), DER
// encoded with their tag and length.
var (
	oidEd25519DER = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}
	oidEd448DER   = []byte{0x06, 0x03, 0x2b, 0x65, 0x71}
)

// EdwardsInChain names the first Ed25519 or Ed448 key or signature in the
// PEM certificates given (leaf, intermediates, root), "" when there is
// none. PostgreSQL servers must not use them: libpq's SCRAM channel
// binding fails with them ("could not find digest for NID UNDEF"), and
// channel binding is tried by default.
func EdwardsInChain(pems ...[]byte) string {
	for _, p := range pems {
		certs, err := ParseCertificates(p)
		if err != nil {
			continue
		}
		for _, c := range certs {
			name := c.Subject.CommonName
			switch {
			case c.PublicKeyAlgorithm == x509.Ed25519:
				return fmt.Sprintf("certificate %q has an Ed25519 key", name)
			case c.SignatureAlgorithm == x509.PureEd25519:
				return fmt.Sprintf("certificate %q is signed with Ed25519", name)
			case c.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm && bytes.Contains(c.RawSubjectPublicKeyInfo, oidEd448DER):
				return fmt.Sprintf("certificate %q has an Ed448 key", name)
			case c.SignatureAlgorithm == x509.UnknownSignatureAlgorithm && bytes.Contains(c.RawTBSCertificate[:min(len(c.RawTBSCertificate), 48)], oidEd448DER):
				return fmt.Sprintf("certificate %q is signed with Ed448", name)
			case c.SignatureAlgorithm == x509.UnknownSignatureAlgorithm && bytes.Contains(c.RawTBSCertificate[:min(len(c.RawTBSCertificate), 48)], oidEd25519DER):
				return fmt.Sprintf("certificate %q is signed with Ed25519", name)
			}
		}
	}
	return ""
}
