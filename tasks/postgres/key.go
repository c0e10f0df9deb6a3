package postgres

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var keyParams = append([]string{"pg_tls_dir", "tls_key_type", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir",
	"tls_san", "tls_renew_before_days", "tls_intermediate", "inventory_dir", "sshplay_inventory_dir", "ansible_become_password", "ansible_become_pass",
	"peer_key_sha256"}, commonParams...)

// keyGen is how openssl makes a key of one tls_key_type: genpkey's
// arguments, and req -newkey's (key and CSR in one process).
type keyGen struct {
	genpkey, newkey []string
}

// keyTypes are the accepted tls_key_type values.
var keyTypes = map[string]keyGen{
	"ecdsa-p256": {
		genpkey: []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve"},
		newkey:  []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve"},
	},
	"rsa-2048": {genpkey: []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, newkey: []string{"-newkey", "rsa:2048"}},
	"rsa-3072": {genpkey: []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"}, newkey: []string{"-newkey", "rsa:3072"}},
	"rsa-4096": {genpkey: []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"}, newkey: []string{"-newkey", "rsa:4096"}},
}

func keyType(p *args.Args) (string, error) {
	t := strings.ToLower(p.Str("tls_key_type", "ecdsa-p256"))
	switch t {
	case "ecdsa", "ec", "p256", "ecdsa-p-256":
		t = "ecdsa-p256"
	case "rsa":
		t = "rsa-3072"
	}
	if t == "ed25519" || t == "ed448" {
		return "", args.Errorf("", "", "tls_key_type %s refused: libpq's SCRAM channel binding fails with Ed25519/Ed448 server certificates (\"could not find digest for NID UNDEF\"); use ecdsa-p256 or rsa-2048/3072/4096", t)
	}
	if _, ok := keyTypes[t]; !ok {
		return "", args.Errorf("", "", "tls_key_type %q: want ecdsa-p256, rsa-2048, rsa-3072 or rsa-4096", t)
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
	if why := keyPermProblem(uint32(fi.Mode.Perm()), fi.Owner, clusterUser(ctx, env.Conn, f)); why != "" {
		return fmt.Sprintf("private key file %s: %s", keyFile, why)
	}
	return ""
}

// clusterUser is the owner of the data directory, who must own server.key:
// the facts' when they know it (nobody chowns a data directory under a
// run), else asked over SFTP; "" when neither can say.
func clusterUser(ctx context.Context, c transport.Conn, f *pg.Facts) string {
	if f.TLS != nil && f.TLS.ClusterUser != "" {
		return f.TLS.ClusterUser
	}
	if di, err := c.Stat(ctx, f.DataDirectory); err == nil && di != nil {
		return di.Owner
	}
	return ""
}

const (
	markMissing    = "@@sshplay-missing@@"
	markUnreadable = "@@sshplay-unreadable@@"
)

// probeKey says what the host has at keyPath without the private key
// leaving it. Mode, owner and the directory come over SFTP, which runs no
// process on the host (the mode is lstat's, as `stat` reports a link); the
// public half comes from `openssl pkey` on the host, the one process the
// probe costs, run only when something is at keyPath.
func probeKey(ctx context.Context, c transport.Conn, keyPath string, f *pg.Facts) (*keyState, error) {
	ks := &keyState{}
	fi, err := c.Stat(ctx, keyPath)
	if !errors.Is(err, fs.ErrNotExist) {
		// A file, a link (dangling or not), or a path SFTP may not see:
		// the shell on the host has the last word, as the server would.
		if ks, err = probeKeyPub(ctx, c, keyPath); err != nil {
			return nil, err
		}
		if fi != nil {
			ks.Mode, ks.Owner = transport.UnixMode(fi.Mode), fi.Owner
		}
	}
	ks.DirExists = ks.Exists || dirExists(ctx, c, path.Dir(keyPath))
	ks.ClusterUser = clusterUser(ctx, c, f)
	return ks, nil
}

// probeKeyPub runs `openssl pkey -pubout` on the key (builtins decide
// whether it is there; no subshell, no pipeline) and parses what it said.
func probeKeyPub(ctx context.Context, c transport.Conn, keyPath string) (*keyState, error) {
	k := shellescape.Quote(keyPath)
	cmd := `if [ -e ` + k + ` ]; then openssl pkey -in ` + k + ` -passin pass: -pubout 2>&1 </dev/null || echo ` + markUnreadable +
		`; else echo ` + markMissing + `; fi`
	res, err := c.Run(ctx, cmd, transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: inspect %s: %w", c.Host(), keyPath, err)
	}
	out := string(res.Stdout)
	switch {
	case strings.HasPrefix(out, markMissing):
		return &keyState{}, nil
	case strings.Contains(out, markUnreadable):
		// openssl's complaint, its first three lines, came before the mark.
		said, _, _ := strings.Cut(out, markUnreadable)
		lines := strings.SplitN(said, "\n", 4)
		return &keyState{Exists: true, Problem: strings.TrimSpace(strings.Join(lines[:min(3, len(lines))], "\n"))}, nil
	}
	return parsePub(res.Stdout), nil
}

// dirExists reports whether dir is a directory, following links as
// `[ -d ]` does (over SFTP: no process on the host).
func dirExists(ctx context.Context, c transport.Conn, dir string) bool {
	_, fi, err := transport.ResolveLinks(ctx, c, dir)
	return err == nil && fi != nil && fi.Mode.IsDir()
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
func trustRoot(p *args.Args) ([]byte, error) {
	dir := pg.TrustDir(lookup(p))
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

func externalMode(p *args.Args) bool { return pg.ExternalCA(lookup(p)) }

func renewBefore(p *args.Args) time.Duration {
	return time.Duration(p.Int("tls_renew_before_days", 30)) * 24 * time.Hour
}

// csrMatches reports whether a CSR on the host is for pubPEM and asks for
// exactly names.
func csrMatches(csrPEM, pubPEM []byte, names pg.Names) bool {
	csr, ok := csrForKey(csrPEM, pubPEM)
	return ok && names.Equal(csr.DNSNames, csr.IPAddresses)
}

// csrForKey parses a CSR and reports whether it is for the public key
// pubPEM (whatever names it asks for).
func csrForKey(csrPEM, pubPEM []byte) (*x509.CertificateRequest, bool) {
	csr, err := pki.ParseCSR(csrPEM)
	if err != nil {
		return nil, false
	}
	der, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
	if err != nil {
		return nil, false
	}
	b, _ := pem.Decode(pubPEM)
	return csr, b != nil && bytes.Equal(b.Bytes, der)
}

// nextKey is where a new key waits in an external CA rollover: beside the
// live server.key, which the server keeps using (with its certificate)
// until the external CA has signed the new key's CSR. server.csr is that
// key's CSR meanwhile.
func (t tlsFiles) nextKey() string { return t.Key + ".next" }

// peerKey is another play host's key fingerprint, from pg_tls_key's
// peer_key_sha256 argument.
type peerKey struct {
	Host       string
	SHA256     string // hex SHA-256 of the public key's DER
	InRecovery bool   // a standby
}

// peerKeys reads peer_key_sha256. The playbook passes a list of mappings
// {host, sha256, in_recovery}, one per play host (see the set_fact
// pg_key_peer in postgres-tls.yml); a mapping host -> sha256 (or host ->
// {sha256, in_recovery}) works too. Entries without a fingerprint (a host
// with no key yet, or whose facts are not known) are skipped.
func peerKeys(p *args.Args) ([]peerKey, error) {
	v, ok := p.Get("peer_key_sha256")
	if !ok {
		return nil, nil
	}
	var out []peerKey
	add := func(host string, e any) error {
		pk, err := parsePeerKey(host, e)
		if err != nil {
			return args.Errorf("pg_tls_key", "peer_key_sha256", "%w", err)
		}
		switch {
		case pk.SHA256 == "":
		case pk.Host == "":
			return args.Errorf("pg_tls_key", "peer_key_sha256", "fingerprint %s without a host", truncateText(pk.SHA256, 16))
		default:
			out = append(out, pk)
		}
		return nil
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				if e == nil || strings.TrimSpace(fmt.Sprint(e)) == "" {
					continue
				}
				return nil, args.Errorf("pg_tls_key", "peer_key_sha256", "want mappings {host, sha256, in_recovery}, got %q", fmt.Sprint(e))
			}
			host, _ := m["host"].(string)
			if err := add(host, m); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for h, e := range x {
			if err := add(h, e); err != nil {
				return nil, err
			}
		}
	case string:
		if strings.TrimSpace(x) != "" {
			return nil, args.Errorf("pg_tls_key", "peer_key_sha256", "want a list of {host, sha256, in_recovery} or a mapping host: sha256, got %q", truncateText(x, 60))
		}
	default:
		return nil, args.Errorf("pg_tls_key", "peer_key_sha256", "want a list or a mapping, got %T", v)
	}
	return out, nil
}

// parsePeerKey reads one peer entry: a fingerprint, or a mapping with
// sha256 and in_recovery.
func parsePeerKey(host string, e any) (peerKey, error) {
	pk := peerKey{Host: strings.TrimSpace(host)}
	var sha any = e
	if m, ok := e.(map[string]any); ok {
		sha = m["sha256"]
		if r, ok := m["in_recovery"]; ok && r != nil {
			b, err := boolean.Parse(r)
			if err != nil {
				return pk, fmt.Errorf("host %s: in_recovery: %v", host, err)
			}
			pk.InRecovery = b
		}
	}
	if sha == nil {
		return pk, nil
	}
	pk.SHA256 = strings.ToLower(strings.TrimSpace(fmt.Sprint(sha)))
	if pk.SHA256 == "" {
		return pk, nil
	}
	if b, err := hex.DecodeString(pk.SHA256); err != nil || len(b) != 32 {
		return pk, fmt.Errorf("host %s: want a hex SHA-256, got %q", host, truncateText(pk.SHA256, 70))
	}
	return pk, nil
}

// keySharers finds the play hosts whose key is this host's (same public
// key fingerprint) and decides who keeps it. One host keeps a shared key:
// a primary before a standby (a standby cloned with pg_basebackup carries
// its primary's server.key), then the first by name; each other host gets
// a key of its own. Every host decides alike, since each sees the same
// fingerprints. It returns the hosts sharing the key and the one keeping
// it ("" when no other host shares it).
func keySharers(self peerKey, peers []peerKey) (shared []string, keeper string) {
	if self.SHA256 == "" {
		return nil, ""
	}
	cands := []peerKey{self}
	for _, pk := range peers {
		if pk.Host != self.Host && pk.SHA256 == self.SHA256 {
			cands = append(cands, pk)
			shared = append(shared, pk.Host)
		}
	}
	if len(shared) == 0 {
		return nil, ""
	}
	sort.Strings(shared)
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].InRecovery != cands[j].InRecovery {
			return !cands[i].InRecovery
		}
		return cands[i].Host < cands[j].Host
	})
	return shared, cands[0].Host
}

// keyPlan is what pg_tls_key decides for one host, stage by stage: which
// key the host must have (decideKey), where a new one goes (live, or
// staged beside the live pair), and whether a CSR must be written
// (decideCSR).
type keyPlan struct {
	p     *args.Args
	kt    string
	peers []peerKey
	tt    *tlsTarget
	ks    *keyState // the live server.key
	next  *keyState // server.key.next, probed only for a staged rollover
	// cert is server.crt as the plan read it (certRead: read already).
	cert        []byte
	certPending bool
	certRead    bool
	// newWhy says why the live key cannot stay ("" when it can);
	// sharedWith are the hosts that share it, keeper the one keeping it.
	newWhy     string
	sharedWith []string
	keeper     string
	// staged: the new key waits as server.key.next (external CA, and a
	// live key+certificate pair that must keep serving).
	staged  bool
	genKey  bool   // Apply generates a key at keyPath
	keyPath string // the key the CSR is (or would be) for
	needCSR bool
	csrWhy  string
	permFix string
	reads   []tasks.Precondition
}

// planKey keeps or (re)creates server.key on the host, and writes a CSR
// when the certificate needs (re)issuing. In external CA mode a host whose
// key and certificate are live gets its new key as server.key.next, so the
// server keeps a matching pair until tls_sign swaps both at once.
func planKey(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	kp, err := newKeyPlan(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	if err := kp.decideKey(ctx, env); err != nil {
		return nil, err
	}
	if !kp.genKey {
		if err := kp.decideCSR(ctx, env); err != nil {
			return nil, err
		}
	}
	if ks := kp.ks; ks.Exists && (!kp.genKey || kp.staged) {
		// The live key stays live: the server must be able to read it.
		kp.permFix = keyPermProblem(ks.Mode, ks.Owner, ks.ClusterUser)
	}
	return kp.change(), nil
}

// newKeyPlan reads the arguments, the facts and the live key; a key that
// exists but cannot be used fails the host (it is never replaced behind
// the operator's back).
func newKeyPlan(ctx context.Context, env *tasks.Env, raw map[string]any) (*keyPlan, error) {
	p, err := newParams("pg_tls_key", env, raw, keyParams...)
	if err != nil {
		return nil, err
	}
	kt, err := keyType(p)
	if err != nil {
		return nil, err
	}
	peers, err := peerKeys(p)
	if err != nil {
		return nil, err
	}
	if p.Err() != nil {
		return nil, p.Err()
	}
	tt, err := loadTLSTarget(ctx, env, p)
	if err != nil {
		return nil, err
	}
	kp := &keyPlan{p: p, kt: kt, peers: peers, tt: tt, keyPath: tt.files.Key}
	if tt.tls != nil {
		kp.ks = keyStateOf(tt.tls)
	} else if kp.ks, err = probeKey(ctx, env.Conn, tt.files.Key, tt.facts); err != nil {
		return nil, err
	}
	if ks := kp.ks; ks.Problem != "" {
		perm := ""
		if ks.Owner != "" {
			perm = fmt.Sprintf(" (mode %04o, owner %s)", ks.Mode, ks.Owner)
		}
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: existing key %s%s cannot be used: %s; not replacing it (move it away to have a new one generated)", env.Host, tt.files.Key, perm, ks.Problem)}
	}
	return kp, nil
}

// decideKey says whether the live key stays: it must exist, be of
// tls_key_type and belong to this host alone. A new key replaces
// server.key directly, unless in external CA mode a live key+certificate
// pair exists: then it is staged (see stage).
func (kp *keyPlan) decideKey(ctx context.Context, env *tasks.Env) error {
	ks := kp.ks
	switch {
	case !ks.Exists:
		kp.newWhy = "no key"
	case ks.Algo != kp.kt:
		kp.newWhy = fmt.Sprintf("%s key, %s wanted", ks.Algo, kp.kt)
	}
	if ks.Exists {
		self := peerKey{Host: kp.p.Str("inventory_hostname", env.Host), SHA256: pg.PublicKeySHA256(ks.PubPEM), InRecovery: kp.tt.facts.InRecovery}
		kp.sharedWith, kp.keeper = keySharers(self, kp.peers)
		if kp.keeper != "" && kp.keeper != self.Host {
			kp.newWhy = joinNonEmpty("; ", kp.newWhy, fmt.Sprintf("key shared with %s (a pg_basebackup clone?): generating a key of its own", strings.Join(kp.sharedWith, ", ")))
		}
	}
	if kp.newWhy == "" {
		return nil
	}
	live, err := kp.livePair(ctx, env)
	if err != nil {
		return err
	}
	if !live || !externalMode(kp.p) {
		kp.genKey = true
		return nil
	}
	return kp.stage(ctx, env)
}

// livePair reports whether server.key and server.crt belong together: the
// pair the server serves, or loads at its next reload. A new key must not
// break it before its own certificate is there.
func (kp *keyPlan) livePair(ctx context.Context, env *tasks.Env) (bool, error) {
	if !kp.ks.Exists {
		return false, nil
	}
	cert, pending, err := kp.liveCert(ctx, env)
	if err != nil || pending || len(cert) == 0 {
		return false, err
	}
	ok, err := pki.PublicKeyMatches(cert, kp.ks.PubPEM)
	return err == nil && ok, nil
}

// liveCert reads server.crt once for the plan.
func (kp *keyPlan) liveCert(ctx context.Context, env *tasks.Env) ([]byte, bool, error) {
	if !kp.certRead {
		files := kp.tt.files
		cert, pending, err := tlsText(ctx, env.Conn, files.Cert, tsFile(kp.tt.tls, "cert"), &kp.reads)
		if err != nil {
			return nil, false, fmt.Errorf("host %s: read %s: %w", env.Host, files.Cert, err)
		}
		kp.cert, kp.certPending, kp.certRead = cert, pending, true
	}
	return kp.cert, kp.certPending, nil
}

// stage plans the new key as server.key.next. A key an earlier run staged
// there is reused when it is usable, of tls_key_type and this host's own,
// so reruns while the external CA has not answered change nothing.
func (kp *keyPlan) stage(ctx context.Context, env *tasks.Env) error {
	kp.staged = true
	kp.keyPath = kp.tt.files.nextKey()
	next, err := probeKey(ctx, env.Conn, kp.keyPath, kp.tt.facts)
	if err != nil {
		return err
	}
	kp.next = next
	sha := pg.PublicKeySHA256(next.PubPEM)
	shared := false
	for _, pk := range kp.peers {
		shared = shared || pk.SHA256 == sha
	}
	kp.genKey = !next.Exists || next.Problem != "" || next.Algo != kp.kt || shared || bytes.Equal(next.PubPEM, kp.ks.PubPEM)
	return nil
}

// decideCSR says whether server.csr must be (re)written for the key that
// stays: the staged key always needs its certificate; the live key only
// when server.crt must be (re)issued. An existing CSR for that key and the
// wanted names is kept.
func (kp *keyPlan) decideCSR(ctx context.Context, env *tasks.Env) error {
	files, names := kp.tt.files, kp.tt.names
	pub := kp.ks.PubPEM
	if kp.staged {
		pub = kp.next.PubPEM
		kp.csrWhy = "the staged key needs its certificate"
	} else {
		cert, pending, err := kp.liveCert(ctx, env)
		if err != nil {
			return err
		}
		root, err := trustRoot(kp.p)
		if err != nil {
			return fmt.Errorf("host %s: %w", env.Host, err)
		}
		kp.csrWhy = certCheck(cert, root, pub, names, renewBefore(kp.p))
		if kp.csrWhy == "" && !pending {
			kp.csrWhy = issuerProblem(kp.p, cert)
		}
		if kp.csrWhy == "" && !pending {
			return nil
		}
	}
	csr, _, err := tlsText(ctx, env.Conn, files.CSR, tsFile(kp.tt.tls, "csr"), &kp.reads)
	if err != nil {
		return fmt.Errorf("host %s: read %s: %w", env.Host, files.CSR, err)
	}
	kp.needCSR = !csrMatches(csr, pub, names)
	return nil
}

// reasons lists what the plan would do, in the order Apply does it.
func (kp *keyPlan) reasons() []string {
	ks, files := kp.ks, kp.tt.files
	cluster := ks.ClusterUser
	if cluster == "" {
		cluster = "the cluster user"
	}
	var r []string
	if !ks.DirExists {
		r = append(r, fmt.Sprintf("would create directory %s (0700, owner %s)", files.Dir, cluster))
	}
	if kp.permFix != "" {
		r = append(r, fmt.Sprintf("would chmod 0600 and chown %s %s (%s)", cluster, files.Key, kp.permFix))
	}
	switch {
	case kp.staged && kp.genKey:
		r = append(r, fmt.Sprintf("would generate %s key %s (0600, owner %s, on the host) beside the live %s, which keeps serving with its certificate until the external CA has signed the new key (%s)", kp.kt, kp.keyPath, cluster, files.Key, kp.newWhy))
	case kp.staged:
		r = append(r, fmt.Sprintf("%s key %s staged earlier is kept (%s)", kp.kt, kp.keyPath, kp.newWhy))
	case kp.genKey && !ks.Exists:
		r = append(r, fmt.Sprintf("would generate %s key %s (0600, on the host)", kp.kt, files.Key))
	case kp.genKey:
		r = append(r, fmt.Sprintf("would replace %s key %s with a new %s key (%s)", ks.Algo, files.Key, kp.kt, kp.newWhy))
	}
	if kp.needCSR && !kp.genKey && !kp.staged {
		r = append(r, "certificate needs issuing ("+kp.csrWhy+")")
	}
	if kp.genKey || kp.needCSR {
		r = append(r, fmt.Sprintf("would write CSR %s for %s (key %s)", files.CSR, kp.tt.names, kp.keyPath))
	}
	return r
}

// change turns the decisions into the plan.
func (kp *keyPlan) change() *tasks.Change {
	files, f := kp.tt.files, kp.tt.facts
	if !kp.genKey && !kp.needCSR && kp.permFix == "" && kp.ks.DirExists {
		return &tasks.Change{Action: tasks.None, Summary: kp.keptSummary(), Reads: kp.reads,
			Result: factsResult(kp.result(false), f)}
	}
	action := tasks.Update
	if !kp.ks.Exists {
		action = tasks.Create
	}
	var writes []overlay.PlannedFile
	if kp.genKey {
		writes = append(writes, overlay.PlannedFile{Path: kp.keyPath, Pending: true, Mode: 0o600})
	}
	if kp.genKey || kp.needCSR {
		writes = append(writes, overlay.PlannedFile{Path: files.CSR, Pending: true, Mode: 0o644})
	}
	return &tasks.Change{
		Action:  action,
		Summary: strings.Join(kp.reasons(), "; "),
		Reads:   kp.reads,
		Writes:  writes,
		Result:  factsResult(kp.result(kp.genKey || kp.needCSR), f, pg.PartTLS, pg.PartJournal),
		Apply:   kp.apply,
	}
}

// keptSummary is the plan's line when nothing changes.
func (kp *keyPlan) keptSummary() string {
	s := fmt.Sprintf("%s key %s kept", kp.ks.Algo, kp.tt.files.Key)
	if kp.staged {
		s = fmt.Sprintf("%s key %s staged (%s); %s key %s stays live until tls_sign installs the new key with its certificate", kp.kt, kp.keyPath, kp.newWhy, kp.ks.Algo, kp.tt.files.Key)
	}
	if kp.keeper != "" {
		s += fmt.Sprintf(" (also on %s, which get a key of their own)", strings.Join(kp.sharedWith, ", "))
	}
	return s
}

// result is what pg_tls_key registers: the key, whether a CSR was
// written, and the staged key of a rollover.
func (kp *keyPlan) result(csr bool) map[string]any {
	r := map[string]any{"key": kp.tt.files.Key, "key_type": kp.ks.Algo, "csr": csr}
	if kp.genKey && !kp.staged {
		r["key_type"] = kp.kt
	}
	if csr {
		r["csr_path"], r["names"] = kp.tt.files.CSR, kp.tt.names.String()
	}
	if kp.staged {
		r["next_key"], r["next_key_type"] = kp.keyPath, kp.kt
	}
	if len(kp.sharedWith) > 0 {
		r["shared_with"] = kp.sharedWith
	}
	r[tasks.OutcomeKey] = kp.outcome()
	return r
}

// outcome is what a host's line says pg_tls_key did (or would do).
func (kp *keyPlan) outcome() string {
	var o string
	switch {
	case kp.staged && kp.genKey:
		o = fmt.Sprintf("new %s key staged as %s (%s)", kp.kt, kp.keyPath, kp.newWhy)
	case kp.staged:
		o = "staged key " + kp.keyPath + " waits for its certificate"
	case kp.genKey:
		o = fmt.Sprintf("new %s key (%s)", kp.kt, kp.newWhy)
	case kp.needCSR:
		o = "key kept, CSR written"
	default:
		o = "key kept"
	}
	if kp.keeper != "" && !kp.genKey && !kp.staged {
		o += "; " + strings.Join(kp.sharedWith, ", ") + " share it and get their own"
	}
	return o
}

// apply carries the plan out: directory, permissions, then the key and
// CSR in one command on the host, each file backed up in the journal first.
func (kp *keyPlan) apply(ctx context.Context, env *tasks.Env) (map[string]any, error) {
	f, files, ks := kp.tt.facts, kp.tt.files, kp.ks
	j := journaler(ctx, env, kp.p, f)
	if !ks.DirExists {
		if err := makeTLSDir(ctx, env, kp.p, files.Dir, ks.ClusterUser); err != nil {
			return nil, err
		}
	}
	if kp.permFix != "" {
		if err := j.Before(ctx, files.Key); err != nil {
			return nil, err
		}
		if err := fixKeyPerms(ctx, env, kp.p, files.Key, ks.Owner, ks.ClusterUser); err != nil {
			return nil, err
		}
	}
	if !kp.genKey && !kp.needCSR {
		return factsResult(kp.result(false), kp.factsAfter(nil, nil)), nil
	}
	backup := []string{files.CSR}
	if kp.genKey {
		backup = []string{kp.keyPath, files.CSR}
	}
	if err := j.Before(ctx, backup...); err != nil {
		return nil, err
	}
	pub, csr, err := makeKeyCSR(ctx, env.Conn, csrRequest{Key: kp.keyPath, CSR: files.CSR, Names: kp.tt.names,
		NewKey: kp.genKey, KeyType: kp.kt, OpenSSL: f.OpenSSLVersion})
	if err != nil {
		return nil, err
	}
	return factsResult(kp.result(true), kp.factsAfter(pub, csr)), nil
}

// factsAfter are the facts once Apply is done: what the command printed is
// the new state of the key and CSR (pub and csr nil when none was
// written). A staged key leaves the live key's facts as they are.
func (kp *keyPlan) factsAfter(pub, csr []byte) *pg.Facts {
	nf := kp.tt.facts.MarkStale(pg.PartJournal)
	ts := kp.tt.tls
	if ts == nil {
		return nf.MarkStale(pg.PartTLS)
	}
	st := *ts
	st.DirExists = true
	if kp.permFix != "" {
		st.KeyMode = 0o600
		if kp.ks.ClusterUser != "" {
			st.KeyOwner = kp.ks.ClusterUser
		}
	}
	if csr != nil {
		st.CSR = pg.TLSFile{Exists: true, Content: string(csr)}
	}
	if pub != nil && !kp.staged {
		st.KeyExists, st.KeyPub, st.KeyProblem = true, string(pub), ""
		st.KeyPubSHA256 = pg.PublicKeySHA256(pub)
		if kp.genKey {
			st.KeyMode, st.KeyOwner = 0o600, kp.ks.ClusterUser
		}
	}
	nf.TLS = &st
	return nf
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
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
func asRoot(env *tasks.Env, p *args.Args) transport.Conn {
	return env.Conn.Become(transport.Become{Enabled: true, Password: p.Str("ansible_become_password", p.Str("ansible_become_pass", ""))})
}

// makeTLSDir creates the TLS directory 0700 for the cluster user: as the
// connection's user (the cluster user) when it may, else as root.
func makeTLSDir(ctx context.Context, env *tasks.Env, p *args.Args, dir, clusterUser string) error {
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
func fixKeyPerms(ctx context.Context, env *tasks.Env, p *args.Args, key, owner, clusterUser string) error {
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

// csrRequest is what makeKeyCSR is asked for: the CSR for Key with the
// inventory's names, and the key itself when NewKey (of type KeyType).
// OpenSSL is the host's `openssl version` line.
type csrRequest struct {
	Key, CSR string
	Names    pg.Names
	NewKey   bool
	KeyType  string
	OpenSSL  string
}

// makeKeyCSR makes, in one command on the host, the key (when NewKey) and
// the CSR, and returns the public key and the CSR. On OpenSSL 1.1.1 and
// later that command runs one process: `openssl req -newkey` writes the
// key (born 0600 under umask 077) and prints the CSR, which the shell
// writes to the CSR file (0644) and prints with builtins. The public key
// is the CSR's, read here, not on the host. A file already there is
// replaced by a rename (one mv), never rewritten in place. Older openssl
// (and LibreSSL) makes the key with genpkey first, and names the SANs in a
// small config file where it has no -addext.
func makeKeyCSR(ctx context.Context, c transport.Conn, r csrRequest) (pub, csr []byte, err error) {
	res, err := c.Run(ctx, keyCSRScript(r, "/CN="+r.Names.CommonName(c.Host())), transport.RunOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: write key/CSR %s: %w", c.Host(), r.CSR, err)
	}
	req, perr := pki.ParseCSR(res.Stdout)
	if perr != nil {
		return nil, nil, fmt.Errorf("host %s: write key/CSR %s: unexpected output %q", c.Host(), r.CSR, truncateText(string(res.Stdout), 120))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: req.RawSubjectPublicKeyInfo}), res.Stdout, nil
}

// keyCSRScript is makeKeyCSR's command: the key and the CSR into $csr,
// then the CSR file and stdout from $csr.
func keyCSRScript(r csrRequest, subj string) string {
	addext := pg.OpenSSLAddext(r.OpenSSL)
	san := "subjectAltName=" + r.Names.SubjectAltName()
	key := shellescape.Quote(r.Key)
	b := "umask 077\n"
	switch {
	case r.NewKey && addext && strings.HasPrefix(r.OpenSSL, "OpenSSL "):
		// A failed command leaves no key behind.
		b += writeTarget("k", r.Key) +
			"csr=$(" + shellescape.QuoteCommand(append(append([]string{"openssl", "req", "-new"}, keyTypes[r.KeyType].newkey...),
			"-nodes", "-subj", subj, "-addext", san)) + " -keyout \"$k\" </dev/null) || { rm -f -- \"$k\"; exit 1; }\n" +
			"[ \"$k\" = " + key + " ] || mv -f -- \"$k\" " + key + " || { rm -f -- \"$k\"; exit 1; }\n"
		return b + csrFileScript(r.CSR)
	case r.NewKey:
		tmp := shellescape.Quote(r.Key + ".sshplay-new")
		b += shellescape.QuoteCommand(append([]string{"openssl", "genpkey"}, keyTypes[r.KeyType].genpkey...)) + " -out " + tmp +
			" </dev/null >&2 && chmod 600 " + tmp + " && mv -f " + tmp + " " + key + " || exit 1\n"
	}
	req := []string{"openssl", "req", "-new", "-key", r.Key, "-passin", "pass:", "-subj", subj}
	if addext {
		b += "csr=$(" + shellescape.QuoteCommand(append(req, "-addext", san)) + " </dev/null) || exit 1\n"
	} else {
		cnf := "[req]\ndistinguished_name=dn\n[dn]\n[san]\n" + san + "\n"
		b += "cnf=$(mktemp) && printf '%s' " + shellescape.Quote(cnf) + " > \"$cnf\" && csr=$(" +
			shellescape.QuoteCommand(append(req, "-reqexts", "san")) + " -config \"$cnf\" </dev/null); rc=$?; rm -f \"$cnf\"; [ $rc -eq 0 ] || exit 1\n"
	}
	return b + csrFileScript(r.CSR)
}

// csrFileScript writes $csr to the CSR file (0644; through a temporary
// file and a rename when one is there already) and prints it, so the
// output is the file's content byte for byte.
func csrFileScript(csrPath string) string {
	q := shellescape.Quote(csrPath)
	return "umask 022\n" + writeTarget("c", csrPath) +
		"printf '%s\\n' \"$csr\" > \"$c\" && { [ \"$c\" = " + q + " ] || mv -f -- \"$c\" " + q + "; } || { rm -f -- \"$c\"; exit 1; }\n" +
		"printf '%s\\n' \"$csr\""
}

// writeTarget sets the shell variable v to the file a command writes
// for p: p itself when nothing is there (no rename needed), else p's
// temporary file, which then replaces p with one mv. A temporary file left
// over is removed first, so the new one gets the umask's mode rather than
// keeping the old file's (openssl and the shell keep an existing file's
// mode).
func writeTarget(v, p string) string {
	q, tmp := shellescape.Quote(p), shellescape.Quote(p+".sshplay-new")
	return v + "=" + q + "; if [ -e " + q + " ] || [ -L " + q + " ]; then " + v + "=" + tmp +
		"; if [ -e " + tmp + " ] || [ -L " + tmp + " ]; then rm -f -- " + tmp + " || exit 1; fi; fi\n"
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
