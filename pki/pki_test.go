package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sshplay/sshplay/internal/testenv"
)

// requireOpenSSL returns the openssl binary; without one the test skips,
// or fails when CI is set.
func requireOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		testenv.SkipOrFail(t, "openssl not found: %v", err)
	}
	return p
}

// opensslCSR makes a key and CSR with the real openssl binary, the way
// sshplay does on a server. keyArgs are the -newkey arguments.
func opensslCSR(t *testing.T, subj, san string, keyArgs ...string) (csrPEM []byte, keyPath string) {
	t.Helper()
	bin := requireOpenSSL(t)
	dir := t.TempDir()
	keyPath = filepath.Join(dir, "server.key")
	csrPath := filepath.Join(dir, "server.csr")
	args := append([]string{"req", "-new"}, keyArgs...)
	args = append(args, "-nodes", "-keyout", keyPath, "-out", csrPath, "-subj", subj)
	if san != "" {
		args = append(args, "-addext", "subjectAltName="+san)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	csr, err := os.ReadFile(csrPath)
	if err != nil {
		t.Fatal(err)
	}
	return csr, keyPath
}

func goCSR(t *testing.T, key any, names ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "evil"}, DNSNames: names,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func mustParse(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	cs, err := ParseCertificates(p)
	if err != nil {
		t.Fatal(err)
	}
	return cs[0]
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestInitRoot(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("dir mode %04o, want 0700", got)
	}
	if got := mode(t, filepath.Join(dir, RootKeyFile)); got != 0o600 {
		t.Errorf("root.key mode %04o, want 0600", got)
	}
	if _, err := os.Stat(filepath.Join(dir, IntermediateCertFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("intermediate created without asking: %v", err)
	}
	root := mustParse(t, ca.RootPEM())
	if !root.IsCA || !root.BasicConstraintsValid {
		t.Error("root is not a CA")
	}
	if root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("root key usage %v", root.KeyUsage)
	}
	if root.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("root signature %v, want ECDSA-SHA256", root.SignatureAlgorithm)
	}
	if k, ok := root.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("root key %T, want ECDSA P-256", root.PublicKey)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Errorf("root not self-signed: %v", err)
	}
	if years := root.NotAfter.Sub(root.NotBefore).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("root valid %.1f years, want 10", years)
	}
	if len(root.SubjectKeyId) == 0 {
		t.Error("root has no SKI")
	}
	if root.Subject.CommonName != "sshplay root CA" {
		t.Errorf("root CN %q", root.Subject.CommonName)
	}
	if ca.ChainPEM() != nil || ca.HasIntermediate() {
		t.Error("root-only CA reports a chain")
	}
}

func TestInitIntermediate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := Init(dir, InitOptions{Intermediate: true, CommonName: "Acme DB CA", Days: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got := mode(t, filepath.Join(dir, IntermediateKeyFile)); got != 0o600 {
		t.Errorf("intermediate.key mode %04o, want 0600", got)
	}
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("existing dir mode %04o, want tightened to 0700", got)
	}
	root, inter := mustParse(t, ca.RootPEM()), mustParse(t, ca.ChainPEM())
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Fatalf("intermediate not signed by root: %v", err)
	}
	if !inter.IsCA || inter.MaxPathLen != 0 || !inter.MaxPathLenZero {
		t.Errorf("intermediate IsCA=%v MaxPathLen=%d zero=%v", inter.IsCA, inter.MaxPathLen, inter.MaxPathLenZero)
	}
	if !bytes.Equal(inter.AuthorityKeyId, root.SubjectKeyId) {
		t.Error("intermediate AKI does not match root SKI")
	}
	if inter.Subject.CommonName != "Acme DB CA intermediate" || root.Subject.CommonName != "Acme DB CA" {
		t.Errorf("names %q / %q", root.Subject.CommonName, inter.Subject.CommonName)
	}
	if inter.NotAfter.After(root.NotAfter) {
		t.Error("intermediate outlives root")
	}
}

func TestInitIsIdempotentAndNeverOverwrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keyBefore, _ := os.ReadFile(filepath.Join(dir, RootKeyFile))
	// Different options on an existing CA: loaded as is (key type ignored)...
	b, err := Init(dir, InitOptions{KeyType: KeyRSA2048, CommonName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.RootPEM(), b.RootPEM()) {
		t.Fatal("second Init replaced the root")
	}
	keyAfter, _ := os.ReadFile(filepath.Join(dir, RootKeyFile))
	if !bytes.Equal(keyBefore, keyAfter) {
		t.Fatal("second Init replaced root.key")
	}
	// ...except that an intermediate can be added later.
	c, err := Init(dir, InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.RootPEM(), c.RootPEM()) || !c.HasIntermediate() {
		t.Fatal("adding an intermediate changed the root or added nothing")
	}
	d, err := Init(dir, InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.ChainPEM(), d.ChainPEM()) {
		t.Fatal("third Init replaced the intermediate")
	}
	leaf, err := d.Sign(goCSR(t, mustECKey(t)), SignRequest{DNSNames: []string{"db1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(leaf, d.ChainPEM(), d.RootPEM(), "db1"); err != nil {
		t.Fatalf("leaf from a root made without intermediate, then given one: %v", err)
	}
}

func TestInitRecoversKeyWithoutCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A crash between writing the key and the certificate leaves the key.
	if err := os.Remove(filepath.Join(dir, RootCertFile)); err != nil {
		t.Fatal(err)
	}
	b, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Root().PublicKey.(*ecdsa.PublicKey).Equal(a.Root().PublicKey) {
		t.Fatal("Init made a new key instead of reusing the one on disk")
	}
}

func TestInitRefusesCertWithoutKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, RootKeyFile))
	if _, err := Init(dir, InitOptions{Intermediate: true}); err == nil {
		t.Fatal("Init with root.crt but no root.key succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, RootKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Init created a root.key that does not match root.crt")
	}
}

func TestInitConcurrent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	const n = 8
	var wg sync.WaitGroup
	roots := make([][]byte, n)
	chains := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ca, err := Init(dir, InitOptions{Intermediate: true})
			if err != nil {
				errs[i] = err
				return
			}
			roots[i], chains[i] = ca.RootPEM(), ca.ChainPEM()
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if !bytes.Equal(roots[i], roots[0]) || !bytes.Equal(chains[i], chains[0]) {
			t.Fatalf("goroutine %d got a different CA", i)
		}
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := ".lock intermediate.crt intermediate.key root.crt root.key"; strings.Join(names, " ") != want {
		t.Errorf("dir holds %v, want %s", names, want)
	}
}

func TestInitRSA(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{KeyType: KeyRSA2048, Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{ca.RootPEM(), ca.ChainPEM()} {
		c := mustParse(t, p)
		if c.SignatureAlgorithm != x509.SHA256WithRSA {
			t.Errorf("%s signed with %v", c.Subject.CommonName, c.SignatureAlgorithm)
		}
		if KeyAlgo(c.PublicKey) != "rsa-2048" {
			t.Errorf("%s key %s", c.Subject.CommonName, KeyAlgo(c.PublicKey))
		}
	}
}

func TestInitRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []InitOptions{{KeyType: "ed25519"}, {KeyType: "ed448"}, {KeyType: "rsa-1024"}, {Days: -1}} {
		dir := filepath.Join(t.TempDir(), "pki")
		if _, err := Init(dir, o); err == nil {
			t.Errorf("Init(%+v) succeeded", o)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Init(%+v) created the directory before failing", o)
		}
	}
}

func TestOpenRefusesReadableKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, RootKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "group or world access") {
		t.Fatalf("Open with a 0644 key: %v", err)
	}
}

func TestOpenRefusesMismatchedKey(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if _, err := Init(d, InitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := os.ReadFile(filepath.Join(b, RootKeyFile))
	if err := os.WriteFile(filepath.Join(a, RootKeyFile), k, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(a); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("Open with another CA's key: %v", err)
	}
}

func mustECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
