package postgres

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

// TestCheckVars: every bad variable fails pg_facts before any change,
// naming the variable.
func TestCheckVars(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]any) *tasks.Env { return &tasks.Env{Host: "db1", Vars: vars} }
	check := func(vars map[string]any) error {
		p, err := newParams("pg_facts", env(vars), nil)
		if err != nil {
			t.Fatal(err)
		}
		return checkVars(env(vars), p)
	}
	if err := check(map[string]any{"pg_ssl_min_protocol_version": "tlsv1.3", "tls_san": []any{"DNS:pg.lan", "IP:10.0.0.1"}}); err != nil {
		t.Errorf("good vars refused: %v", err)
	}
	for name, c := range map[string]struct {
		vars map[string]any
		want string
	}{
		"key type":         {map[string]any{"tls_key_type": "dsa"}, "tls_key_type"},
		"ed25519":          {map[string]any{"tls_key_type": "ed25519"}, "channel binding"},
		"conf method":      {map[string]any{"pg_conf_method": "sed"}, "pg_conf_method"},
		"cert days":        {map[string]any{"tls_cert_days": "abc"}, "tls_cert_days"},
		"renew >= days":    {map[string]any{"tls_cert_days": 30, "tls_renew_before_days": 30}, "every run would reissue"},
		"protocol":         {map[string]any{"pg_ssl_min_protocol_version": "TLSv1.4"}, "TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"},
		"port":             {map[string]any{"pg_port": 70000}, "pg_port"},
		"ca mode":          {map[string]any{"tls_ca_mode": "vault"}, "tls_ca_mode"},
		"san":              {map[string]any{"tls_san": []any{"IP:nope"}}, "tls_san"},
		"enforce":          {map[string]any{"pg_tls_enforce": "maybe"}, "pg_tls_enforce"},
		"relative tls dir": {map[string]any{"pg_tls_dir": "tls"}, "pg_tls_dir"},
	} {
		err := check(c.vars)
		var f *tasks.Failed
		if err == nil || !errorsAs(err, &f) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("%s: got %v, want a failure naming %q", name, err, c.want)
		}
	}
}

func errorsAs(err error, f **tasks.Failed) bool {
	x, ok := err.(*tasks.Failed)
	*f = x
	return ok
}

// TestProtocolCase: PostgreSQL takes enum values case-insensitively; the
// job normalises them and compares them so, or every run would reload.
func TestProtocolCase(t *testing.T) {
	t.Parallel()
	p := testParams(t, nil, map[string]any{"pg_ssl_min_protocol_version": "tlsv1.3"})
	f := &pg.Facts{ServerVersionNum: 150000, DataDirectory: "/d"}
	var got string
	for _, s := range wantedSettings(p, f) {
		if s.Name == "ssl_min_protocol_version" {
			got = s.Value
		}
	}
	if got != "TLSv1.3" {
		t.Errorf("wanted value %q, want TLSv1.3", got)
	}
	if !sameSetting(f, "ssl_min_protocol_version", "tlsv1.3", "TLSv1.3") {
		t.Error("enum compared case-sensitively")
	}
	if sameSetting(f, "ssl_ciphers", "high", "HIGH") {
		t.Error("cipher strings must stay case-sensitive")
	}
}

// TestTwoInventoriesOneCA: a second -i inventory in another directory uses
// the first one's pki/ (sshplay_inventory_dir), not a CA of its own.
func TestTwoInventoriesOneCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for f, text := range map[string]string{"a/hosts.ini": "[dbservers]\ndb1\n", "b/more.ini": "[dbservers]\ndb2\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := inventory.Load([]string{filepath.Join(dir, "a/hosts.ini"), filepath.Join(dir, "b/more.ini")})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "a", "pki")
	for _, h := range []string{"db1", "db2"} {
		p := testParams(t, nil, inv.HostVars(h))
		if got := caDir(p); got != want {
			t.Errorf("%s: CA dir %s, want %s", h, got, want)
		}
		if got := csrDir(p); got != filepath.Join(dir, "a", "csr") {
			t.Errorf("%s: CSR dir %s", h, got)
		}
	}
}

func TestKeyPermProblem(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode        uint32
		owner, want string
	}{
		{0o600, "postgres", ""},
		{0o400, "postgres", ""},
		{0o640, "root", ""},
		{0o644, "postgres", "group or world access"},
		{0o640, "postgres", "group or world access"},
		{0o644, "root", "at most 0640"},
		{0o600, "root", "cannot read it"},
		{0o600, "nobody", "not the cluster user postgres"},
	} {
		got := keyPermProblem(c.mode, c.owner, "postgres")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%04o %s: got %q, want %q", c.mode, c.owner, got, c.want)
		}
	}
}

