package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSignOpenSSLCSRUsesOnlyRequestedNames(t *testing.T) {
	t.Parallel()
	csr, keyPath := opensslCSR(t, "/CN=evil", "DNS:evil.com", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")
	for _, withInter := range []bool{false, true} {
		name := "root"
		if withInter {
			name = "intermediate"
		}
		t.Run(name, func(t *testing.T) {
			ca, err := Init(t.TempDir(), InitOptions{Intermediate: withInter})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			leafPEM, err := ca.Sign(csr, SignRequest{
				DNSNames: []string{"db01.example.com", "DB01"},
				IPs:      []net.IP{net.ParseIP("127.0.0.5"), net.ParseIP("::1")},
				Days:     90,
				Now:      now,
			})
			if err != nil {
				t.Fatal(err)
			}
			leaf := mustParse(t, leafPEM)
			if got := strings.Join(leaf.DNSNames, ","); got != "db01.example.com,db01" {
				t.Errorf("DNS SANs %q: CSR names must not leak in", got)
			}
			if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.5")) || !leaf.IPAddresses[1].Equal(net.IPv6loopback) {
				t.Errorf("IP SANs %v", leaf.IPAddresses)
			}
			if leaf.Subject.CommonName != "db01.example.com" || strings.Contains(leaf.Subject.String(), "evil") {
				t.Errorf("subject %q", leaf.Subject)
			}
			if leaf.IsCA {
				t.Error("leaf is a CA")
			}
			if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("EKU %v", leaf.ExtKeyUsage)
			}
			if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("key usage %v, want digitalSignature only for ECDSA", leaf.KeyUsage)
			}
			if len(leaf.SubjectKeyId) != 20 || len(leaf.AuthorityKeyId) == 0 {
				t.Errorf("SKI %x AKI %x", leaf.SubjectKeyId, leaf.AuthorityKeyId)
			}
			issuer := mustParse(t, ca.RootPEM())
			if withInter {
				issuer = mustParse(t, ca.ChainPEM())
			}
			if string(leaf.AuthorityKeyId) != string(issuer.SubjectKeyId) {
				t.Error("AKI is not the issuer's SKI")
			}
			if err := leaf.CheckSignatureFrom(issuer); err != nil {
				t.Errorf("leaf not signed by the %s: %v", name, err)
			}
			if leaf.SerialNumber.BitLen() < 64 || leaf.SerialNumber.BitLen() > 128 || leaf.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %x", leaf.SerialNumber)
			}
			if d := now.Sub(leaf.NotBefore); d < 4*time.Minute || d > 6*time.Minute {
				t.Errorf("NotBefore %v before now, want 5m", d)
			}
			if d := leaf.NotAfter.Sub(now); d < 89*24*time.Hour || d > 91*24*time.Hour {
				t.Errorf("NotAfter in %v, want 90 days", d)
			}
			if leaf.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				t.Errorf("signature %v", leaf.SignatureAlgorithm)
			}
			// Go's verify-full: both names and both IPs verify, the CSR's name does not.
			for _, host := range []string{"db01.example.com", "db01", "127.0.0.5", "::1", "[::1]"} {
				if err := VerifyChain(leafPEM, ca.ChainPEM(), ca.RootPEM(), host); err != nil {
					t.Errorf("verify %s: %v", host, err)
				}
			}
			for _, host := range []string{"evil.com", "127.0.0.6", "other.example.com"} {
				if err := VerifyChain(leafPEM, ca.ChainPEM(), ca.RootPEM(), host); err == nil {
					t.Errorf("verify %s succeeded", host)
				}
			}
			// The bundle form (leaf + chain in one file, as ssl_cert_file holds it).
			if err := VerifyChain(append(leafPEM, ca.ChainPEM()...), nil, ca.RootPEM(), "db01"); err != nil {
				t.Errorf("verify bundle: %v", err)
			}
			if withInter {
				if err := VerifyChain(leafPEM, nil, ca.RootPEM(), "db01"); err == nil {
					t.Error("verify without the intermediate succeeded")
				}
			}
			// The key openssl made matches the certificate.
			pub, err := exec.Command("openssl", "pkey", "-in", keyPath, "-pubout").Output()
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := PublicKeyMatches(leafPEM, pub); err != nil || !ok {
				t.Errorf("PublicKeyMatches(openssl pubkey) = %v, %v", ok, err)
			}
			// Cross-check with openssl itself.
			dir := t.TempDir()
			write := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			args := []string{"verify", "-CAfile", write("root.crt", ca.RootPEM()), "-purpose", "sslserver", "-verify_hostname", "db01.example.com"}
			if withInter {
				args = append(args, "-untrusted", write("inter.crt", ca.ChainPEM()))
			}
			args = append(args, write("leaf.crt", leafPEM))
			if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Errorf("openssl verify: %v\n%s", err, out)
			}
		})
	}
}

