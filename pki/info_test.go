package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/testenv"
)

func TestCertInfo(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, err := ca.Sign(goCSR(t, mustECKey(t)), SignRequest{DNSNames: []string{"db1.lan"}, IPs: []net.IP{net.ParseIP("127.0.0.3")}, CommonName: "db1"})
	if err != nil {
		t.Fatal(err)
	}
	// Leaf first in a bundle: CertInfo describes the leaf.
	info, err := CertInfo(append(leafPEM, ca.RootPEM()...))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(leafPEM)
	sum := sha256.Sum256(block.Bytes)
	if info.SHA256 != hex.EncodeToString(sum[:]) || strings.ContainsAny(info.SHA256, ":ABCDEF") {
		t.Errorf("SHA256 %q", info.SHA256)
	}
	if info.Subject != "CN=db1" || info.Issuer != "CN=sshplay root CA,O=sshplay" {
		t.Errorf("subject %q issuer %q", info.Subject, info.Issuer)
	}
	if info.KeyAlgo != "ecdsa-p256" || info.IsCA {
		t.Errorf("KeyAlgo %q IsCA %v", info.KeyAlgo, info.IsCA)
	}
	if len(info.DNSNames) != 1 || len(info.IPs) != 1 {
		t.Errorf("names %v %v", info.DNSNames, info.IPs)
	}
	if _, err := CertInfo([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil {
		t.Error("CertInfo without a certificate succeeded")
	}
}

func TestNeedsRenewal(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base := Info{
		DNSNames:  []string{"db1.lan", "db1"},
		IPs:       []net.IP{net.ParseIP("127.0.0.3").To4()},
		NotBefore: now.AddDate(0, -1, 0),
		NotAfter:  now.AddDate(0, 6, 0),
	}
	with := func(f func(*Info)) *Info { i := base; f(&i); return &i }
	ip := func(s string) []net.IP { return []net.IP{net.ParseIP(s)} }
	cases := []struct {
		name    string
		info    *Info
		dns     []string
		ips     []net.IP
		before  time.Duration
		want    bool
		because string
	}{
		{"same", &base, []string{"db1", "DB1.lan."}, ip("127.0.0.3"), 30 * 24 * time.Hour, false, ""},
		{"ip in 16-byte form", &base, []string{"db1", "db1.lan"}, []net.IP{net.ParseIP("127.0.0.3").To16()}, 0, false, ""},
		{"nil", nil, nil, nil, 0, true, "no certificate"},
		{"missing dns", &base, []string{"db1", "db1.lan", "db1.example.com"}, ip("127.0.0.3"), 0, true, "missing DNS:db1.example.com"},
		{"extra dns", &base, []string{"db1"}, ip("127.0.0.3"), 0, true, "unwanted DNS:db1.lan"},
		{"other ip", &base, []string{"db1", "db1.lan"}, ip("127.0.0.4"), 0, true, "missing IP:127.0.0.4; unwanted IP:127.0.0.3"},
		{"no ip wanted", &base, []string{"db1", "db1.lan"}, nil, 0, true, "unwanted IP:127.0.0.3"},
		{"expiring", &base, []string{"db1", "db1.lan"}, ip("127.0.0.3"), 200 * 24 * time.Hour, true, "expires on 2030-07-01"},
		{"expired", with(func(i *Info) { i.NotAfter = now.Add(-time.Second) }), []string{"db1", "db1.lan"}, ip("127.0.0.3"), 0, true, "expired on"},
		{"expires exactly now", with(func(i *Info) { i.NotAfter = now }), []string{"db1", "db1.lan"}, ip("127.0.0.3"), 0, true, "expired on"},
		{"not yet valid", with(func(i *Info) { i.NotBefore = now.Add(time.Hour) }), []string{"db1", "db1.lan"}, ip("127.0.0.3"), 0, true, "not valid before"},
	}
	for _, c := range cases {
		got, why := NeedsRenewal(c.info, c.dns, c.ips, c.before, now)
		if got != c.want || !strings.Contains(why, c.because) || (!got && why != "") {
			t.Errorf("%s: NeedsRenewal = %v %q, want %v %q", c.name, got, why, c.want, c.because)
		}
	}
}

func TestPublicKeyMatches(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := mustECKey(t)
	csr := goCSR(t, key)
	leaf, err := ca.Sign(csr, SignRequest{DNSNames: []string{"db"}})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	otherDER, _ := x509.MarshalPKIXPublicKey(mustECKey(t).Public())
	for name, c := range map[string]struct {
		pub  []byte
		want bool
	}{
		"pem":       {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), true},
		"der":       {der, true},
		"csr":       {csr, true},
		"other key": {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: otherDER}), false},
		"other csr": {goCSR(t, mustECKey(t)), false},
	} {
		got, err := PublicKeyMatches(leaf, c.pub)
		if err != nil || got != c.want {
			t.Errorf("%s: PublicKeyMatches = %v, %v; want %v", name, got, err, c.want)
		}
	}
	if _, err := PublicKeyMatches(leaf, []byte("garbage")); err == nil {
		t.Error("garbage public key accepted")
	}
}

