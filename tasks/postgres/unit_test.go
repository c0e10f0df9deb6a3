package postgres

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

func testParams(t *testing.T, raw, vars map[string]any, known ...string) *args.Args {
	t.Helper()
	p, err := newParams("x", &tasks.Env{Vars: vars}, raw, known...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParams(t *testing.T) {
	t.Parallel()
	p := testParams(t, map[string]any{"a": "True", "n": "7"}, map[string]any{"a": false, "b": "x", "l": "[a, 'b', c]", "n": 3}, "a", "n")
	if !p.Bool("a", false) || p.Str("b", "") != "x" || p.Int("n", 0) != 7 || p.Str("missing", "d") != "d" {
		t.Error("args must beat vars, vars beat defaults")
	}
	if got := strings.Join(p.List("l"), ","); got != "a,b,c" {
		t.Errorf("list = %q", got)
	}
	_, err := newParams("pg_conf", &tasks.Env{}, map[string]any{"bogus": 1}, "a")
	var bi interface{ BadInput() bool }
	if err == nil || !errors.As(err, &bi) || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown argument: %v", err)
	}
	p = testParams(t, map[string]any{"a": "maybe"}, nil, "a")
	p.Bool("a", false)
	if p.Err() == nil {
		t.Error("bad boolean must be an error")
	}
}

// TestParamsReadValuesAsCoreModulesDo: a PostgreSQL module reads a boolean
// or an integer exactly as a core module does. "t" used to be refused
// here, 1.5 truncated to 1, and a blank or "none" boolean read as false.
func TestParamsReadValuesAsCoreModulesDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		kind string // bool or int
		want any    // the value, or "error"
	}{
		{"t", "bool", true}, {"F", "bool", false}, {"yes", "bool", true}, {1, "bool", true}, {"True", "bool", true},
		{"", "bool", "error"}, {"none", "bool", "error"}, {"None", "bool", "error"}, {"maybe", "bool", "error"},
		{1.5, "int", "error"}, {"1.5", "int", "error"}, {30.0, "int", 30}, {" 30 ", "int", 30}, {"abc", "int", "error"},
	}
	for _, tt := range tests {
		pg := testParams(t, map[string]any{"v": tt.in}, nil, "v")
		core, err := args.Parse("copy", map[string]any{"v": tt.in}, "v")
		if err != nil {
			t.Fatal(err)
		}
		var got, gotCore any
		if tt.kind == "bool" {
			got, gotCore = pg.Bool("v", false), core.Bool("v", false)
		} else {
			got, gotCore = pg.Int("v", 0), core.Int("v", 0)
		}
		if tt.want == "error" {
			if pg.Err() == nil || core.Err() == nil {
				t.Errorf("%s %#v: postgres %v (%v), core %v (%v); want errors", tt.kind, tt.in, got, pg.Err(), gotCore, core.Err())
			}
			continue
		}
		if got != tt.want || gotCore != tt.want || pg.Err() != nil || core.Err() != nil {
			t.Errorf("%s %#v: postgres %v (%v), core %v (%v); want %v", tt.kind, tt.in, got, pg.Err(), gotCore, core.Err(), tt.want)
		}
	}
}

// TestBadBooleanVariableIsBadInputBeforeConnecting: pg_facts' variable
// check refuses a blank pg_tls_enforce (read as false before) as bad
// input, naming the variable.
func TestBadBooleanVariableIsBadInputBeforeConnecting(t *testing.T) {
	t.Parallel()
	for _, v := range []any{"", "none", "maybe"} {
		err := factsModule{}.CheckVars("db1", map[string]any{"pg_tls_enforce": v})
		var bi interface{ BadInput() bool }
		if err == nil || !errors.As(err, &bi) || !bi.BadInput() || !strings.Contains(err.Error(), "pg_tls_enforce") {
			t.Errorf("pg_tls_enforce=%q: got %v", v, err)
		}
	}
	if err := (factsModule{}).CheckVars("db1", map[string]any{"pg_tls_enforce": "force", "pg_allow_restart": "t"}); err != nil {
		t.Errorf("force and t refused: %v", err)
	}
}

