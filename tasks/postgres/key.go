package postgres

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var keyParams = append([]string{"pg_tls_dir", "tls_key_type", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir",
	"tls_san", "tls_renew_before_days", "tls_intermediate", "inventory_dir", "sshplay_inventory_dir", "ansible_become_password", "ansible_become_pass"}, commonParams...)

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
	// Mode and Owner of server.key (0 and "" when unknown); ClusterUser
	// owns the data directory; DirExists: the TLS directory exists.
	Mode        uint32
	Owner       string
	ClusterUser string
	DirExists   bool
}

func keyPermProblem(mode uint32, owner, clusterUser string) string {
	return pg.KeyPermProblem(mode, owner, clusterUser)
}

// keyFileProblem stats the key on the host (just before a reload) and says
// why the server would refuse it, "" when it would not (or the key cannot
// be seen: the reload and proof judge that).
func keyFileProblem(ctx context.Context, env *tasks.Env, f *pg.Facts, keyFile string) string {
	fi, err := env.Conn.Stat(ctx, keyFile)
	if err != nil || fi == nil {
		return ""
	}
	cluster := ""
	if f.TLS != nil {
		cluster = f.TLS.ClusterUser
	}
	if cluster == "" {
		if di, err := env.Conn.Stat(ctx, f.DataDirectory); err == nil && di != nil {
			cluster = di.Owner
		}
	}
	if why := keyPermProblem(uint32(fi.Mode.Perm()), fi.Owner, cluster); why != "" {
		return fmt.Sprintf("private key file %s: %s", keyFile, why)
	}
	return ""
}

const (
	markMissing    = "@@sshplay-missing@@"
	markUnreadable = "@@sshplay-unreadable@@"
)

