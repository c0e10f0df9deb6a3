package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Key types Init accepts. Ed25519 and Ed448 are deliberately absent.
const (
	KeyECDSAP256 = "ecdsa-p256"
	KeyRSA2048   = "rsa-2048"
	KeyRSA3072   = "rsa-3072"
	KeyRSA4096   = "rsa-4096"
)

// KeyTypes lists the accepted InitOptions.KeyType values, default first.
var KeyTypes = []string{KeyECDSAP256, KeyRSA2048, KeyRSA3072, KeyRSA4096}

// File names inside a CA directory.
const (
	RootCertFile         = "root.crt"
	RootKeyFile          = "root.key"
	IntermediateCertFile = "intermediate.crt"
	IntermediateKeyFile  = "intermediate.key"
	lockFile             = ".lock"
)

// Default validity periods in days.
const (
	DefaultCADays   = 3650
	DefaultLeafDays = 365
)

// clockSkew is subtracted from NotBefore so that hosts whose clocks run a
// little behind accept a certificate made just now.
const clockSkew = 5 * time.Minute

// InitOptions say how Init creates a new CA. They are ignored for a CA that
// already exists, except Intermediate: asking for an intermediate on a CA
// that has none adds one (nothing existing is replaced).
type InitOptions struct {
	// Intermediate also creates an intermediate CA, signed by the root, that
	// signs every leaf.
	Intermediate bool
	// KeyType is one of KeyTypes; empty means ecdsa-p256.
	KeyType string
	// CommonName of the root; empty means "sshplay root CA". The
	// intermediate is named after it with " intermediate" appended.
	CommonName string
	// Days the root (and intermediate) stay valid; 0 means DefaultCADays.
	Days int
}

// RootSubject is the subject (as pkix.Name.String prints it) of the root
// Init creates with these options, so that a plan can name the root
// clients will trust before the CA exists.
func (o InitOptions) RootSubject() string { return caSubject(o.rootCN()).String() }

func (o InitOptions) rootCN() string {
	if o.CommonName == "" {
		return "sshplay root CA"
	}
	return o.CommonName
}

// caSubject is the subject of sshplay's CA certificates.
func caSubject(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"sshplay"}}
}

// CA is a loaded certificate authority. It is safe for concurrent use.
type CA struct {
	dir      string
	root     *x509.Certificate
	rootPEM  []byte
	rootKey  crypto.Signer
	inter    *x509.Certificate // nil without intermediate
	interPEM []byte
	interKey crypto.Signer
}

// procLocks serialises Init calls on the same directory inside this process
// before the file lock is taken (belt and braces for platforms without flock).
var procLocks sync.Map // absolute dir -> *sync.Mutex

func lockPath(dir string) string { return filepath.Join(dir, lockFile) }

// Init creates the CA in dir, or loads it when dir already holds one. dir is
// created with mode 0700 (an existing dir is tightened to 0700), keys are
// written 0600, certificates 0644. Concurrent Init calls on the same dir,
// from goroutines or from several sshplay processes, produce one CA.
func Init(dir string, opts InitOptions) (*CA, error) {
	keyType := opts.KeyType
	if keyType == "" {
		keyType = KeyECDSAP256
	}
	if !validKeyType(keyType) {
		return nil, fmt.Errorf("ca init %s: key type %q not supported (want one of %v; Ed25519 breaks libpq channel binding)", dir, opts.KeyType, KeyTypes)
	}
	if opts.Days < 0 {
		return nil, fmt.Errorf("ca init %s: days must be positive, got %d", dir, opts.Days)
	}
	days := opts.Days
	if days == 0 {
		days = DefaultCADays
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ca init %s: %w", dir, err)
	}
	mu, _ := procLocks.LoadOrStore(abs, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if err := privateDir(dir); err != nil {
		return nil, fmt.Errorf("ca init %s: %w", dir, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ca init %s: %w", dir, err)
	}
	defer unlock()

	now := time.Now()
	if err := createRoot(dir, keyType, opts.rootCN(), now, days); err != nil {
		return nil, fmt.Errorf("ca init %s: %w", dir, err)
	}
	if opts.Intermediate {
		if err := addIntermediate(dir, opts.CommonName == "", now, days); err != nil {
			return nil, fmt.Errorf("ca init %s: %w", dir, err)
		}
	}
	return Open(dir)
}

// privateDir creates dir 0700, or tightens an existing one to 0700: it
// holds the CA's private keys.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restrict to 0700: %w", err)
		}
	}
	return nil
}

// createRoot makes the self-signed root in dir unless root.crt exists
// (a root key without its certificate is reused, see loadOrCreateKey).
func createRoot(dir, keyType, cn string, now time.Time, days int) error {
	rootCertPath := filepath.Join(dir, RootCertFile)
	if _, err := os.Stat(rootCertPath); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	rootKey, err := loadOrCreateKey(filepath.Join(dir, RootKeyFile), keyType)
	if err != nil {
		return err
	}
	tmpl, err := caTemplate(cn, rootKey.Public(), now, now.AddDate(0, 0, days), 1)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("create root certificate: %w", err)
	}
	return writeFileAtomic(rootCertPath, pemCert(der), 0o644)
}