func TestVerifyChainOtherCAAndExpiry(t *testing.T) {
	t.Parallel()
	a, _ := Init(t.TempDir(), InitOptions{})
	b, _ := Init(t.TempDir(), InitOptions{})
	leaf, err := a.Sign(goCSR(t, mustECKey(t)), SignRequest{DNSNames: []string{"db"}, Days: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(leaf, nil, b.RootPEM(), "db"); err == nil {
		t.Error("leaf verified against another CA")
	}
	if err := verifyChainAt(leaf, nil, a.RootPEM(), "db", time.Now().AddDate(0, 0, 11)); err == nil {
		t.Error("expired leaf verified")
	}
	if err := VerifyChain(leaf, nil, a.RootPEM(), ""); err != nil {
		t.Errorf("verify without host: %v", err)
	}
}

func TestExternalCAExchange(t *testing.T) {
	t.Parallel()
	// An "external" CA with an intermediate signs what sshplay wrote.
	ext, err := Init(t.TempDir(), InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	xdir := t.TempDir()
	csr := goCSR(t, mustECKey(t))
	if err := WriteCSR(xdir, "db01", csr); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, filepath.Join(xdir, "db01.csr")); got != 0o644 {
		t.Errorf("csr mode %04o", got)
	}
	if _, _, err := ReadSigned(xdir, "db01"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadSigned before signing: %v, want fs.ErrNotExist", err)
	}
	written, _ := os.ReadFile(filepath.Join(xdir, "db01.csr"))
	leaf, err := ext.Sign(written, SignRequest{DNSNames: []string{"db01"}})
	if err != nil {
		t.Fatal(err)
	}
	// The external CA returns leaf + intermediate + root in one file.
	bundle := append(append(append([]byte(nil), leaf...), ext.ChainPEM()...), ext.RootPEM()...)
	os.WriteFile(filepath.Join(xdir, "db01.crt"), bundle, 0o644)
	os.WriteFile(filepath.Join(xdir, "root.crt"), ext.RootPEM(), 0o644)
	gotLeaf, gotChain, err := ReadSigned(xdir, "db01")
	if err != nil {
		t.Fatal(err)
	}
	if string(gotLeaf) != string(leaf) || string(gotChain) != string(ext.ChainPEM()) {
		t.Errorf("ReadSigned leaf/chain differ (root must be dropped from the chain)\nchain:\n%s", gotChain)
	}
	root, err := ReadRoot(xdir)
	if err != nil || string(root) != string(ext.RootPEM()) {
		t.Errorf("ReadRoot: %v", err)
	}
	// A certificate from somebody else's CA is refused.
	other, _ := Init(t.TempDir(), InitOptions{})
	foreign, _ := other.Sign(csr, SignRequest{DNSNames: []string{"db01"}})
	os.WriteFile(filepath.Join(xdir, "db01.crt"), foreign, 0o644)
	if _, _, err := ReadSigned(xdir, "db01"); err == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Errorf("foreign certificate: %v", err)
	}
	for _, bad := range []string{"", "..", "../db01", "a/b"} {
		if err := WriteCSR(xdir, bad, csr); err == nil {
			t.Errorf("WriteCSR(%q) succeeded", bad)
		}
	}
	if err := WriteCSR(xdir, "db02", []byte("not a csr")); err == nil {
		t.Error("WriteCSR accepted garbage")
	}
}

// TestEdwardsInChain: Ed25519/Ed448 keys or signatures anywhere in a chain
// are named; an ECDSA chain passes.
func TestEdwardsInChain(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Sign(goCSR(t, mustECKey(t)), SignRequest{DNSNames: []string{"db1.lan"}})
	if err != nil {
		t.Fatal(err)
	}
	if why := EdwardsInChain(leaf, ca.RootPEM()); why != "" {
		t.Errorf("ECDSA chain refused: %s", why)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.SkipOrFail(t, "openssl missing: %v", err)
	}
	dir := t.TempDir()
	for _, algo := range []string{"ED25519", "ED448"} {
		key, crt := filepath.Join(dir, algo+".key"), filepath.Join(dir, algo+".crt")
		for _, args := range [][]string{
			{"genpkey", "-algorithm", algo, "-out", key},
			{"req", "-x509", "-new", "-key", key, "-subj", "/CN=edca-" + algo, "-days", "2", "-out", crt},
		} {
			if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %v: %v: %s", args, err, out)
			}
		}
		pemBytes, err := os.ReadFile(crt)
		if err != nil {
			t.Fatal(err)
		}
		why := EdwardsInChain(leaf, pemBytes)
		if !strings.Contains(why, "Ed"+strings.TrimPrefix(algo, "ED")) {
			t.Errorf("%s root: got %q", algo, why)
		}
	}
}
