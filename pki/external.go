package pki

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteCSR stores a host's CSR as dir/HOST.csr (mode 0644) for an external
// CA to sign. The CSR must parse and carry a valid signature. dir is created
// (0755) when missing.
func WriteCSR(dir, host string, csrPEM []byte) error {
	if err := checkHostFileName(host); err != nil {
		return fmt.Errorf("host %s: write csr: %w", host, err)
	}
	if _, err := ParseCSR(csrPEM); err != nil {
		return fmt.Errorf("host %s: write csr: %w", host, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("host %s: write csr: %w", host, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, host+".csr"), csrPEM, 0o644); err != nil {
		return fmt.Errorf("host %s: %w", host, err)
	}
	return nil
}

// ReadSigned reads what an external CA returned for host: dir/HOST.crt holds
// the leaf first, then optional intermediates; dir/root.crt holds the root.
// It returns the leaf and the intermediates PEM encoded (a self-signed root
// found in HOST.crt is dropped from chain), after checking that the leaf
// chains to dir/root.crt (names are not checked here: use NeedsRenewal).
// A missing HOST.crt gives an error wrapping fs.ErrNotExist ("not signed
// yet"). Use ReadRoot for the root itself.
func ReadSigned(dir, host string) (leaf, chain []byte, err error) {
	if err := checkHostFileName(host); err != nil {
		return nil, nil, fmt.Errorf("host %s: read signed certificate: %w", host, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, host+".crt"))
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: read signed certificate: %w", host, err)
	}
	certs, err := ParseCertificates(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: %s.crt: %w", host, host, err)
	}
	root, err := ReadRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: %w", host, err)
	}
	leaf = pemCert(certs[0].Raw)
	for _, c := range certs[1:] {
		if isSelfSigned(c) {
			continue
		}
		chain = append(chain, pemCert(c.Raw)...)
	}
	if err := VerifyChain(leaf, chain, root, ""); err != nil {
		return nil, nil, fmt.Errorf("host %s: %s.crt does not chain to %s: %w", host, host, RootCertFile, err)
	}
	return leaf, chain, nil
}

// ReadRoot reads dir/root.crt and returns its certificates PEM encoded.
func ReadRoot(dir string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, RootCertFile))
	if err != nil {
		return nil, fmt.Errorf("read root certificate: %w", err)
	}
	certs, err := ParseCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootCertFile, err)
	}
	var out []byte
	for _, c := range certs {
		out = append(out, pemCert(c.Raw)...)
	}
	return out, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.IsCA && c.CheckSignatureFrom(c) == nil
}

// checkHostFileName refuses host names that would escape dir.
func checkHostFileName(host string) error {
	if host == "" || host == "." || host == ".." || strings.ContainsAny(host, `/\`+"\x00") {
		return fmt.Errorf("host name %q cannot be used as a file name", host)
	}
	return nil
}
