package postgres

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// TestPeerKeys: peer_key_sha256 as the playbook builds it (a list of
// {host, sha256, in_recovery}, with holes for hosts without a key), or as
// a mapping; bad shapes are bad input.
func TestPeerKeys(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		arg  any
		want []peerKey
	}{
		"unset": {nil, nil},
		"list with holes": {[]any{
			map[string]any{"host": "db01", "sha256": strings.ToUpper(shaA), "in_recovery": false},
			nil, "",
			map[string]any{"host": "db02", "sha256": shaA, "in_recovery": "True"},
			map[string]any{"host": "db03", "sha256": "", "in_recovery": false},
		}, []peerKey{{"db01", shaA, false}, {"db02", shaA, true}}},
		"mapping host: sha256":     {map[string]any{"db01": shaB}, []peerKey{{"db01", shaB, false}}},
		"mapping host: {sha256..}": {map[string]any{"db02": map[string]any{"sha256": shaB, "in_recovery": true}}, []peerKey{{"db02", shaB, true}}},
	} {
		args := map[string]any{}
		if c.arg != nil {
			args["peer_key_sha256"] = c.arg
		}
		got, err := peerKeys(testParams(t, args, nil, "peer_key_sha256"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: got %v, want %v", name, got, c.want)
			}
		}
	}
	for name, arg := range map[string]any{
		"short sha":     []any{map[string]any{"host": "db01", "sha256": "abc"}},
		"not a list":    "db01=" + shaA,
		"list of lists": []any{[]any{"db01", shaA}},
		"bad recovery":  map[string]any{"db01": map[string]any{"sha256": shaA, "in_recovery": "maybe"}},
		"a number":      42,
		"no host":       []any{map[string]any{"sha256": shaA}},
	} {
		_, err := peerKeys(testParams(t, map[string]any{"peer_key_sha256": arg}, nil, "peer_key_sha256"))
		var bad interface{ BadInput() bool }
		if err == nil || !errors.As(err, &bad) || !strings.Contains(err.Error(), "peer_key_sha256") {
			t.Errorf("%s: got %v, want bad input naming peer_key_sha256", name, err)
		}
	}
}

// TestKeySharers: of the hosts sharing a key, a primary keeps it before a
// standby, then the first by name; every host comes to the same answer.
func TestKeySharers(t *testing.T) {
	t.Parallel()
	p1, p2, s3 := peerKey{"db01", shaA, false}, peerKey{"db02", shaA, false}, peerKey{"db03", shaA, true}
	other := peerKey{"db04", shaB, false}
	for _, c := range []struct {
		name       string
		self       peerKey
		peers      []peerKey
		shared     string
		wantKeeper string
	}{
		{"alone", p1, []peerKey{p1, other}, "", ""},
		{"no key yet", peerKey{Host: "db05"}, []peerKey{p1}, "", ""},
		{"primary keeps, standby side", s3, []peerKey{p1, s3}, "db01", "db01"},
		{"primary keeps, primary side", p1, []peerKey{p1, s3}, "db03", "db01"},
		{"standby first by name still yields", peerKey{"db00", shaA, true}, []peerKey{p2}, "db02", "db02"},
		{"two primaries: first by name", p2, []peerKey{p1, p2, s3, other}, "db01,db03", "db01"},
		{"two standbys: first by name", s3, []peerKey{{"db09", shaA, true}}, "db09", "db03"},
	} {
		shared, keeper := keySharers(c.self, c.peers)
		if strings.Join(shared, ",") != c.shared || keeper != c.wantKeeper {
			t.Errorf("%s: shared %v keeper %q, want %q keeper %q", c.name, shared, keeper, c.shared, c.wantKeeper)
		}
	}
}

