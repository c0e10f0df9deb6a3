package postgres

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var keyParams = append([]string{"pg_tls_dir", "tls_key_type", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir",
	"tls_san", "tls_renew_before_days", "inventory_dir"}, commonParams...)

// keyTypes are the accepted tls_key_type values.
var keyTypes = map[string]string{
	"ecdsa-p256": "-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve",
	"rsa-2048":   "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
	"rsa-3072":   "-algorithm RSA -pkeyopt rsa_keygen_bits:3072",
	"rsa-4096":   "-algorithm RSA -pkeyopt rsa_keygen_bits:4096",
}

func keyType(p *params) (string, error) {
	t := strings.ToLower(p.str("tls_key_type", "ecdsa-p256"))
	switch t {
	case "ecdsa", "ec", "p256", "ecdsa-p-256":
		t = "ecdsa-p256"
	case "rsa":
		t = "rsa-3072"
	}
	if t == "ed25519" || t == "ed448" {
		return "", &argError{fmt.Sprintf("tls_key_type %s refused: libpq's SCRAM channel binding fails with Ed25519/Ed448 server certificates (\"could not find digest for NID UNDEF\"); use ecdsa-p256 or rsa-2048/3072/4096", t)}
	}
	if _, ok := keyTypes[t]; !ok {
		return "", &argError{fmt.Sprintf("tls_key_type %q: want ecdsa-p256, rsa-2048, rsa-3072 or rsa-4096", t)}
	}
	return t, nil
}

// keyState is what the host says about server.key, learned without reading
// the private key: openssl prints the public half on the host.
type keyState struct {
	Exists  bool
	PubPEM  []byte // "" when missing or unreadable
	Algo    string // pki.KeyAlgo of the public key
	Problem string // why the existing key cannot be used
}

const (
	markMissing    = "@@sshplay-missing@@"
	markUnreadable = "@@sshplay-unreadable@@"
)

func probeKey(ctx context.Context, c transport.Conn, keyPath string) (*keyState, error) {
	k := shellescape.Quote(keyPath)
	cmd := `if [ ! -e ` + k + ` ]; then echo ` + markMissing + `; ` +
		`elif out=$(openssl pkey -in ` + k + ` -passin pass: -pubout 2>&1 </dev/null); then printf '%s\n' "$out"; ` +
		`else echo ` + markUnreadable + `; printf '%s\n' "$out" | head -n 3; fi`
	res, err := c.Run(ctx, cmd, transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: inspect %s: %w", c.Host(), keyPath, err)
	}
	out := string(res.Stdout)
	switch {
	case strings.HasPrefix(out, markMissing):
		return &keyState{}, nil
	case strings.HasPrefix(out, markUnreadable):
		return &keyState{Exists: true, Problem: strings.TrimSpace(strings.TrimPrefix(out, markUnreadable))}, nil
	}
	b, _ := pem.Decode(res.Stdout)
	if b == nil || b.Type != "PUBLIC KEY" {
		return &keyState{Exists: true, Problem: "openssl printed no public key"}, nil
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return &keyState{Exists: true, Problem: "public key: " + err.Error()}, nil
	}
	return &keyState{Exists: true, PubPEM: pem.EncodeToMemory(b), Algo: pki.KeyAlgo(pub)}, nil
}

// certCheck says whether the host's server.crt can stay: it chains to the
// trusted root, carries the key's public key and exactly the wanted names,
// and is not within the renewal window. "" means it is good.
func certCheck(cert, root []byte, pubPEM []byte, names pg.Names, renewBefore time.Duration) string {
	if len(cert) == 0 {
		return "no certificate"
	}
	if len(root) == 0 {
		return "no CA yet"
	}
	if err := pki.VerifyChain(cert, nil, root, ""); err != nil {
		return "not issued by our CA: " + err.Error()
	}
	if len(pubPEM) > 0 {
		ok, err := pki.PublicKeyMatches(cert, pubPEM)
		if err != nil {
			return "certificate: " + err.Error()
		}
		if !ok {
			return "certificate does not match the key"
		}
	}
	info, err := pki.CertInfo(cert)
	if err != nil {
		return "certificate: " + err.Error()
	}
	if renew, why := pki.NeedsRenewal(info, names.DNS, names.IPs, renewBefore, nowFunc()); renew {
		return why
	}
	return ""
}