// TestIssuerProblem: with tls_intermediate a root-signed leaf is reissued,
// before and after the intermediate exists.
func TestIssuerProblem(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := pki.Init(dir, pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Sign(testCSR(t), pki.SignRequest{DNSNames: []string{"db1"}, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	off := testParams(t, nil, map[string]any{"tls_ca_dir": dir})
	on := testParams(t, nil, map[string]any{"tls_ca_dir": dir, "tls_intermediate": true})
	if why := issuerProblem(off, leaf); why != "" {
		t.Errorf("no intermediate wanted: %s", why)
	}
	if why := issuerProblem(on, leaf); !strings.Contains(why, "intermediate") {
		t.Errorf("root-only CA, intermediate wanted: %q", why)
	}
	ca, err = pki.Init(dir, pki.InitOptions{Intermediate: true})
	if err != nil || !ca.HasIntermediate() {
		t.Fatalf("add intermediate: %v", err)
	}
	if why := issuerProblem(on, leaf); !strings.Contains(why, "not issued by the intermediate") {
		t.Errorf("root-signed leaf: %q", why)
	}
	leaf2, err := ca.Sign(testCSR(t), pki.SignRequest{DNSNames: []string{"db1"}, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	if why := issuerProblem(on, append(leaf2, ca.ChainPEM()...)); why != "" {
		t.Errorf("intermediate-signed bundle: %s", why)
	}
}

func testCSR(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "db1"}, DNSNames: []string{"db1"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestKeyFileProblem: just before a reload the key's mode and owner on the
// host are checked, so the failure (and the rollback) names the real cause
// instead of a TLS proof that merely finds TLS off.
func TestKeyFileProblem(t *testing.T) {
	t.Parallel()
	c := tasktest.New("db1", "postgres")
	c.AddDir("/d", 0o700)
	c.AddFileOwned("/d/server.key", "KEY", 0o644, "postgres", "postgres")
	env := &tasks.Env{Host: "db1", Conn: c}
	f := &pg.Facts{DataDirectory: "/d"}
	if why := keyFileProblem(context.Background(), env, f, "/d/server.key"); !strings.Contains(why, "group or world access") {
		t.Errorf("world-readable key: %q", why)
	}
	c.AddFileOwned("/d/server.key", "KEY", 0o600, "postgres", "postgres")
	if why := keyFileProblem(context.Background(), env, f, "/d/server.key"); why != "" {
		t.Errorf("0600 key: %q", why)
	}
}

// TestReloadRestartProbeErrorWrapped: when a reload leaves a setting
// pending a restart and the restart method cannot be probed, the error
// names the host and the settings and still wraps the probe's cause, so a
// caller can tell a failed command (*transport.ExitError) from the rest.
func TestReloadRestartProbeErrorWrapped(t *testing.T) {
	t.Parallel()
	conn := tasktest.New("db1", "postgres")
	conn.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, stdin []byte) (*transport.Result, bool) {
		switch sql := string(stdin); {
		case strings.Contains(sql, "pg_conf_load_time"):
			return &transport.Result{Stdout: withCleanFiles(sql, fakeReloadReport(sql, `[{"name":"ssl","setting":"on","context":"sighup","pending_restart":false},`+
				`{"name":"ssl_min_protocol_version","setting":"TLSv1.2","context":"sighup","pending_restart":false},`+
				`{"name":"ssl_passphrase_command","setting":"","context":"postmaster","pending_restart":true}]`, "-"))}, true
		case strings.Contains(cmd, "systemctl") || strings.Contains(cmd, "pg_ctl"):
			// The restart probe: the host cannot tell.
			return &transport.Result{ExitCode: 3, Stderr: []byte("probe: permission denied\n")}, true
		}
		return nil, false
	})
	env := &tasks.Env{Host: "db1", Conn: conn, Vars: map[string]any{}}
	p, err := newParams("pg_reload", env, nil, reloadParams...)
	if err != nil {
		t.Fatal(err)
	}
	f := &pg.Facts{ServerVersionNum: 150000, DataDirectory: "/d", PostmasterPID: 4242}
	_, err = applyReload(context.Background(), env, p, f, false, nil, time.Second)
	var ee *transport.ExitError
	if err == nil || !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("got %v, want an error wrapping the probe's *transport.ExitError", err)
	}
	for _, want := range []string{"host db1:", "ssl_passphrase_command need a restart", "pg_restart_command"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
