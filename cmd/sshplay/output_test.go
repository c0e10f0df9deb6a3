package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/golden"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
)

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.File(t, filepath.Join("testdata", name), got)
}

// TestPGStatusJSONShape pins the sshplay.pg-status/v1 document for three
// kinds of host: fully proven, unreachable, and one with every problem
// pg status reports (TLS not enforced, key refused, files not applied,
// a setting waiting for a restart, a failed proof).
func TestPGStatusJSONShape(t *testing.T) {
	notAfter := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	results := []*pg.HostStatus{
		{
			Host: "db01", SSL: true, Enforced: true, HasCert: true,
			Subject: "CN=db01", SANs: []string{"DNS:db01", "IP:127.0.0.11"}, Issuer: "CN=sshplay root CA,O=sshplay",
			CertSHA256: "aa11", NotAfter: notAfter, DaysLeft: 85,
			Verify: []*pg.VerifyResult{
				{Addr: "db01", Port: 5432, OK: true, SSL: true, Version: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384", Bits: 256, SHA256: "aa11", PlainRefused: true},
				{Addr: "127.0.0.11", Port: 5432, OK: true, SSL: true, Version: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384", Bits: 256, SHA256: "aa11", PlainRefused: true},
			},
		},
		{Host: "db02", Unreachable: true, Err: "dial tcp 127.0.0.12:22: connect: connection refused"},
		nil, // a host never inspected (interrupted) is left out, as in the table
		{
			Host: "db03", SSL: true, HasCert: true, EnforceOff: false,
			Subject: "CN=db03", Issuer: "CN=other CA", CertSHA256: "bb22", NotAfter: notAfter, DaysLeft: 85,
			KeyProblem:     "/var/lib/postgresql/15/main/server.key: mode 0644 gives group or world access",
			NotApplied:     []string{"/etc/postgresql/15/main/pg_hba.conf"},
			PendingRestart: []string{"shared_buffers"},
			Verify:         []*pg.VerifyResult{{Addr: "db03", Port: 5433, Error: "x509: certificate signed by unknown authority"}},
		},
	}
	var out bytes.Buffer
	if err := writeJSON(&out, newPGStatusDoc(results)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "pg-status.json", out.Bytes())

	var doc pgStatusDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Hosts) != 3 || !doc.Hosts[0].OK || doc.Hosts[1].OK || doc.Hosts[2].OK {
		t.Errorf("ok per host must follow HostStatus.OK: %+v", doc.Hosts)
	}
}

// TestPGStatusJSONNoHostsIsAnEmptyList: a document with no host still has
// "hosts": [], never null.
func TestPGStatusJSONNoHostsIsAnEmptyList(t *testing.T) {
	var out bytes.Buffer
	if err := writeJSON(&out, newPGStatusDoc(nil)); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "{\n  \"schema\": \"sshplay.pg-status/v1\",\n  \"hosts\": []\n}\n" {
		t.Errorf("got %q", got)
	}
}

// perCAValue matches the fields of a CA document that differ from one CA
// to the next.
var perCAValue = regexp.MustCompile(`("(directory|serial|not_before|not_after|sha256)": )"[^"]*"`)

// TestCAShowJSON: `sshplay ca show --output json` is one sshplay.ca/v1
// document whose values are the CA's own (checked against pki.CertInfo),
// with the intermediate null for a CA without one. The values that differ
// per CA are replaced by placeholders before the shape is compared with
// the golden file.
func TestCAShowJSON(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, c := range []struct {
		name, golden string
		intermediate bool
	}{
		{"root only", "ca-show-root.json", false},
		{"with intermediate", "ca-show-intermediate.json", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pki")
			ca, err := pki.Init(dir, pki.InitOptions{Intermediate: c.intermediate})
			if err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "ca", "show", "--dir", dir, "--output", "json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("not one JSON document: %v\n%s", err, stdout)
			}
			if doc["directory"] != ca.Dir() {
				t.Errorf("directory %v, want %s", doc["directory"], ca.Dir())
			}
			certs := map[string][]byte{"root": ca.RootPEM()}
			if c.intermediate {
				certs["intermediate"] = ca.ChainPEM()
			}
			for key, pemData := range certs {
				info, err := pki.CertInfo(pemData)
				if err != nil {
					t.Fatal(err)
				}
				m, ok := doc[key].(map[string]any)
				if !ok {
					t.Fatalf("%s: not an object: %v", key, doc[key])
				}
				for field, want := range map[string]string{
					"subject": info.Subject, "issuer": info.Issuer, "key_type": info.KeyAlgo, "serial": info.Serial,
					"not_before": info.NotBefore.UTC().Format(time.RFC3339),
					"not_after":  info.NotAfter.UTC().Format(time.RFC3339),
					"sha256":     info.SHA256,
				} {
					if m[field] != want {
						t.Errorf("%s.%s = %v, want %s", key, field, m[field], want)
					}
				}
			}
			// The values are checked; the golden file pins the rest: keys,
			// their order, nesting and the values every new CA shares.
			norm := perCAValue.ReplaceAllString(stdout, `$1"<$2>"`)
			checkGolden(t, c.golden, []byte(norm))
		})
	}
}