func probeKey(ctx context.Context, c transport.Conn, keyPath, dataDir string) (*keyState, error) {
	k := shellescape.Quote(keyPath)
	cmd := `ds=0; [ -d ` + shellescape.Quote(path.Dir(keyPath)) + ` ] && ds=1; ko=$(stat -c '%a %U' -- ` + k + ` 2>/dev/null) || ko='- -'; ` +
		`du=$(stat -c %U -- ` + shellescape.Quote(dataDir) + ` 2>/dev/null) || du=-; printf '%s %s %s\n' "$ds" "$ko" "$du"; ` +
		`if [ ! -e ` + k + ` ]; then echo ` + markMissing + `; ` +
		`elif out=$(openssl pkey -in ` + k + ` -passin pass: -pubout 2>&1 </dev/null); then printf '%s\n' "$out"; ` +
		`else echo ` + markUnreadable + `; printf '%s\n' "$out" | head -n 3; fi`
	res, err := c.Run(ctx, cmd, transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: inspect %s: %w", c.Host(), keyPath, err)
	}
	meta, out, _ := strings.Cut(string(res.Stdout), "\n")
	var ks *keyState
	switch {
	case strings.HasPrefix(out, markMissing):
		ks = &keyState{}
	case strings.HasPrefix(out, markUnreadable):
		ks = &keyState{Exists: true, Problem: strings.TrimSpace(strings.TrimPrefix(out, markUnreadable))}
	default:
		ks = parsePub([]byte(out))
	}
	if m := strings.Fields(meta); len(m) == 4 {
		ks.DirExists = m[0] == "1"
		if mode, err := strconv.ParseUint(m[1], 8, 32); err == nil {
			ks.Mode = uint32(mode)
		}
		if m[2] != "-" {
			ks.Owner = m[2]
		}
		if m[3] != "-" {
			ks.ClusterUser = m[3]
		}
	}
	return ks, nil
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
	if why := pki.EdwardsInChain(cert, root); why != "" {
		return "refused: " + why + "; libpq's SCRAM channel binding fails with Ed25519/Ed448 certificates (\"could not find digest for NID UNDEF\"), use ECDSA P-256 or RSA"
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
	dir := pg.TrustDir(p.get)
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

func externalMode(p *params) bool { return pg.ExternalCA(p.get) }

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
	tt, err := loadTLSTarget(ctx, env, p)
	if err != nil {
		return nil, err
	}
	f, files, names, ts := tt.facts, tt.files, tt.names, tt.tls
	var ks *keyState
	if ts != nil {
		ks = keyStateOf(ts)
	} else if ks, err = probeKey(ctx, env.Conn, files.Key, f.DataDirectory); err != nil {
		return nil, err
	}
	if ks.Problem != "" {
		perm := ""
		if ks.Owner != "" {
			perm = fmt.Sprintf(" (mode %04o, owner %s)", ks.Mode, ks.Owner)
		}
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: existing key %s%s cannot be used: %s; not replacing it (move it away to have a new one generated)", env.Host, files.Key, perm, ks.Problem)}
	}
	newKey := !ks.Exists || ks.Algo != kt
	permFix := ""
	if ks.Exists && !newKey {
		permFix = keyPermProblem(ks.Mode, ks.Owner, ks.ClusterUser)
	}
	cluster := ks.ClusterUser
	if cluster == "" {
		cluster = "the cluster user"
	}
	var reasons []string
	if !ks.DirExists {
		reasons = append(reasons, fmt.Sprintf("would create directory %s (0700, owner %s)", files.Dir, cluster))
	}
	if permFix != "" {
		reasons = append(reasons, fmt.Sprintf("would chmod 0600 and chown %s %s (%s)", cluster, files.Key, permFix))
	}
	switch {
	case !ks.Exists:
		reasons = append(reasons, fmt.Sprintf("would generate %s key %s (0600, on the host)", kt, files.Key))
	case newKey:
		reasons = append(reasons, fmt.Sprintf("would replace %s key %s with a new %s key", ks.Algo, files.Key, kt))
	}
	var reads []tasks.Precondition
	needCSR := newKey
	if !newKey {
		cert, pending, err := tlsText(ctx, env.Conn, files.Cert, tsFile(ts, "cert"), &reads)
		if err != nil {
			return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.Cert, err)
		}
		root, err := trustRoot(p)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", env.Host, err)
		}
		why := certCheck(cert, root, ks.PubPEM, names, renewBefore(p))
		if why == "" && !pending {
			why = issuerProblem(p, cert)
		}
		if pending || why != "" {
			csr, _, err := tlsText(ctx, env.Conn, files.CSR, tsFile(ts, "csr"), &reads)
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
	if !newKey && !needCSR && permFix == "" && ks.DirExists {
		return &tasks.Change{Action: tasks.None, Summary: fmt.Sprintf("%s key %s kept", ks.Algo, files.Key),
			Result: factsResult(map[string]any{"key": files.Key, "key_type": ks.Algo, "csr": false}, f)}, nil
	}
	action := tasks.Update
	if !ks.Exists {
		action = tasks.Create
	}
	var writes []transport.PlannedFile
	if newKey {
		writes = append(writes, transport.PlannedFile{Path: files.Key, Pending: true, Mode: 0o600})
	}
	if newKey || needCSR {
		writes = append(writes, transport.PlannedFile{Path: files.CSR, Pending: true, Mode: 0o644})
	}
	addext := pg.OpenSSLAddext(f.OpenSSLVersion)
	result := map[string]any{"key": files.Key, "key_type": kt, "csr": true, "csr_path": files.CSR, "names": names.String()}
	if !newKey && !needCSR {
		result["csr"] = false
		delete(result, "csr_path")
	}
	return &tasks.Change{
		Action:  action,
		Summary: strings.Join(reasons, "; "),
		Reads:   reads,
		Writes:  writes,
		Result:  factsResult(maps.Clone(result), f, pg.PartTLS, pg.PartJournal),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			j := journaler(ctx, env, p, f)
			if !ks.DirExists {
				if err := makeTLSDir(ctx, env, p, files.Dir, ks.ClusterUser); err != nil {
					return nil, err
				}
			}
			if permFix != "" {
				if err := j.Before(ctx, files.Key); err != nil {
					return nil, err
				}
				if err := fixKeyPerms(ctx, env, p, files.Key, ks.Owner, ks.ClusterUser); err != nil {
					return nil, err
				}
			}
			if !newKey && !needCSR {
				nf := f.MarkStale(pg.PartJournal)
				if ts != nil {
					st := *ts
					st.KeyMode, st.DirExists = 0o600, true
					if ks.ClusterUser != "" {
						st.KeyOwner = ks.ClusterUser
					}
					nf.TLS = &st
				} else {
					nf = nf.MarkStale(pg.PartTLS)
				}
				return factsResult(maps.Clone(result), nf), nil
			}
			backup := []string{files.CSR}
			if newKey {
				backup = []string{files.Key, files.CSR}
			}
			if err := j.Before(ctx, backup...); err != nil {
				return nil, err
			}
			pub, csr, err := makeKeyCSR(ctx, env.Conn, files, names, addext, newKey, kt)
			if err != nil {
				return nil, err
			}
			// What the command printed is the new state of the key and CSR.
			nf := f.MarkStale(pg.PartJournal)
			if ts != nil {
				st := *ts
				st.KeyExists, st.KeyPub, st.KeyProblem = true, string(pub), ""
				st.DirExists = true
				if newKey {
					st.KeyMode, st.KeyOwner = 0o600, ks.ClusterUser
				}
				st.CSR = pg.TLSFile{Exists: true, Content: string(csr)}
				nf.TLS = &st
			} else {
				nf = nf.MarkStale(pg.PartTLS)
			}
			return factsResult(maps.Clone(result), nf), nil
		},
	}, nil
}

