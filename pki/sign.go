package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"
)

// SignRequest says what goes into a leaf certificate. The names come from
// here (the inventory), never from the CSR.
type SignRequest struct {
	// DNSNames and IPs become the subjectAltName; at least one is required.
	// Clients connecting with verify-full need every name and address they
	// use listed here (Go ignores the CN, and matches IPs only to IP SANs).
	DNSNames []string
	IPs      []net.IP
	// CommonName of the subject; empty means the first DNS name (else the
	// first IP).
	CommonName string
	// Days the leaf stays valid; 0 means DefaultLeafDays. The leaf never
	// outlives its issuer: NotAfter is clipped to the issuer's.
	Days int
	// Now is the issue time; zero means time.Now().
	Now time.Time
	// ByRoot signs with the root even when the CA has an intermediate: a
	// job that no longer wants an intermediate (tls_intermediate: false)
	// must get leaves that chain to the root alone. The leaf then goes to
	// ssl_cert_file without ChainPEM.
	ByRoot bool
}

// ErrBadCSR is wrapped by Sign's errors about the CSR itself (unparsable,
// bad signature, refused key type or size).
var ErrBadCSR = errors.New("bad certificate request")

// Sign issues a serverAuth leaf certificate for the public key in csrPEM
// and returns it PEM encoded (the leaf alone; append ChainPEM for
// ssl_cert_file). The CSR's signature is checked, then only its public key
// is used. Ed25519/Ed448 keys, RSA keys under 2048 bits and elliptic curves
// other than P-256/P-384/P-521 are refused. The intermediate signs when
// there is one (unless req.ByRoot), else the root.
func (ca *CA) Sign(csrPEM []byte, req SignRequest) ([]byte, error) {
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	if err := checkLeafKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	leaf, err := req.leaf()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	issuer, key := ca.signer()
	if req.ByRoot {
		issuer, key = ca.root, ca.rootKey
	}
	if !leaf.now.Before(issuer.NotAfter) {
		return nil, fmt.Errorf("sign: issuer %q expired on %s", issuer.Subject.CommonName, issuer.NotAfter.Format(time.RFC3339))
	}
	notAfter := leaf.now.AddDate(0, 0, leaf.days)
	if notAfter.After(issuer.NotAfter) {
		notAfter = issuer.NotAfter
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	ski, err := subjectKeyID(csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := csr.PublicKey.(*rsa.PublicKey); isRSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: leaf.cn},
		NotBefore:             leaf.now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              leaf.dns,
		IPAddresses:           leaf.ips,
		SubjectKeyId:          ski,
		AuthorityKeyId:        issuer.SubjectKeyId,
		SignatureAlgorithm:    sigAlgFor(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, csr.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return pemCert(der), nil
}

// leafFields are a SignRequest checked and with its defaults applied.
type leafFields struct {
	dns  []string
	ips  []net.IP
	cn   string
	days int
	now  time.Time
}

// leaf checks the request (names required and valid, days not negative)
// and applies the defaults.
func (req SignRequest) leaf() (*leafFields, error) {
	if len(req.DNSNames) == 0 && len(req.IPs) == 0 {
		return nil, errors.New("no DNS names or IP addresses requested")
	}
	l := &leafFields{days: req.Days, now: req.Now, cn: req.CommonName}
	for _, n := range req.DNSNames {
		c, err := sanDNSName(n)
		if err != nil {
			return nil, err
		}
		l.dns = appendUnique(l.dns, c)
	}
	for _, ip := range req.IPs {
		if ip == nil || (ip.To4() == nil && len(ip) != net.IPv6len) {
			return nil, fmt.Errorf("invalid IP address %v", ip)
		}
		l.ips = appendUniqueIP(l.ips, ip)
	}
	if req.Days < 0 {
		return nil, fmt.Errorf("days must be positive, got %d", req.Days)
	}
	if l.days == 0 {
		l.days = DefaultLeafDays
	}
	if l.now.IsZero() {
		l.now = time.Now()
	}
	switch {
	case l.cn != "":
	case len(l.dns) > 0:
		l.cn = l.dns[0]
	default:
		l.cn = l.ips[0].String()
	}
	return l, nil
}

// ParseCSR decodes a PEM certificate request and checks its signature.
// Errors wrap ErrBadCSR.
func ParseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM data", ErrBadCSR)
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("%w: PEM block is %q, want CERTIFICATE REQUEST", ErrBadCSR, block.Type)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrBadCSR, err)
	}
	return csr, nil
}

// checkLeafKey refuses keys PostgreSQL TLS must not use.
func checkLeafKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("elliptic curve %s not supported", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too small (at least 2048)", k.N.BitLen())
		}
		return nil
	case ed25519.PublicKey:
		return errors.New("refusing an Ed25519 key: libpq SCRAM channel binding fails with them; use ECDSA P-256 or RSA")
	case nil:
		return errors.New("unknown public key algorithm (Ed448?); use ECDSA P-256 or RSA")
	}
	return fmt.Errorf("public key type %T not supported; use ECDSA P-256 or RSA", pub)
}
