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
// nothing. It runs on db01 (Debian layout) and db02 (RHEL layout).
func TestLabClientCAKept(t *testing.T) {
	l := labBothLayouts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := newDriver(t, l, nil)
	ccs, caFiles, clientCAs := map[string]*lab.ClientCert{}, map[string]string{}, map[string][]byte{}
	for _, h := range l.Hosts {
		cc, err := l.AddClientCertUser(ctx, h.Name, "certuser")
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		ccs[h.Name] = cc
		caFiles[h.Name] = strings.TrimSpace(psqlOn(t, ctx, d, h, "SHOW ssl_ca_file;"))
		if clientCAs[h.Name], err = os.ReadFile(caFiles[h.Name]); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
	}

	runs := d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	ca, err := pki.Open(filepath.Join(l.Dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string][]byte{}
	eachHost(t, "after the job", l.Hosts, func(t *testing.T, h lab.Host) {
		cc, caFile := ccs[h.Name], caFiles[h.Name]
		if who, err := certLogin(ctx, h, cc, ca.RootPEM()); err != nil || who != "certuser" {
			t.Fatalf("%s: client-certificate login after the job: %q %v", h.Name, who, err)
		}
		sign := runs[h.Name].outcomes["tls_sign"]
		if s := sign.Change.Summary; !strings.Contains(s, `ssl_ca_file trusts: sshplay root "CN=sshplay root CA`) ||
			!strings.Contains(s, "kept from "+caFile+`: "CN=sshplay lab client CA"`) {
			t.Errorf("%s: tls_sign plan %q does not say which CAs the server trusts", h.Name, s)
		}
		if got := fmt.Sprint(sign.Result["trusted_cas"]); !strings.Contains(got, "sshplay root CA") || !strings.Contains(got, "sshplay lab client CA") {
			t.Errorf("%s: trusted_cas %s", h.Name, got)
		}
		root, err := os.ReadFile(filepath.Join(h.DataDir, "root.crt"))
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		roots[h.Name] = root
		certs, err := pki.ParseCertificates(root)
		if err != nil || len(certs) != 2 || !bytes.Equal(certs[0].Raw, ca.Root().Raw) {
			t.Fatalf("%s: root.crt holds %d certificates (%v), want sshplay's root then the client CA", h.Name, len(certs), err)
		}
		if want, err := pki.ParseCertificates(clientCAs[h.Name]); err != nil || !certs[1].Equal(want[0]) {
			t.Errorf("%s: root.crt's second certificate is not the client CA", h.Name)
		}
	})

	// root.crt is ssl_ca_file now: the rerun keeps the bundle as it is.
	runs = d.run(ctx, false)
	eachHost(t, "rerun", l.Hosts, func(t *testing.T, h lab.Host) {
		requireAllProven(t, runs, []lab.Host{h})
		if c := runs[h.Name].changed; len(c) != 0 {
			t.Errorf("%s: rerun changed %v", h.Name, c)
		}
		if again, _ := os.ReadFile(filepath.Join(h.DataDir, "root.crt")); !bytes.Equal(again, roots[h.Name]) {
			t.Errorf("%s: rerun rewrote root.crt", h.Name)
		}
		if who, err := certLogin(ctx, h, ccs[h.Name], ca.RootPEM()); err != nil || who != "certuser" {
			t.Errorf("%s: client-certificate login after the rerun: %q %v", h.Name, who, err)
		}
	})
}

// TestLabIntermediateOff: leaves issued by the intermediate while
// tls_intermediate was on are reissued by the root once it is off;
// server.crt then holds the leaf alone, and a rerun changes nothing. It
// runs on db01 (Debian layout) and db02 (RHEL layout).
func TestLabIntermediateOff(t *testing.T) {
	l := labBothLayouts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	caDir := filepath.Join(l.Dir, "pki-inter")
	crtPath := func(h lab.Host) string { return filepath.Join(h.DataDir, "server.crt") }
	requireAllProven(t, newDriver(t, l, map[string]any{"tls_intermediate": true, "tls_ca_dir": caDir}).run(ctx, false), l.Hosts)
	ca, err := pki.Open(caDir)
	if err != nil || !ca.HasIntermediate() {
		t.Fatalf("CA %s without intermediate: %v", caDir, err)
	}
	eachHost(t, "intermediate on", l.Hosts, func(t *testing.T, h lab.Host) {
		if b, _ := os.ReadFile(crtPath(h)); strings.Count(string(b), "BEGIN CERTIFICATE") != 2 {
			t.Fatalf("%s: with tls_intermediate server.crt holds:\n%s", h.Name, b)
		}
	})

	d := newDriver(t, l, map[string]any{"tls_intermediate": false, "tls_ca_dir": caDir})
	checks := d.run(ctx, true)
	eachHost(t, "check", l.Hosts, func(t *testing.T, h lab.Host) {
		if s := checks[h.Name].outcomes["tls_sign"].Change.Summary; !strings.Contains(s, "tls_intermediate is false") {
			t.Errorf("%s: check: tls_sign plan %q", h.Name, s)
		}
	})
	runs := d.run(ctx, false)
	eachHost(t, "intermediate off", l.Hosts, func(t *testing.T, h lab.Host) {
		requireAllProven(t, runs, []lab.Host{h})
		b, err := os.ReadFile(crtPath(h))
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		certs, err := pki.ParseCertificates(b)
		if err != nil || len(certs) != 1 {
			t.Fatalf("%s: server.crt holds %d certificates (%v), want the leaf alone", h.Name, len(certs), err)
		}
		if err := certs[0].CheckSignatureFrom(ca.Root()); err != nil {
			t.Errorf("%s: the leaf is not issued by the root: %v (issuer %s)", h.Name, err, certs[0].Issuer)
		}
	})
	reruns := d.run(ctx, false)
	eachHost(t, "rerun", l.Hosts, func(t *testing.T, h lab.Host) {
		if c := reruns[h.Name].changed; len(c) != 0 {
			t.Errorf("%s: rerun changed %v", h.Name, c)
		}
	})
}