// addIntermediate makes the intermediate in dir, signed by the root and of
// the root's key type, unless intermediate.crt exists. It never outlives
// the root. defaultName: the root has the default name, so the
// intermediate gets the default one too (else the root's, + "
// intermediate").
func addIntermediate(dir string, defaultName bool, now time.Time, days int) error {
	interCertPath := filepath.Join(dir, IntermediateCertFile)
	if _, err := os.Stat(interCertPath); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	root, _, rootKey, err := loadPair(dir, RootCertFile, RootKeyFile)
	if err != nil {
		return err
	}
	interKey, err := loadOrCreateKey(filepath.Join(dir, IntermediateKeyFile), keyTypeOf(rootKey.Public()))
	if err != nil {
		return err
	}
	notAfter := now.AddDate(0, 0, days)
	if notAfter.After(root.NotAfter) {
		notAfter = root.NotAfter
	}
	icn := root.Subject.CommonName
	if defaultName || icn == "" {
		icn = "sshplay intermediate CA"
	} else {
		icn += " intermediate"
	}
	tmpl, err := caTemplate(icn, interKey.Public(), now, notAfter, 0)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, interKey.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("create intermediate certificate: %w", err)
	}
	return writeFileAtomic(interCertPath, pemCert(der), 0o644)
}

// Open loads the CA in dir. It refuses key files readable by group or others
// and keys that do not belong to their certificate.
func Open(dir string) (*CA, error) {
	ca := &CA{dir: dir}
	var err error
	ca.root, ca.rootPEM, ca.rootKey, err = loadPair(dir, RootCertFile, RootKeyFile)
	if err != nil {
		return nil, fmt.Errorf("ca %s: %w", dir, err)
	}
	if !ca.root.IsCA {
		return nil, fmt.Errorf("ca %s: %s is not a CA certificate", dir, RootCertFile)
	}
	_, statErr := os.Stat(filepath.Join(dir, IntermediateCertFile))
	switch {
	case statErr == nil:
		ca.inter, ca.interPEM, ca.interKey, err = loadPair(dir, IntermediateCertFile, IntermediateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ca %s: %w", dir, err)
		}
		if !ca.inter.IsCA {
			return nil, fmt.Errorf("ca %s: %s is not a CA certificate", dir, IntermediateCertFile)
		}
		if err := ca.inter.CheckSignatureFrom(ca.root); err != nil {
			return nil, fmt.Errorf("ca %s: %s is not signed by %s: %w", dir, IntermediateCertFile, RootCertFile, err)
		}
	case !errors.Is(statErr, fs.ErrNotExist):
		return nil, fmt.Errorf("ca %s: %w", dir, statErr)
	}
	return ca, nil
}

// Dir is the directory the CA lives in.
func (ca *CA) Dir() string { return ca.dir }

// Root is the parsed root certificate. Callers must not modify it.
func (ca *CA) Root() *x509.Certificate { return ca.root }

// HasIntermediate reports whether leaves are signed by an intermediate.
func (ca *CA) HasIntermediate() bool { return ca.inter != nil }

// RootPEM is the root certificate, PEM encoded: what clients put in
// sslrootcert and what goes to ssl_ca_file.
func (ca *CA) RootPEM() []byte { return bytes.Clone(ca.rootPEM) }

// ChainPEM is the intermediate certificates (leaf and root excluded), PEM
// encoded, in the order they follow the leaf in ssl_cert_file; nil when the
// root signs leaves directly.
func (ca *CA) ChainPEM() []byte { return bytes.Clone(ca.interPEM) }

// signer returns the certificate and key that sign leaves.
func (ca *CA) signer() (*x509.Certificate, crypto.Signer) {
	if ca.inter != nil {
		return ca.inter, ca.interKey
	}
	return ca.root, ca.rootKey
}

func validKeyType(t string) bool {
	for _, k := range KeyTypes {
		if k == t {
			return true
		}
	}
	return false
}

func keyTypeOf(pub crypto.PublicKey) string {
	if k, ok := pub.(*rsa.PublicKey); ok {
		switch bits := k.N.BitLen(); {
		case bits >= 4096:
			return KeyRSA4096
		case bits >= 3072:
			return KeyRSA3072
		default:
			return KeyRSA2048
		}
	}
	return KeyECDSAP256
}

func generateKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("key type %q not supported", keyType)
}

// loadOrCreateKey loads the key at path or, if there is none, creates one.
// A key without its certificate is what a crash between the two writes
// leaves behind; reusing it means nothing is ever overwritten.
func loadOrCreateKey(path, keyType string) (crypto.Signer, error) {
	if _, err := os.Stat(path); err == nil {
		return readKeyFile(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key, err := generateKey(keyType)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", keyType, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

func caTemplate(cn string, pub crypto.PublicKey, now, notAfter time.Time, maxPathLen int) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               caSubject(cn),
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    sigAlgFor(pub),
	}, nil
}

// sigAlgFor picks SHA-256 signatures for the signer's key type.
func sigAlgFor(signerPub crypto.PublicKey) x509.SignatureAlgorithm {
	switch signerPub.(type) {
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		return x509.ECDSAWithSHA256
	}
	return x509.UnknownSignatureAlgorithm
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is RFC 7093 method 1: the leftmost 160 bits of the SHA-256
// of the subjectPublicKey bits.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("decode public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func loadPair(dir, certName, keyName string) (*x509.Certificate, []byte, crypto.Signer, error) {
	certPath := filepath.Join(dir, certName)
	raw, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	certs, err := ParseCertificates(raw)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", certName, err)
	}
	keyPath := filepath.Join(dir, keyName)
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, nil, nil, fmt.Errorf("%s does not belong to %s", keyName, certName)
	}
	return certs[0], pemCert(certs[0].Raw), key, nil
}

func readKeyFile(path string) (crypto.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has group or world access (mode %04o); run chmod 600 on it", path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM data", filepath.Base(path))
	}
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: unexpected PEM block %q", filepath.Base(path), block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%s: key type %T not supported for a CA", filepath.Base(path), k)
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and
// renames it into place, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