func TestKeyType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "ecdsa-p256", "ECDSA": "ecdsa-p256", "rsa": "rsa-3072", "rsa-2048": "rsa-2048", "rsa-4096": "rsa-4096"} {
		got, err := keyType(testParams(t, map[string]any{"tls_key_type": in}, nil, "tls_key_type"))
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ed25519", "ed448", "dsa"} {
		_, err := keyType(testParams(t, map[string]any{"tls_key_type": bad}, nil, "tls_key_type"))
		if err == nil {
			t.Errorf("%s: want refusal", bad)
		}
		if bad == "ed25519" && !strings.Contains(err.Error(), "channel binding") {
			t.Errorf("ed25519 refusal must say why: %v", err)
		}
	}
}

func TestWantedSettings(t *testing.T) {
	t.Parallel()
	f := &pg.Facts{DataDirectory: "/d", ServerVersionNum: 110000}
	s := wantedSettings(testParams(t, nil, nil), f)
	if settingsText(s) != "ssl=on ssl_cert_file=/d/server.crt ssl_key_file=/d/server.key ssl_ca_file=/d/root.crt" {
		t.Errorf("pg11: %s", settingsText(s))
	}
	f.ServerVersionNum = 150000
	s = wantedSettings(testParams(t, nil, map[string]any{"pg_tls_dir": "/etc/tls", "pg_ssl_ciphers": "HIGH:!aNULL", "pg_ssl_min_protocol_version": "TLSv1.3"}), f)
	want := "ssl=on ssl_cert_file=/etc/tls/server.crt ssl_key_file=/etc/tls/server.key ssl_ca_file=/etc/tls/root.crt ssl_min_protocol_version=TLSv1.3 ssl_ciphers=HIGH:!aNULL"
	if settingsText(s) != want {
		t.Errorf("pg15: %s", settingsText(s))
	}
	if !sameSetting(f, "ssl_cert_file", "/d/server.crt", "server.crt") || sameSetting(f, "ssl", "on", "off") || !sameSetting(f, "ssl", "on", "true") {
		t.Error("sameSetting")
	}
}

func TestCertCheck(t *testing.T) {
	t.Parallel()
	ca, err := pki.Init(filepath.Join(t.TempDir(), "ca"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "db1"}, DNSNames: []string{"db1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.2")}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	names, _ := pg.WantedNames(pg.SANInput{InventoryHostname: "db1", AnsibleHost: "127.0.0.2"})
	cert, err := ca.Sign(csr, pki.SignRequest{DNSNames: names.DNS, IPs: names.IPs, Days: 365})
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	day := 24 * time.Hour
	if why := certCheck(cert, ca.RootPEM(), pub, names, 30*day); why != "" {
		t.Errorf("good cert rejected: %s", why)
	}
	if !csrMatches(csr, pub, names) {
		t.Error("csr should match")
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	otherPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: otherDER})
	more, _ := pg.WantedNames(pg.SANInput{InventoryHostname: "db1", AnsibleHost: "127.0.0.2", Extra: []string{"db1.example.com"}})
	ca2, _ := pki.Init(filepath.Join(t.TempDir(), "ca2"), pki.InitOptions{})
	for name, why := range map[string]string{
		"no cert":       certCheck(nil, ca.RootPEM(), pub, names, 30*day),
		"no CA":         certCheck(cert, nil, pub, names, 30*day),
		"other key":     certCheck(cert, ca.RootPEM(), otherPub, names, 30*day),
		"names changed": certCheck(cert, ca.RootPEM(), pub, more, 30*day),
		"renew window":  certCheck(cert, ca.RootPEM(), pub, names, 400*day),
		"other CA":      certCheck(cert, ca2.RootPEM(), pub, names, 30*day),
	} {
		if why == "" {
			t.Errorf("%s: accepted", name)
		}
	}
	if csrMatches(csr, otherPub, names) || csrMatches(csr, pub, more) {
		t.Error("csrMatches: stale CSR accepted")
	}
}
