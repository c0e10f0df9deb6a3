package postgres

// tls_sign checks on the control machine that the certificate carries the
// key's public half, which the run has read on the host already: a
// mismatched pair is refused before anything changes, and a matching one
// is installed without a command on the host.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/tasktest"
)

// signedPair is a key's public half (PEM) and a certificate our CA issued
// for it.
type signedPair struct {
	name      string
	pub, cert []byte
}

func newSignedPair(t *testing.T, ca *pki.CA, name string, key crypto.Signer) signedPair {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "db1"}, DNSNames: []string{"db1"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Sign(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), pki.SignRequest{DNSNames: []string{"db1"}, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return signedPair{name: name, pub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), cert: cert}
}

func testPairs(t *testing.T) []signedPair {
	t.Helper()
	ca, err := pki.Init(filepath.Join(t.TempDir(), "ca"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []signedPair{newSignedPair(t, ca, "ecdsa", ec), newSignedPair(t, ca, "rsa", rs), newSignedPair(t, ca, "other ecdsa", ec2)}
}

// TestCertificateForAnotherKeyIsRefusedInGo: a certificate matches only
// the key it was issued for (RSA and ECDSA alike, intermediates after the
// leaf ignored); any other pairing is refused with a message that names
// the host, both files and that nothing was uploaded.
func TestCertificateForAnotherKeyIsRefusedInGo(t *testing.T) {
	t.Parallel()
	pairs := testPairs(t)
	for _, key := range pairs {
		for _, cert := range pairs {
			bundle := append(append([]byte(nil), cert.cert...), pairs[2].cert...)
			err := pairMatches("db1", "/d/server.key", "/d/server.crt", key.pub, bundle)
			if key.name == cert.name {
				if err != nil {
					t.Errorf("%s key, its own certificate: %v", key.name, err)
				}
				continue
			}
			var f *tasks.Failed
			want := "host db1: the certificate for /d/server.crt does not match /d/server.key on the host; nothing uploaded"
			if !errorsAs(err, &f) || err.Error() != want {
				t.Errorf("%s key, certificate of the %s key: got %v, want %q", key.name, cert.name, err, want)
			}
		}
	}
	err := pairMatches("db1", "/d/server.key", "/d/server.crt", []byte("not a key"), pairs[0].cert)
	if err == nil || !strings.Contains(err.Error(), "host db1: check that /d/server.key matches the certificate") {
		t.Errorf("unreadable public key: %v", err)
	}
}

// TestInstallChecksThePairWithoutAHostCommand: installing a certificate
// for the key the facts describe runs nothing on the host (the journal and
// the files are written over the file protocol); a certificate for another
// key changes nothing at all.
func TestInstallChecksThePairWithoutAHostCommand(t *testing.T) {
	t.Parallel()
	pairs := testPairs(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		key    signedPair
		cert   []byte
		wantOK bool
	}{
		{"ecdsa, matching", pairs[0], pairs[0].cert, true},
		{"rsa, matching", pairs[1], pairs[1].cert, true},
		{"ecdsa key, rsa certificate", pairs[0], pairs[1].cert, false},
		{"rsa key, ecdsa certificate", pairs[1], pairs[0].cert, false},
	} {
		conn := tasktest.New("db1", "postgres")
		conn.AddDir("/d", 0o700)
		env := &tasks.Env{Host: "db1", Conn: conn}
		p := testParams(t, nil, nil)
		f := &pg.Facts{DataDirectory: "/d", ServerVersionNum: 150000,
			TLS: &pg.TLSState{Dir: "/d", DirExists: true, KeyExists: true, KeyPub: string(c.key.pub)}}
		_, err := install(ctx, env, p, f, nil, filesFor(p, f), c.cert, []byte("root"))
		if runs := conn.Fake().Runs(); len(runs) > 0 {
			t.Errorf("%s: commands ran on the host: %q", c.name, runs)
		}
		if !c.wantOK {
			if err == nil || !strings.Contains(err.Error(), "does not match") || len(conn.Fake().Writes()) > 0 {
				t.Errorf("%s: got %v, writes %q", c.name, err, conn.Fake().Writes())
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := conn.Content("/d/server.crt"); got != string(c.cert) {
			t.Errorf("%s: server.crt is %q", c.name, got)
		}
		if !strings.Contains(conn.Content(pg.JournalPath("/d")), "/d/server.crt") {
			t.Errorf("%s: server.crt not journaled before it was written", c.name)
		}
	}
}