func TestSignRSACSR(t *testing.T) {
	t.Parallel()
	csr, _ := opensslCSR(t, "/CN=db", "", "-newkey", "rsa:2048")
	ca, err := Init(t.TempDir(), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, err := ca.Sign(csr, SignRequest{IPs: []net.IP{net.ParseIP("127.0.0.9")}})
	if err != nil {
		t.Fatal(err)
	}
	leaf := mustParse(t, leafPEM)
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage %v, want digitalSignature|keyEncipherment for RSA", leaf.KeyUsage)
	}
	if leaf.Subject.CommonName != "127.0.0.9" {
		t.Errorf("CN %q, want the IP when no DNS name", leaf.Subject.CommonName)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("default validity %v, want a year", d)
	}
}

func TestSignRefusesBadKeysAndCSRs(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := goCSR(t, mustECKey(t))
	tampered := func() []byte {
		b, _ := pem.Decode(good)
		der := append([]byte(nil), b.Bytes...)
		der[len(der)-5] ^= 0xff // inside the signature
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}()
	cases := []struct {
		name, csr, want string
	}{
		{"ed25519", string(goCSR(t, edKey)), "Ed25519"},
		{"rsa-1024", string(goCSR(t, smallRSA)), "too small"},
		{"tampered", string(tampered), "signature"},
		{"not pem", "hello", "no PEM"},
		{"certificate", string(ca.RootPEM()), "want CERTIFICATE REQUEST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ca.Sign([]byte(c.csr), SignRequest{DNSNames: []string{"db1"}})
			if err == nil || !errors.Is(err, ErrBadCSR) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrBadCSR mentioning %q", err, c.want)
			}
		})
	}
	t.Run("openssl ed25519", func(t *testing.T) {
		csr, _ := opensslCSR(t, "/CN=db", "DNS:db", "-newkey", "ed25519")
		if _, err := ca.Sign(csr, SignRequest{DNSNames: []string{"db"}}); !errors.Is(err, ErrBadCSR) {
			t.Fatalf("err = %v, want ErrBadCSR", err)
		}
	})
	for _, req := range []SignRequest{
		{},
		{DNSNames: []string{"bad name"}},
		{DNSNames: []string{"-x.example"}},
		{IPs: []net.IP{{1, 2, 3}}},
		{DNSNames: []string{"db"}, Days: -1},
	} {
		if _, err := ca.Sign(good, req); err == nil {
			t.Errorf("Sign(%+v) succeeded", req)
		}
	}
}

func TestSignClipsToIssuerAndRefusesExpiredIssuer(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, err := ca.Sign(goCSR(t, mustECKey(t)), SignRequest{DNSNames: []string{"db"}, Days: 3650})
	if err != nil {
		t.Fatal(err)
	}
	if leaf := mustParse(t, leafPEM); !leaf.NotAfter.Equal(ca.Root().NotAfter) {
		t.Errorf("leaf NotAfter %v, want clipped to the root's %v", leaf.NotAfter, ca.Root().NotAfter)
	}
	_, err = ca.Sign(goCSR(t, mustECKey(t)), SignRequest{DNSNames: []string{"db"}, Now: time.Now().AddDate(0, 0, 31)})
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("sign with expired root: %v", err)
	}
}

func TestClassifySANs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      []string
		dns     string
		ips     string
		wantErr bool
	}{
		{in: []string{"db01.example.com", "127.0.0.2", "::1"}, dns: "db01.example.com", ips: "127.0.0.2 ::1"},
		{in: []string{"DNS:DB01.Example.COM.", "IP:10.0.0.1", "ip:[fe80::1]"}, dns: "db01.example.com", ips: "10.0.0.1 fe80::1"},
		{in: []string{"db1", "db1", "DNS:db1", "127.0.0.1", "IP:127.0.0.1"}, dns: "db1", ips: "127.0.0.1"},
		{in: []string{"*.db.example.com", "under_score.lan"}, dns: "*.db.example.com under_score.lan"},
		{in: []string{"DNS:127.0.0.1"}, wantErr: true},
		{in: []string{"IP:db01"}, wantErr: true},
		{in: []string{"bad name"}, wantErr: true},
		{in: []string{"a..b"}, wantErr: true},
		{in: []string{"*.com"}, wantErr: true},
		{in: []string{"x.*.com"}, wantErr: true},
		{in: []string{""}, wantErr: true},
		{in: []string{"DNS:"}, wantErr: true},
		{in: []string{strings.Repeat("a", 64) + ".com"}, wantErr: true},
		{in: []string{"fe80::1%eth0"}, wantErr: true},
	}
	for _, c := range cases {
		dns, ips, err := ClassifySANs(c.in)
		if c.wantErr {
			if err == nil {
				t.Errorf("ClassifySANs(%q) = %v %v, want error", c.in, dns, ips)
			}
			continue
		}
		if err != nil {
			t.Errorf("ClassifySANs(%q): %v", c.in, err)
			continue
		}
		var ipStr []string
		for _, ip := range ips {
			ipStr = append(ipStr, ip.String())
		}
		if strings.Join(dns, " ") != c.dns || strings.Join(ipStr, " ") != c.ips {
			t.Errorf("ClassifySANs(%q) = %q %q, want %q %q", c.in, dns, ipStr, c.dns, c.ips)
		}
	}
}