// TestOutputFlagRefusesUnknownFormats: every command with --output takes
// text or json; anything else is one line of bad input (exit 5) before
// anything is read or dialed.
func TestOutputFlagRefusesUnknownFormats(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte("[dbservers]\ndb1 ansible_host=127.0.0.99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(site, []byte("- hosts: dbservers\n  tasks:\n    - command: \"true\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"pg", "status", "-i", inv, "--output", "yaml"},
		{"ca", "show", "--dir", filepath.Join(dir, "nopki"), "--output", "yaml"},
		{"play", site, "-i", inv, "--output", "yaml"},
		{"exec", "all", "-i", inv, "--output", "yaml", "--", "true"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if want := `--output: want text or json, got "yaml"`; strings.TrimSpace(stderr) != want {
				t.Errorf("stderr %q, want the one line %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestPGStatusJSONOnLabHost: on a fresh lab host `pg status --output json`
// is one document saying the host is not ok (exit 2, as the table); after
// the postgres-tls playbook it says ok, with every address proven by
// verify-full against the certificate the server is configured with
// (exit 0).
func TestPGStatusJSONOnLabHost(t *testing.T) {
	l := labtest.New(t, 1)
	inv := l.InventoryINI()
	status := func(want int) pgStatusDoc {
		t.Helper()
		code, stdout, stderr := runCLI(t, "pg", "status", "-i", inv, "--output", "json")
		if code != want {
			t.Errorf("pg status: exit %d, want %d\n%s%s", code, want, stdout, stderr)
		}
		var doc pgStatusDoc
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("not one JSON document: %v\n%s", err, stdout)
		}
		if doc.Schema != pgStatusSchema || len(doc.Hosts) != 1 || doc.Hosts[0].Host != l.Hosts[0].Name {
			t.Fatalf("document:\n%s", stdout)
		}
		return doc
	}
	if h := status(exitHostFailed).Hosts[0]; h.OK || h.Enforced {
		t.Errorf("fresh host: %+v, want not ok and not enforced", h)
	}
	if code, stdout, stderr := runCLI(t, "play", "postgres-tls", "-i", inv); code != exitOK {
		t.Fatalf("postgres-tls: exit %d\n%s%s", code, stdout, stderr)
	}
	h := status(exitOK).Hosts[0]
	if !h.OK || !h.SSL || !h.Enforced || h.Certificate == nil || len(h.Addresses) == 0 {
		t.Fatalf("after the playbook: %+v", h)
	}
	for _, a := range h.Addresses {
		if !a.VerifyFullOK || a.SHA256 != h.Certificate.SHA256 || a.TLSVersion == "" || a.Bits == 0 || !a.PlaintextRefused {
			t.Errorf("address %+v: want verify-full ok with certificate %s, TLS details, plaintext refused", a, h.Certificate.SHA256)
		}
	}
}