// keyStateOf turns the facts' key probe into a keyState.
func keyStateOf(ts *pg.TLSState) *keyState {
	var ks *keyState
	switch {
	case !ts.KeyExists:
		ks = &keyState{}
	case ts.KeyProblem != "":
		ks = &keyState{Exists: true, Problem: ts.KeyProblem}
	default:
		ks = parsePub([]byte(ts.KeyPub))
	}
	ks.Mode, ks.Owner, ks.ClusterUser, ks.DirExists = ts.KeyMode, ts.KeyOwner, ts.ClusterUser, ts.DirExists
	return ks
}

// asRoot is the connection with become root (sudo), for what the cluster
// user may not do.
func asRoot(env *tasks.Env, p *params) transport.Conn {
	return env.Conn.Become(transport.Become{Enabled: true, Password: p.str("ansible_become_password", p.str("ansible_become_pass", ""))})
}

// makeTLSDir creates the TLS directory 0700 for the cluster user: as the
// connection's user (the cluster user) when it may, else as root.
func makeTLSDir(ctx context.Context, env *tasks.Env, p *params, dir, clusterUser string) error {
	q := shellescape.Quote(dir)
	if _, err := env.Conn.Run(ctx, "mkdir -p -m 0700 -- "+q, transport.RunOptions{}); err == nil {
		return nil
	} else if clusterUser == "" {
		return fmt.Errorf("host %s: create %s: %w", env.Host, dir, err)
	}
	cmd := "install -d -m 0700 -o " + shellescape.Quote(clusterUser) + " -- " + q
	if _, err := asRoot(env, p).Run(ctx, cmd, transport.RunOptions{}); err != nil {
		return fmt.Errorf("host %s: create %s: %w", env.Host, dir, err)
	}
	return nil
}

// fixKeyPerms makes server.key 0600 and owned by the cluster user (as
// root when someone else owns it).
func fixKeyPerms(ctx context.Context, env *tasks.Env, p *params, key, owner, clusterUser string) error {
	q := shellescape.Quote(key)
	c, cmd := env.Conn, "chmod 600 -- "+q
	if clusterUser != "" && owner != clusterUser {
		c, cmd = asRoot(env, p), "chown -- "+shellescape.Quote(clusterUser)+" "+q+" && chmod 600 -- "+q
	}
	if _, err := c.Run(ctx, cmd, transport.RunOptions{}); err != nil {
		return fmt.Errorf("host %s: fix permissions of %s: %w", env.Host, key, err)
	}
	return nil
}

// parsePub parses the public key openssl printed for an existing key.
func parsePub(out []byte) *keyState {
	b, _ := pem.Decode(out)
	if b == nil || b.Type != "PUBLIC KEY" {
		return &keyState{Exists: true, Problem: "openssl printed no public key"}
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return &keyState{Exists: true, Problem: "public key: " + err.Error()}
	}
	return &keyState{Exists: true, PubPEM: pem.EncodeToMemory(b), Algo: pki.KeyAlgo(pub)}
}