// TestIssuerProblemRootWanted: with tls_intermediate false, a leaf the
// intermediate issued is reissued, one the root issued stays; unset, the
// CA's intermediate keeps its leaves.
func TestIssuerProblemRootWanted(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := pki.Init(dir, pki.InitOptions{Intermediate: true})
	if err != nil {
		t.Fatal(err)
	}
	byInter, err := ca.Sign(testCSR(t), pki.SignRequest{DNSNames: []string{"db1"}, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	byRoot, err := ca.Sign(testCSR(t), pki.SignRequest{DNSNames: []string{"db1"}, Days: 30, ByRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	if why := issuerProblem(testParams(t, nil, map[string]any{"tls_ca_dir": dir}), append(byInter, ca.ChainPEM()...)); why != "" {
		t.Errorf("tls_intermediate unset: intermediate-signed leaf: %q", why)
	}
	for _, vars := range []map[string]any{{"tls_ca_dir": dir, "tls_intermediate": false}, {"tls_ca_dir": dir, "tls_intermediate": "no"}} {
		off := testParams(t, nil, vars)
		if why := issuerProblem(off, append(byInter, ca.ChainPEM()...)); !strings.Contains(why, "tls_intermediate is false") {
			t.Errorf("%v: intermediate-signed leaf: %q", vars, why)
		}
		if why := issuerProblem(off, byRoot); why != "" {
			t.Errorf("%v: root-signed leaf: %q", vars, why)
		}
	}
	ext := testParams(t, nil, map[string]any{"tls_ca_dir": dir, "tls_ca_mode": "external"})
	if why := issuerProblem(ext, byInter); why != "" {
		t.Errorf("external mode judges no issuer: %q", why)
	}
}

// TestSignTrustBundle: tls_sign builds root.crt from sshplay's root and
// the server's current ssl_ca_file, says so, and refuses a CA file it
// cannot read as PEM rather than drop its CAs.
func TestSignTrustBundle(t *testing.T) {
	t.Parallel()
	own, err := pki.Init(filepath.Join(t.TempDir(), "own"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := pki.Init(filepath.Join(t.TempDir(), "client"), pki.InitOptions{CommonName: "Lab client CA"})
	if err != nil {
		t.Fatal(err)
	}
	facts := func(caText string) *pg.Facts {
		return &pg.Facts{DataDirectory: "/data", CAText: caText,
			Settings: []pg.Setting{{Name: "ssl_ca_file", Setting: "client-ca.crt"}}}
	}
	env := &tasks.Env{Host: "db01"}
	s := &signState{p: testParams(t, nil, nil), f: facts(string(client.RootPEM()))}
	b, err := s.trustBundle(env, own.RootPEM())
	if err != nil {
		t.Fatal(err)
	}
	s.trust = b
	want := `ssl_ca_file trusts: sshplay root "CN=sshplay root CA,O=sshplay" + kept from /data/client-ca.crt: "CN=Lab client CA,O=sshplay"`
	if got := s.trustSummary(); got != want {
		t.Errorf("summary\n%s\nwant\n%s", got, want)
	}
	if got := strings.Join(b.Subjects(), "|"); got != "CN=sshplay root CA,O=sshplay|CN=Lab client CA,O=sshplay" {
		t.Errorf("subjects %s", got)
	}
	// Before the CA exists the plan names the root it will have.
	s.trust, _ = s.trustBundle(env, nil)
	if got := s.trustSummary(); !strings.HasPrefix(got, `ssl_ca_file trusts: sshplay root "CN=sshplay root CA,O=sshplay" (new CA in `) || !strings.Contains(got, `kept from /data/client-ca.crt: "CN=Lab client CA,O=sshplay"`) {
		t.Errorf("summary before the CA exists: %s", got)
	}
	s = &signState{p: testParams(t, nil, nil), f: facts("clients are trusted by /etc/ssl/certs\n")}
	_, err = s.trustBundle(env, own.RootPEM())
	var f *tasks.Failed
	if !errorsAs(err, &f) || !strings.Contains(err.Error(), "ssl_ca_file /data/client-ca.crt cannot be read as PEM certificates") {
		t.Errorf("non-PEM ssl_ca_file: %v", err)
	}
}
