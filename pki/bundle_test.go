package pki

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// newTestRoot makes a root CA named cn and returns its certificate (PEM).
func newTestRoot(t *testing.T, cn string) []byte {
	t.Helper()
	ca, err := Init(filepath.Join(t.TempDir(), "ca"), InitOptions{CommonName: cn})
	if err != nil {
		t.Fatal(err)
	}
	return ca.RootPEM()
}

func TestNewTrustBundle(t *testing.T) {
	t.Parallel()
	own := newTestRoot(t, "sshplay root CA")
	clientA := newTestRoot(t, "client CA A")
	clientB := newTestRoot(t, "client CA B")
	crl := []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	cases := []struct {
		name     string
		existing []byte
		want     []byte // the bundle's PEM
		kept     []string
	}{
		{"no existing file", nil, own, nil},
		{"blank file", []byte("\n  \n"), own, nil},
		{"only our root", own, own, nil},
		{"one client CA", clientA, cat(own, clientA), []string{"client CA A"}},
		{"order kept, ours dropped, duplicates dropped", cat(clientB, own, clientA, clientB),
			cat(own, clientB, clientA), []string{"client CA B", "client CA A"}},
		{"text and a CRL around the certificates", cat([]byte("# client CAs\n"), clientA, crl),
			cat(own, clientA), []string{"client CA A"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := NewTrustBundle(own, c.existing)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.PEM, c.want) {
				t.Errorf("bundle:\n%s\nwant:\n%s", b.PEM, c.want)
			}
			var kept []string
			for _, k := range b.Kept {
				kept = append(kept, k.Subject.CommonName)
			}
			if strings.Join(kept, "|") != strings.Join(c.kept, "|") {
				t.Errorf("kept %q, want %q", kept, c.kept)
			}
			if s := b.Subjects(); len(s) != 1+len(c.kept) || !strings.Contains(s[0], "sshplay root CA") {
				t.Errorf("subjects %q", s)
			}
			// A bundle built from the bundle is the same bundle: after the
			// first run ssl_ca_file is root.crt itself.
			again, err := NewTrustBundle(own, b.PEM)
			if err != nil || !bytes.Equal(again.PEM, b.PEM) {
				t.Errorf("not idempotent: %v\n%s", err, again.PEM)
			}
		})
	}
}

func TestNewTrustBundleRefusesNonPEM(t *testing.T) {
	t.Parallel()
	own := newTestRoot(t, "sshplay root CA")
	badCert := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	for name, existing := range map[string][]byte{
		"DER or garbage":       {0x30, 0x82, 0x01, 0x0a, 0x02},
		"text only":            []byte("client CAs are in /etc/ssl/certs\n"),
		"a broken certificate": badCert,
	} {
		if _, err := NewTrustBundle(own, existing); !errors.Is(err, ErrNotPEM) {
			t.Errorf("%s: got %v, want ErrNotPEM", name, err)
		}
	}
	if _, err := NewTrustBundle([]byte("nope"), nil); err == nil {
		t.Error("a bundle without our root was accepted")
	}
}

func TestSignByRootWithIntermediate(t *testing.T) {
	t.Parallel()
	ca, err := Init(t.TempDir(), InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	csr := goCSR(t, mustECKey(t), "db01")
	for _, byRoot := range []bool{false, true} {
		leafPEM, err := ca.Sign(csr, SignRequest{DNSNames: []string{"db01"}, ByRoot: byRoot})
		if err != nil {
			t.Fatal(err)
		}
		leaf := mustParse(t, leafPEM)
		root, inter := mustParse(t, ca.RootPEM()), mustParse(t, ca.ChainPEM())
		want, other := inter, root
		if byRoot {
			want, other = root, inter
		}
		if err := leaf.CheckSignatureFrom(want); err != nil {
			t.Errorf("ByRoot %v: not signed by %s: %v", byRoot, want.Subject, err)
		}
		if leaf.CheckSignatureFrom(other) == nil || !bytes.Equal(leaf.AuthorityKeyId, want.SubjectKeyId) {
			t.Errorf("ByRoot %v: issuer is not %s", byRoot, want.Subject)
		}
		if byRoot {
			if err := VerifyChain(leafPEM, nil, ca.RootPEM(), "db01"); err != nil {
				t.Errorf("root-signed leaf does not verify without the intermediate: %v", err)
			}
		}
	}
}

func TestRootSubject(t *testing.T) {
	t.Parallel()
	for _, o := range []InitOptions{{}, {CommonName: "Example Ops CA"}} {
		ca, err := Init(t.TempDir(), o)
		if err != nil {
			t.Fatal(err)
		}
		if got := ca.Root().Subject.String(); got != o.RootSubject() {
			t.Errorf("root subject %q, RootSubject says %q", got, o.RootSubject())
		}
	}
}
