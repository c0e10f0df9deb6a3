package postgres

// Lab tests for what the server trusts and who signs its certificate: the
// client CAs of an existing ssl_ca_file stay trusted next to sshplay's
// root, and tls_intermediate: false makes the root sign leaves again.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pki"
)

// certLogin logs in as the client-certificate user cc over verify-full
// (trusting root) with its certificate, and returns current_user.
func certLogin(ctx context.Context, h lab.Host, cc *lab.ClientCert, root []byte) (string, error) {
	rootFile := filepath.Join(os.TempDir(), fmt.Sprintf("sshplay-test-root-%s-%d.crt", h.Name, time.Now().UnixNano()))
	if err := os.WriteFile(rootFile, root, 0o644); err != nil {
		return "", err
	}
	defer os.Remove(rootFile)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=verify-full sslrootcert=%s sslcert=%s sslkey=%s connect_timeout=5",
		h.Addr, h.PGPort, cc.Role, rootFile, cc.CertFile, cc.KeyFile))
	if err != nil {
		return "", err
	}
	cfg.Fallbacks = nil
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	var who string
	err = c.QueryRow(ctx, "SELECT current_user").Scan(&who)
	return who, err
}

// TestLabClientCAKept: a host serves TLS with a self-signed certificate
// and verifies client certificates against its own client CA (ssl_ca_file;
// a role on hba `cert`). After the job that role still logs in with its
// certificate, now over verify-full against sshplay's root; root.crt holds
// sshplay's root and the client CA; the plan names both; a rerun changes
// nothing.
func TestLabClientCAKept(t *testing.T) {
	l := labtest.New(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := l.Hosts[0]
	cc, err := l.AddClientCertUser(ctx, h.Name, "certuser")
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, l, nil)
	caFile := strings.TrimSpace(psqlOn(t, ctx, d, h, "SHOW ssl_ca_file;"))
	clientCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}

	runs := d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	ca, err := pki.Open(filepath.Join(l.Dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	if who, err := certLogin(ctx, h, cc, ca.RootPEM()); err != nil || who != "certuser" {
		t.Fatalf("client-certificate login after the job: %q %v", who, err)
	}
	sign := runs[h.Name].outcomes["tls_sign"]
	if s := sign.Change.Summary; !strings.Contains(s, `ssl_ca_file trusts: sshplay root "CN=sshplay root CA`) ||
		!strings.Contains(s, "kept from "+caFile+`: "CN=sshplay lab client CA"`) {
		t.Errorf("tls_sign plan %q does not say which CAs the server trusts", s)
	}
	if got := fmt.Sprint(sign.Result["trusted_cas"]); !strings.Contains(got, "sshplay root CA") || !strings.Contains(got, "sshplay lab client CA") {
		t.Errorf("trusted_cas %s", got)
	}
	root, err := os.ReadFile(filepath.Join(h.DataDir, "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertificates(root)
	if err != nil || len(certs) != 2 || !bytes.Equal(certs[0].Raw, ca.Root().Raw) {
		t.Fatalf("root.crt holds %d certificates (%v), want sshplay's root then the client CA", len(certs), err)
	}
	if want, err := pki.ParseCertificates(clientCA); err != nil || !certs[1].Equal(want[0]) {
		t.Errorf("root.crt's second certificate is not the client CA")
	}

	// root.crt is ssl_ca_file now: the rerun keeps the bundle as it is.
	runs = d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	if c := runs[h.Name].changed; len(c) != 0 {
		t.Errorf("rerun changed %v", c)
	}
	if again, _ := os.ReadFile(filepath.Join(h.DataDir, "root.crt")); !bytes.Equal(again, root) {
		t.Error("rerun rewrote root.crt")
	}
	if who, err := certLogin(ctx, h, cc, ca.RootPEM()); err != nil || who != "certuser" {
		t.Errorf("client-certificate login after the rerun: %q %v", who, err)
	}
}

// TestLabIntermediateOff: leaves issued by the intermediate while
// tls_intermediate was on are reissued by the root once it is off;
// server.crt then holds the leaf alone, and a rerun changes nothing.
func TestLabIntermediateOff(t *testing.T) {
	l := labtest.New(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := l.Hosts[0]
	caDir := filepath.Join(l.Dir, "pki-inter")
	crtPath := filepath.Join(h.DataDir, "server.crt")
	requireAllProven(t, newDriver(t, l, map[string]any{"tls_intermediate": true, "tls_ca_dir": caDir}).run(ctx, false), l.Hosts)
	ca, err := pki.Open(caDir)
	if err != nil || !ca.HasIntermediate() {
		t.Fatalf("CA %s without intermediate: %v", caDir, err)
	}
	if b, _ := os.ReadFile(crtPath); strings.Count(string(b), "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("with tls_intermediate server.crt holds:\n%s", b)
	}

	d := newDriver(t, l, map[string]any{"tls_intermediate": false, "tls_ca_dir": caDir})
	check := d.run(ctx, true)[h.Name]
	if s := check.outcomes["tls_sign"].Change.Summary; !strings.Contains(s, "tls_intermediate is false") {
		t.Errorf("check: tls_sign plan %q", s)
	}
	runs := d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	b, err := os.ReadFile(crtPath)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertificates(b)
	if err != nil || len(certs) != 1 {
		t.Fatalf("server.crt holds %d certificates (%v), want the leaf alone", len(certs), err)
	}
	if err := certs[0].CheckSignatureFrom(ca.Root()); err != nil {
		t.Errorf("the leaf is not issued by the root: %v (issuer %s)", err, certs[0].Issuer)
	}
	if c := d.run(ctx, false)[h.Name].changed; len(c) != 0 {
		t.Errorf("rerun changed %v", c)
	}
}