// trustRoot is the root clients verify against: our CA's root, or in
// external mode csr_dir/root.crt. nil when there is none yet.
func trustRoot(p *params) ([]byte, error) {
	dir := caDir(p)
	if externalMode(p) {
		dir = csrDir(p)
	}
	if _, err := os.Stat(filepath.Join(dir, pki.RootCertFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if externalMode(p) {
		return pki.ReadRoot(dir)
	}
	ca, err := pki.Open(dir)
	if err != nil {
		return nil, err
	}
	return ca.RootPEM(), nil
}

func externalMode(p *params) bool {
	return strings.EqualFold(p.str("tls_ca_mode", "internal"), "external")
}

func renewBefore(p *params) time.Duration {
	return time.Duration(p.integer("tls_renew_before_days", 30)) * 24 * time.Hour
}

// csrMatches reports whether a CSR on the host is for pubPEM and asks for
// exactly names.
func csrMatches(csrPEM, pubPEM []byte, names pg.Names) bool {
	csr, err := pki.ParseCSR(csrPEM)
	if err != nil {
		return false
	}
	der, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
	if err != nil {
		return false
	}
	b, _ := pem.Decode(pubPEM)
	if b == nil || !bytes.Equal(b.Bytes, der) {
		return false
	}
	return names.Equal(csr.DNSNames, csr.IPAddresses)
}

// planKey keeps or (re)creates server.key on the host, and writes a CSR
// when the certificate needs (re)issuing.
func planKey(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_key", env, args, keyParams...)
	if err != nil {
		return nil, err
	}
	kt, err := keyType(p)
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	f, err := gather(ctx, env, p)
	if err != nil {
		return nil, err
	}
	files := filesFor(p, f)
	names, err := wantedNames(env, p)
	if err != nil {
		return nil, err
	}
	ks, err := probeKey(ctx, env.Conn, files.Key)
	if err != nil {
		return nil, err
	}
	if ks.Problem != "" {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: existing key %s cannot be used: %s; not replacing it (move it away to have a new one generated)", env.Host, files.Key, ks.Problem)}
	}
	newKey := !ks.Exists || ks.Algo != kt
	var reasons []string
	switch {
	case !ks.Exists:
		reasons = append(reasons, fmt.Sprintf("would generate %s key %s (0600, on the host)", kt, files.Key))
	case newKey:
		reasons = append(reasons, fmt.Sprintf("would replace %s key %s with a new %s key", ks.Algo, files.Key, kt))
	}
	var reads []tasks.Precondition
	needCSR := newKey
	if !newKey {
		cert, _, pending, err := readPlanned(ctx, env.Conn, files.Cert, &reads)
		if err != nil {
			return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.Cert, err)
		}
		root, err := trustRoot(p)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", env.Host, err)
		}
		if why := certCheck(cert, root, ks.PubPEM, names, renewBefore(p)); pending || why != "" {
			csr, _, _, err := readPlanned(ctx, env.Conn, files.CSR, &reads)
			if err != nil {
				return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.CSR, err)
			}
			if !csrMatches(csr, ks.PubPEM, names) {
				needCSR = true
				reasons = append(reasons, "certificate needs issuing ("+why+")")
			}
		}
	}
	if needCSR {
		reasons = append(reasons, fmt.Sprintf("would write CSR %s for %s", files.CSR, names))
	}
	if !newKey && !needCSR {
		return &tasks.Change{Action: tasks.None, Summary: fmt.Sprintf("%s key %s kept", ks.Algo, files.Key),
			Result: map[string]any{"key": files.Key, "key_type": ks.Algo, "csr": false}}, nil
	}
	action := tasks.Update
	if !ks.Exists {
		action = tasks.Create
	}
	var writes []transport.PlannedFile
	if newKey {
		writes = append(writes, transport.PlannedFile{Path: files.Key, Pending: true, Mode: 0o600})
	}
	writes = append(writes, transport.PlannedFile{Path: files.CSR, Pending: true, Mode: 0o644})
	addext := pg.OpenSSLAddext(f.OpenSSLVersion)
	return &tasks.Change{
		Action:  action,
		Summary: strings.Join(reasons, "; "),
		Reads:   reads,
		Writes:  writes,
		Result:  map[string]any{"key": files.Key, "key_type": kt, "csr": true, "csr_path": files.CSR, "names": names.String()},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			j := journaler(ctx, env, p, f)
			if newKey {
				if err := j.Before(ctx, files.Key); err != nil {
					return nil, err
				}
				tmp := shellescape.Quote(files.Key + ".sshplay-new")
				cmd := "umask 077 && openssl genpkey " + keyTypes[kt] + " -out " + tmp + " && chmod 600 " + tmp +
					" && mv -f " + tmp + " " + shellescape.Quote(files.Key)
				if _, err := env.Conn.Run(ctx, cmd, transport.RunOptions{}); err != nil {
					return nil, fmt.Errorf("host %s: generate key %s: %w", env.Host, files.Key, err)
				}
			}
			if err := j.Before(ctx, files.CSR); err != nil {
				return nil, err
			}
			if err := makeCSR(ctx, env.Conn, files, names, addext); err != nil {
				return nil, err
			}
			return map[string]any{"key": files.Key, "key_type": kt, "csr": true, "csr_path": files.CSR, "names": names.String()}, nil
		},
	}, nil
}

// makeCSR runs openssl req on the host: -addext on OpenSSL 1.1.1+, a small
// config file with -reqexts before that.
func makeCSR(ctx context.Context, c transport.Conn, files tlsFiles, names pg.Names, addext bool) error {
	subj := "/CN=" + names.CommonName(c.Host())
	tmp := files.CSR + ".sshplay-new"
	var cmd string
	if addext {
		cmd = shellescape.QuoteCommand([]string{"openssl", "req", "-new", "-key", files.Key, "-passin", "pass:", "-subj", subj,
			"-addext", "subjectAltName=" + names.SubjectAltName(), "-out", tmp})
	} else {
		cnf := "[req]\ndistinguished_name=dn\n[dn]\n[san]\nsubjectAltName=" + names.SubjectAltName() + "\n"
		cmd = "cnf=$(mktemp) && printf '%s' " + shellescape.Quote(cnf) + " > \"$cnf\" && " +
			shellescape.QuoteCommand([]string{"openssl", "req", "-new", "-key", files.Key, "-passin", "pass:", "-subj", subj, "-reqexts", "san", "-out", tmp}) +
			" -config \"$cnf\"; rc=$?; rm -f \"$cnf\"; [ $rc -eq 0 ]"
	}
	cmd += " && chmod 644 " + shellescape.Quote(tmp) + " && mv -f " + shellescape.Quote(tmp) + " " + shellescape.Quote(files.CSR)
	if _, err := c.Run(ctx, cmd+" </dev/null", transport.RunOptions{}); err != nil {
		return fmt.Errorf("host %s: write CSR %s: %w", c.Host(), files.CSR, err)
	}
	return nil
}

// ipStrings formats IPs for results.
func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
