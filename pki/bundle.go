package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// TrustBundle is the content of a server's ssl_ca_file as sshplay writes
// it: sshplay's root first, then every CA the file trusted before that is
// not sshplay's root. ssl_ca_file is what PostgreSQL verifies *client*
// certificates against (hba cert auth, clientcert=verify-ca/verify-full,
// and any client that sends a certificate at all), so replacing it with
// sshplay's root alone would lock those clients out.
type TrustBundle struct {
	// PEM is the file content: Own, then Kept, one PEM block each.
	PEM []byte
	// Own are sshplay's root certificates (one, or what an external CA's
	// root.crt holds).
	Own []*x509.Certificate
	// Kept are the certificates carried over from the existing file, in
	// their order there, without duplicates.
	Kept []*x509.Certificate
}

// Subjects lists the subjects of every certificate in the bundle, own
// first: the CAs the server trusts for client certificates.
func (b *TrustBundle) Subjects() []string {
	out := make([]string, 0, len(b.Own)+len(b.Kept))
	for _, c := range b.Own {
		out = append(out, c.Subject.String())
	}
	for _, c := range b.Kept {
		out = append(out, c.Subject.String())
	}
	return out
}

// ErrNotPEM is wrapped by NewTrustBundle when the existing file is not
// PEM certificates: its content cannot be carried over, and dropping it
// would silently change whom the server trusts.
var ErrNotPEM = errors.New("not PEM certificates")

// NewTrustBundle returns the bundle of own (sshplay's root, PEM) and the
// certificates of existing (the current ssl_ca_file's content; empty when
// there is none; own may be empty before the CA exists, to learn what would
// be kept). Certificates equal (by DER) to one of own or to an
// earlier one are dropped, so a bundle built from a bundle is the same
// bundle. PEM blocks other than certificates (a CRL, a comment block) are
// ignored. Existing content that holds no PEM block at all, or a
// certificate that does not parse, is refused with an error wrapping
// ErrNotPEM.
func NewTrustBundle(own, existing []byte) (*TrustBundle, error) {
	var ownCerts []*x509.Certificate
	if len(bytes.TrimSpace(own)) > 0 {
		var err error
		if ownCerts, err = ParseCertificates(own); err != nil {
			return nil, fmt.Errorf("trust bundle: own root: %w", err)
		}
	}
	kept, err := parseExistingCAs(existing)
	if err != nil {
		return nil, err
	}
	b := &TrustBundle{}
	seen := func(c *x509.Certificate, in []*x509.Certificate) bool {
		for _, x := range in {
			if bytes.Equal(x.Raw, c.Raw) {
				return true
			}
		}
		return false
	}
	for _, c := range ownCerts {
		if !seen(c, b.Own) {
			b.Own = append(b.Own, c)
			b.PEM = append(b.PEM, pemCert(c.Raw)...)
		}
	}
	for _, c := range kept {
		if !seen(c, b.Own) && !seen(c, b.Kept) {
			b.Kept = append(b.Kept, c)
			b.PEM = append(b.PEM, pemCert(c.Raw)...)
		}
	}
	return b, nil
}

// parseExistingCAs reads the certificates of an existing ssl_ca_file.
func parseExistingCAs(data []byte) ([]*x509.Certificate, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var certs []*x509.Certificate
	blocks := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blocks++
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w: %w", len(certs)+1, ErrNotPEM, err)
		}
		certs = append(certs, c)
	}
	if blocks == 0 {
		return nil, fmt.Errorf("no PEM block found: %w", ErrNotPEM)
	}
	return certs, nil
}