// tsFile picks one file of the facts' TLS state (nil without facts).
func tsFile(ts *pg.TLSState, name string) *pg.TLSFile {
	if ts == nil {
		return nil
	}
	switch name {
	case "cert":
		return &ts.Cert
	case "root":
		return &ts.Root
	}
	return &ts.CSR
}

// tlsText returns a TLS file's content for a plan: from the facts when they
// have it (recorded as a precondition, so Apply re-checks it), else read
// through the plan's view (which knows files planned in --check).
func tlsText(ctx context.Context, c transport.Conn, file string, tf *pg.TLSFile, reads *[]tasks.Precondition) (data []byte, pending bool, err error) {
	if tf == nil {
		data, _, pending, err = readPlanned(ctx, c, file, reads)
		return data, pending, err
	}
	if tf.Unreadable {
		return nil, false, fmt.Errorf("host %s: %s exists but cannot be read", c.Host(), file)
	}
	pc := tasks.Precondition{Path: file, Exists: tf.Exists}
	if tf.Exists {
		pc.SHA256 = transport.Checksum([]byte(tf.Content))
		data = []byte(tf.Content)
	}
	*reads = append(*reads, pc)
	return data, false, nil
}

// makeKeyCSR runs, in one command on the host, openssl genpkey (when
// newKey) and openssl req (-addext on OpenSSL 1.1.1+, a small config file
// with -reqexts before that), and prints the public key and the CSR.
func makeKeyCSR(ctx context.Context, c transport.Conn, files tlsFiles, names pg.Names, addext, newKey bool, kt string) (pub, csr []byte, err error) {
	var cmd string
	if newKey {
		tmp := shellescape.Quote(files.Key + ".sshplay-new")
		cmd = "(umask 077 && openssl genpkey " + keyTypes[kt] + " -out " + tmp + " && chmod 600 " + tmp +
			" && mv -f " + tmp + " " + shellescape.Quote(files.Key) + ") </dev/null >&2 || exit 1\n"
	}
	subj := "/CN=" + names.CommonName(c.Host())
	tmp := files.CSR + ".sshplay-new"
	if addext {
		cmd += shellescape.QuoteCommand([]string{"openssl", "req", "-new", "-key", files.Key, "-passin", "pass:", "-subj", subj,
			"-addext", "subjectAltName=" + names.SubjectAltName(), "-out", tmp})
	} else {
		cnf := "[req]\ndistinguished_name=dn\n[dn]\n[san]\nsubjectAltName=" + names.SubjectAltName() + "\n"
		cmd += "cnf=$(mktemp) && printf '%s' " + shellescape.Quote(cnf) + " > \"$cnf\" && " +
			shellescape.QuoteCommand([]string{"openssl", "req", "-new", "-key", files.Key, "-passin", "pass:", "-subj", subj, "-reqexts", "san", "-out", tmp}) +
			" -config \"$cnf\"; rc=$?; rm -f \"$cnf\"; [ $rc -eq 0 ]"
	}
	cmd += " </dev/null >&2 && chmod 644 " + shellescape.Quote(tmp) + " && mv -f " + shellescape.Quote(tmp) + " " + shellescape.Quote(files.CSR) +
		" && openssl pkey -in " + shellescape.Quote(files.Key) + " -passin pass: -pubout </dev/null && cat -- " + shellescape.Quote(files.CSR)
	res, err := c.Run(ctx, cmd, transport.RunOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: write key/CSR %s: %w", c.Host(), files.CSR, err)
	}
	pubOut, csrOut, ok := strings.Cut(string(res.Stdout), "-----END PUBLIC KEY-----\n")
	if !ok || !strings.Contains(csrOut, "CERTIFICATE REQUEST") {
		return nil, nil, fmt.Errorf("host %s: write key/CSR %s: unexpected output %q", c.Host(), files.CSR, truncateText(string(res.Stdout), 120))
	}
	return []byte(pubOut + "-----END PUBLIC KEY-----\n"), []byte(csrOut), nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ipStrings formats IPs for results.
func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
