package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var signParams = append([]string{"pg_tls_dir", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir", "tls_intermediate",
	"tls_ca_key_type", "tls_san", "tls_cert_days", "tls_renew_before_days", "inventory_dir", "sshplay_inventory_dir"}, commonParams...)

// signState is what tls_sign plans with: the host's TLS files, the root
// clients verify the server against, what root.crt must hold, and the key
// the certificate is for.
type signState struct {
	p            *args.Args
	f            *pg.Facts
	ts           *pg.TLSState
	files        tlsFiles
	names        pg.Names
	days         int
	intermediate bool
	external     bool
	reads        []tasks.Precondition
	csr          []byte
	csrPending   bool
	cert         []byte
	certPending  bool
	hostRoot     []byte
	// root is sshplay's root (our CA's, or the external CA's root.crt):
	// the only anchor the server is verified against. nil before the CA
	// exists.
	root []byte
	// trust is what root.crt (ssl_ca_file, the anchor for *client*
	// certificates) must hold: root, then the CAs the server's current
	// ssl_ca_file (caFile) trusts besides. Own is empty while root is nil.
	trust  *pki.TrustBundle
	caFile string
	// ks is the live server.key (nil when not looked at); next is
	// server.key.next when server.csr is for it (an external rollover).
	ks   *keyState
	next *keyState
	// liveWhy is why server.crt must be reissued for the live key ("" when
	// it is good).
	liveWhy string
}

// planSign decides whether server.crt is still good; if not it signs the
// host's CSR with the control machine's CA (or, in external mode, writes
// the CSR out for an external CA and installs what it returns). root.crt
// becomes sshplay's root plus the client CAs the server trusted before.
func planSign(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	s, err := newSignState(ctx, env, raw)
	if err != nil {
		return nil, err
	}
	if err := s.judgeLive(ctx, env); err != nil {
		return nil, err
	}
	why := "a new key/CSR is planned"
	if s.liveWhy != "" {
		why = s.liveWhy
	}
	if !s.csrPending && !s.certPending {
		if why, err = s.checkCurrent(env); err != nil {
			return nil, err
		}
		if why == "" {
			return s.planKeep(), nil
		}
	}
	if s.external {
		return s.planExternal(ctx, env, why)
	}
	return s.planInternal(why), nil
}

// newSignState reads the arguments and the host's TLS files (from the
// facts, else through the plan's view), and builds the trust bundle.
func newSignState(ctx context.Context, env *tasks.Env, raw map[string]any) (*signState, error) {
	p, err := newParams("tls_sign", env, raw, signParams...)
	if err != nil {
		return nil, err
	}
	s := &signState{p: p, days: p.Int("tls_cert_days", 365), intermediate: wantIntermediate(p), external: externalMode(p)}
	if p.Err() != nil {
		return nil, p.Err()
	}
	tt, err := loadTLSTarget(ctx, env, p)
	if err != nil {
		return nil, err
	}
	s.f, s.files, s.names, s.ts = tt.facts, tt.files, tt.names, tt.tls
	read := func(file, which string) ([]byte, bool, error) {
		data, pending, err := tlsText(ctx, env.Conn, file, tsFile(s.ts, which), &s.reads)
		if err != nil {
			return nil, false, fmt.Errorf("host %s: read %s: %w", env.Host, file, err)
		}
		return data, pending, nil
	}
	if s.csr, s.csrPending, err = read(s.files.CSR, "csr"); err != nil {
		return nil, err
	}
	if s.cert, s.certPending, err = read(s.files.Cert, "cert"); err != nil {
		return nil, err
	}
	if s.hostRoot, _, err = read(s.files.Root, "root"); err != nil {
		return nil, err
	}
	if s.root, err = trustRoot(p); err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	if s.trust, err = s.trustBundle(env, s.root); err != nil {
		return nil, err
	}
	return s, nil
}

// trustBundle is root.crt as it must be with root as sshplay's root: the
// CAs of the server's current ssl_ca_file are kept (after the first run
// that file is root.crt itself, so the bundle carries over unchanged).
func (s *signState) trustBundle(env *tasks.Env, root []byte) (*pki.TrustBundle, error) {
	if st, ok := s.f.Setting("ssl_ca_file"); ok && st.Setting != "" {
		s.caFile = s.f.ResolvePath(st.Setting)
	}
	b, err := pki.NewTrustBundle(root, []byte(s.f.CAText))
	if errors.Is(err, pki.ErrNotPEM) {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: ssl_ca_file %s cannot be read as PEM certificates (%v): the CAs it holds verify client certificates, and sshplay will not replace them with its own root; fix the file or empty ssl_ca_file first", env.Host, s.caFile, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	return b, nil
}

// trustSummary says which CAs the server will trust for client
// certificates: `ssl_ca_file trusts: sshplay root "CN=..." + kept from
// FILE: "CN=..."`.
func (s *signState) trustSummary() string {
	label := "sshplay root"
	if s.external {
		label = "external CA root"
	}
	var own []string
	for _, c := range s.trust.Own {
		own = append(own, fmt.Sprintf("%q", c.Subject.String()))
	}
	out := "ssl_ca_file trusts: " + label + " " + strings.Join(own, ", ")
	if len(own) == 0 {
		out = fmt.Sprintf("ssl_ca_file trusts: %s %q (new CA in %s)", label, pki.InitOptions{}.RootSubject(), caDir(s.p))
	}
	if len(s.trust.Kept) > 0 {
		var kept []string
		for _, c := range s.trust.Kept {
			kept = append(kept, fmt.Sprintf("%q", c.Subject.String()))
		}
		out += " + kept from " + s.caFile + ": " + strings.Join(kept, ", ")
	}
	return out
}

// judgeLive reads the live server.key and says whether server.crt must be
// reissued for it (s.liveWhy), unless an earlier task of this --check plans
// either file (their content is only known after apply). In external mode
// a CSR for another key than server.key means a staged rollover: s.next.
func (s *signState) judgeLive(ctx context.Context, env *tasks.Env) error {
	if s.certPending || overlay.PendingPath(env.Conn, s.files.Key) {
		return nil
	}
	if err := s.loadLiveKey(ctx, env); err != nil {
		return err
	}
	if !s.ks.Exists || s.ks.Problem != "" {
		return nil
	}
	s.liveWhy = certCheck(s.cert, s.root, s.ks.PubPEM, s.names, renewBefore(s.p))
	if s.liveWhy == "" {
		s.liveWhy = issuerProblem(s.p, s.cert)
	}
	if s.external && s.csr != nil {
		return s.findStaged(ctx, env)
	}
	return nil
}

// checkCurrent says why server.crt must be (re)issued, "" when the
// certificate and the key stay as they are. A staged rollover always needs
// the external CA's answer.
func (s *signState) checkCurrent(env *tasks.Env) (string, error) {
	if s.ks == nil || !s.ks.Exists || s.ks.Problem != "" {
		return "", &tasks.Failed{Msg: fmt.Sprintf("host %s: no usable key %s; run pg_tls_key first", env.Host, s.files.Key)}
	}
	pub, why := s.ks.PubPEM, s.liveWhy
	if s.next != nil {
		pub, why = s.next.PubPEM, s.rolloverWhy()
	}
	if why == "" {
		return "", nil
	}
	if s.csr == nil {
		return "", &tasks.Failed{Msg: fmt.Sprintf("host %s: certificate must be issued (%s) but there is no CSR %s; run pg_tls_key first", env.Host, why, s.files.CSR)}
	}
	if !csrMatches(s.csr, pub, s.names) {
		return "", &tasks.Failed{Msg: fmt.Sprintf("host %s: CSR %s does not match key %s or the wanted names %s; run pg_tls_key first", env.Host, s.files.CSR, s.files.Key, s.names)}
	}
	return why, nil
}

// rolloverWhy is why a staged key needs a certificate.
func (s *signState) rolloverWhy() string {
	return "key rollover: " + s.files.nextKey() + " waits for its certificate"
}

// livePub is server.key's public half as the plan read it (nil when it
// did not: installFor reads it then).
func (s *signState) livePub() []byte {
	if s.ks == nil || !s.ks.Exists || s.ks.Problem != "" {
		return nil
	}
	return s.ks.PubPEM
}

// loadLiveKey reads server.key's state: from the facts, else on the host.
func (s *signState) loadLiveKey(ctx context.Context, env *tasks.Env) error {
	if s.ks != nil {
		return nil
	}
	if s.ts != nil {
		s.ks = keyStateOf(s.ts)
		return nil
	}
	ks, err := probeKey(ctx, env.Conn, s.files.Key, s.f)
	s.ks = ks
	return err
}

// findStaged sets s.next when server.csr is not for the live key but for
// a usable server.key.next (what pg_tls_key stages in external mode).
func (s *signState) findStaged(ctx context.Context, env *tasks.Env) error {
	if _, live := csrForKey(s.csr, s.ks.PubPEM); live {
		return nil
	}
	next, err := probeKey(ctx, env.Conn, s.files.nextKey(), s.f)
	if err != nil {
		return err
	}
	if _, ok := csrForKey(s.csr, next.PubPEM); ok && next.Exists && next.Problem == "" {
		s.next = next
	}
	return nil
}

// planKeep: the certificate is good; root.crt is rewritten when it is not
// the trust bundle.
func (s *signState) planKeep() *tasks.Change {
	info, _ := pki.CertInfo(s.cert)
	res := s.certResult(info)
	res[tasks.OutcomeKey] = s.outcome("certificate good")
	if bytes.Equal(s.hostRoot, s.trust.PEM) {
		return &tasks.Change{Action: tasks.None, Summary: "certificate " + s.files.Cert + " is good (" + s.names.String() + "); " + s.trustSummary(),
			Result: factsResult(res, s.f)}
	}
	return &tasks.Change{
		Action: tasks.Update, Summary: "would write " + s.files.Root + " (" + s.trustSummary() + ")", Reads: s.reads,
		Writes: []overlay.PlannedFile{{Path: s.files.Root, Content: s.trust.PEM, Mode: 0o644}},
		Diffs:  []tasks.Diff{tasks.FileDiff(s.files.Root, string(s.hostRoot), string(s.trust.PEM))},
		Result: factsResult(nil, s.f, pg.PartTLS, pg.PartJournal),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			j := journaler(ctx, env, s.p, s.f)
			if err := writeJournaled(ctx, env, j, s.files.Root, s.trust.PEM, transport.WriteOptions{Mode: 0o644}); err != nil {
				return nil, err
			}
			res[tasks.OutcomeKey] = s.outcome("certificate good, " + s.files.Root + " written")
			return factsResult(res, tlsFactsAfter(s.f, s.ts, nil, s.trust.PEM, nil)), nil
		},
	}
}

// writes are the files a signing plan leaves behind.
func (s *signState) writes() []overlay.PlannedFile {
	return []overlay.PlannedFile{{Path: s.files.Cert, Pending: true, Mode: 0o644}, {Path: s.files.Root, Pending: true, Mode: 0o644}}
}

func (s *signState) action() tasks.Action {
	if s.cert != nil || s.certPending {
		return tasks.Update
	}
	return tasks.Create
}

// planInternal signs the CSR with the CA on the control machine (created
// on first use): by the intermediate with tls_intermediate, else by the
// root, even when the CA has an intermediate.
func (s *signState) planInternal(why string) *tasks.Change {
	caNote := ""
	switch hasInter := caHasIntermediate(s.p); {
	case s.root == nil:
		caNote = fmt.Sprintf(" (would create the CA in %s%s)", caDir(s.p), map[bool]string{true: " with an intermediate", false: ""}[s.intermediate])
	case s.intermediate && !hasInter:
		caNote = fmt.Sprintf(" (would add an intermediate CA to %s)", caDir(s.p))
	case !s.intermediate && hasInter:
		caNote = " (signed by the root: tls_intermediate is false)"
	}
	return &tasks.Change{
		Action: s.action(),
		Summary: fmt.Sprintf("would sign a certificate for %s, %d days (%s)%s; install %s and %s; %s",
			s.names, s.days, why, caNote, s.files.Cert, s.files.Root, s.trustSummary()),
		Reads:  s.reads,
		Writes: s.writes(),
		Result: factsResult(map[string]any{"cert": s.files.Cert, "names": s.names.String()}, s.f, pg.PartTLS, pg.PartJournal),
		Apply:  s.applyInternal,
	}
}

// applyInternal signs and installs (see planInternal).
func (s *signState) applyInternal(ctx context.Context, env *tasks.Env) (map[string]any, error) {
	ca, err := pki.Init(caDir(s.p), pki.InitOptions{Intermediate: s.intermediate, KeyType: s.p.Str("tls_ca_key_type", "")})
	if err != nil {
		return nil, fmt.Errorf("host %s: open CA: %w", env.Host, err)
	}
	csr := s.csr
	if csr == nil {
		// Planned in this run after the plan read it: fetch it now.
		if csr, err = env.Conn.ReadFile(ctx, s.files.CSR); err != nil {
			return nil, fmt.Errorf("host %s: fetch CSR %s: %w", env.Host, s.files.CSR, err)
		}
	}
	leaf, err := ca.Sign(csr, pki.SignRequest{DNSNames: s.names.DNS, IPs: s.names.IPs, Days: s.days, Now: nowFunc(), ByRoot: !s.intermediate})
	if err != nil {
		return nil, fmt.Errorf("host %s: sign: %w", env.Host, err)
	}
	if s.intermediate {
		leaf = append(leaf, ca.ChainPEM()...)
	}
	if s.trust, err = s.trustBundle(env, ca.RootPEM()); err != nil {
		return nil, err
	}
	issuer := "the root"
	if s.intermediate {
		issuer = "the intermediate"
	}
	verb := "issued"
	if s.cert != nil || s.certPending {
		verb = "renewed"
	}
	return s.finish(installFor(ctx, env, s.p, s.f, s.ts, s.files, s.livePub(), leaf, s.trust.PEM))(fmt.Sprintf("certificate %s by %s, %d days", verb, issuer, s.days))
}

// finish adds trusted_cas and the outcome to an Apply's result.
func (s *signState) finish(res map[string]any, err error) func(outcome string) (map[string]any, error) {
	return func(outcome string) (map[string]any, error) {
		if res != nil {
			res["trusted_cas"] = s.trust.Subjects()
			res[tasks.OutcomeKey] = s.outcome(outcome)
		}
		return res, err
	}
}

// outcome is what a host's line says tls_sign did, with the client CAs
// root.crt keeps besides sshplay's root.
func (s *signState) outcome(what string) string {
	if n := len(s.trust.Kept); n > 0 {
		return fmt.Sprintf("%s; root.crt keeps %d client CA(s) of %s", what, n, s.caFile)
	}
	return what
}

// install installs a certificate for the key the facts describe: ts's,
// else the fresh TLS facts in f (see installFor).
func install(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts, ts *pg.TLSState, files tlsFiles, bundle, root []byte) (map[string]any, error) {
	known := ts
	if known == nil {
		known = tlsFacts(p, f)
	}
	var pub []byte
	if known != nil && known.KeyExists && known.KeyProblem == "" {
		pub = []byte(known.KeyPub)
	}
	return installFor(ctx, env, p, f, ts, files, pub, bundle, root)
}

// installFor checks that the certificate belongs to the key (pub: its
// public half as this run read it on the host), backs up what it replaces,
// then uploads the bundle and root.crt (root: the trust bundle, see
// pki.NewTrustBundle). A mismatch changes nothing at all.
func installFor(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts, ts *pg.TLSState, files tlsFiles, pub, bundle, root []byte) (map[string]any, error) {
	j := journaler(ctx, env, p, f)
	if err := backupForPair(ctx, env, j, []string{files.Cert, files.Root}, files.Key, files.Cert, pub, bundle); err != nil {
		return nil, err
	}
	if err := writeAll(ctx, env, []fileWrite{{files.Cert, bundle}, {files.Root, root}}); err != nil {
		return nil, err
	}
	info, err := pki.CertInfo(bundle)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	// The files are what was just written and checked.
	return factsResult(certResult(files, info), tlsFactsAfter(f, ts, bundle, root, nil)), nil
}

// backupForPair refuses a certificate bundle that is not for key, then
// backs up and journals paths. pub is the key's public half as this run
// read it on the host: by pg_facts, by pg_tls_key from the CSR openssl
// made with the key, or by this task's probe. Under the run lock nothing
// else of sshplay changes the key after that read, and a key changed
// behind the run's back is caught after the reload (the server keeps its
// old TLS setup and says so in its log; the proof compares the
// certificate it presents), so the check runs here, in Go: the host runs
// the backups, and only when there is something to copy. Without pub the
// key is read on the host first.
func backupForPair(ctx context.Context, env *tasks.Env, j *pg.Journaler, paths []string, key, cert string, pub, bundle []byte) error {
	if len(pub) == 0 {
		ks, err := probeKeyPub(ctx, env.Conn, key)
		if err != nil {
			return err
		}
		if why := ks.Problem; !ks.Exists || why != "" {
			if why == "" {
				why = "no key"
			}
			return &tasks.Failed{Msg: fmt.Sprintf("host %s: check on the host that %s matches the certificate: %s", env.Host, key, why)}
		}
		pub = ks.PubPEM
	}
	if err := pairMatches(env.Host, key, cert, pub, bundle); err != nil {
		return err
	}
	return j.Before(ctx, paths...)
}

// pairMatches says whether the leaf of bundle carries the public key pub
// (of key on the host), as the failure the host gets when it does not.
func pairMatches(host, key, cert string, pub, bundle []byte) error {
	ok, err := pki.PublicKeyMatches(bundle, pub)
	if err != nil {
		return &tasks.Failed{Msg: fmt.Sprintf("host %s: check that %s matches the certificate: %v", host, key, err)}
	}
	if !ok {
		return &tasks.Failed{Msg: fmt.Sprintf("host %s: the certificate for %s does not match %s on the host; nothing uploaded", host, cert, key)}
	}
	return nil
}

// tlsFactsAfter are the facts once the files are written: cert and root as
// uploaded (nil: unchanged), and key the state of server.key after a swap
// (nil: unchanged). Without TLS facts (ts nil) the TLS part is stale.
func tlsFactsAfter(f *pg.Facts, ts *pg.TLSState, cert, root []byte, key *keyState) *pg.Facts {
	nf := f.MarkStale(pg.PartJournal)
	if ts == nil {
		return nf.MarkStale(pg.PartTLS)
	}
	st := *ts
	if cert != nil {
		st.Cert = pg.TLSFile{Exists: true, Content: string(cert)}
	}
	if root != nil {
		st.Root = pg.TLSFile{Exists: true, Content: string(root)}
	}
	if key != nil {
		st.KeyExists, st.KeyPub, st.KeyProblem = true, string(key.PubPEM), ""
		st.KeyPubSHA256 = pg.PublicKeySHA256(key.PubPEM)
		st.KeyMode, st.KeyOwner = key.Mode, key.Owner
	}
	nf.TLS = &st
	return nf
}

func certResult(files tlsFiles, info *pki.Info) map[string]any {
	r := map[string]any{"cert": files.Cert, "root": files.Root}
	if info != nil {
		r["sha256"] = info.SHA256
		r["subject"] = info.Subject
		r["issuer"] = info.Issuer
		r["not_after"] = info.NotAfter.UTC().Format("2006-01-02T15:04:05Z")
		r["dns_names"] = info.DNSNames
		r["ips"] = ipStrings(info.IPs)
	}
	return r
}

// certResult is certResult with the CAs root.crt trusts.
func (s *signState) certResult(info *pki.Info) map[string]any {
	r := certResult(s.files, info)
	r["trusted_cas"] = s.trust.Subjects()
	return r
}

// externalAnswer is what the external CA returned for a host: the leaf
// and intermediates as server.crt holds them, and the root they chain to.
type externalAnswer struct {
	path   string
	bundle []byte
	root   []byte
}

// readAnswer reads DIR/HOST.crt; nil when the external CA has not answered.
// An answer that does not parse or chain to DIR/root.crt fails the host,
// in --check as in the run.
func readAnswer(dir, host string) (*externalAnswer, error) {
	crtPath := filepath.Join(dir, host+".crt")
	if _, err := os.Stat(crtPath); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	leaf, chain, err := pki.ReadSigned(dir, host)
	if err != nil {
		return nil, &tasks.Failed{Msg: err.Error()}
	}
	root, err := pki.ReadRoot(dir)
	if err != nil {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: %v", host, err)}
	}
	return &externalAnswer{path: crtPath, bundle: append(leaf, chain...), root: root}, nil
}

// csrKey is the key server.csr is for: the one the external CA's
// certificate must match.
type csrKey struct {
	ks    *keyState // nil when the key is generated in this run (--check)
	path  string
	label string
	next  bool // server.key.next: installing the certificate swaps it in
}

// wantedKey says which key the answer must match. In a run (and in a
// --check where pg_tls_key plans nothing) it is the key server.csr is for.
// In --check, when pg_tls_key plans a key, its content is not known: no
// answer can match it, which is what the run finds too (a fresh key). When
// it plans only a CSR, the CSR is for a staged server.key.next of
// tls_key_type if there is one, else for server.key.
func (s *signState) wantedKey(ctx context.Context, env *tasks.Env) (csrKey, error) {
	files := s.files
	live := csrKey{ks: s.ks, path: files.Key, label: files.Key}
	staged := csrKey{ks: s.next, path: files.nextKey(), label: files.nextKey() + " (staged; " + files.Key + " stays live until its certificate is here)", next: true}
	switch {
	case s.next != nil:
		return staged, nil
	case !s.csrPending:
		return live, nil
	case overlay.PendingPath(env.Conn, files.nextKey()):
		staged.ks = nil
		return staged, nil
	case overlay.PendingPath(env.Conn, files.Key) || s.ks == nil:
		live.ks = nil
		return live, nil
	}
	next, err := probeKey(ctx, env.Conn, files.nextKey(), s.f)
	if err != nil {
		return live, err
	}
	if kt, _ := keyType(s.p); next.Exists && next.Problem == "" && next.Algo == kt && !bytes.Equal(next.PubPEM, s.ks.PubPEM) {
		s.next, staged.ks = next, next
		return staged, nil
	}
	return live, nil
}

// planExternal installs DIR/HOST.crt when the external CA has answered for
// the key server.csr is for, else writes DIR/HOST.csr and reports
// csr_pending (the playbook then commits and ends the host: the key must
// survive until the certificate comes). An answer for the wrong key or
// names, or one about to expire, is stale: it is ignored, and the plan
// says so, as the run does.
func (s *signState) planExternal(ctx context.Context, env *tasks.Env, why string) (*tasks.Change, error) {
	dir := csrDir(s.p)
	want, err := s.wantedKey(ctx, env)
	if err != nil {
		return nil, err
	}
	if want.next {
		why = s.rolloverWhy()
	}
	ans, err := readAnswer(dir, env.Host)
	if err != nil {
		return nil, err
	}
	if ans == nil {
		return s.planWait(env, why, "", want), nil
	}
	if s.trust, err = s.trustBundle(env, ans.root); err != nil {
		return nil, err
	}
	stale := "it does not match " + want.label
	if want.ks != nil && keyMatches(ans.bundle, want.ks) {
		if stale = certCheck(ans.bundle, ans.root, want.ks.PubPEM, s.names, renewBefore(s.p)); stale == "" {
			if want.next {
				return s.planSwap(ans, want), nil
			}
			return s.planInstall(ans, "", nil), nil
		}
	} else if want.next && s.ks != nil && keyMatches(ans.bundle, s.ks) {
		// An earlier answer, for the live key: as without a rollover, it
		// is installed only when server.crt needs it and it is good.
		bad := certCheck(ans.bundle, ans.root, s.ks.PubPEM, s.names, renewBefore(s.p))
		switch {
		case s.liveWhy == "":
			stale = "it is for the live key " + s.files.Key + ", whose certificate is good"
		case bad != "":
			stale = "it is for the live key " + s.files.Key + ": " + bad
		default:
			wait := s.planWait(env, why, "", want)
			return s.planInstall(ans, "; "+want.path+" keeps waiting: "+wait.Summary, wait), nil
		}
	}
	return s.planWait(env, why, stale, want), nil
}

func keyMatches(cert []byte, ks *keyState) bool {
	ok, err := pki.PublicKeyMatches(cert, ks.PubPEM)
	return err == nil && ok
}

// planInstall installs an answer for the live key (then is a CSR the
// staged key still waits with, written out in the same Apply; nil
// without a rollover).
func (s *signState) planInstall(ans *externalAnswer, note string, then *tasks.Change) *tasks.Change {
	return &tasks.Change{
		Action:  s.action(),
		Summary: fmt.Sprintf("would install %s (signed externally, %s) as %s and %s; %s%s", ans.path, s.names, s.files.Cert, s.files.Root, s.trustSummary(), note),
		Reads:   s.reads, Writes: s.writes(),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			res, err := s.finish(installFor(ctx, env, s.p, s.f, s.ts, s.files, s.livePub(), ans.bundle, s.trust.PEM))("externally signed certificate installed")
			if err != nil || then == nil || then.Apply == nil {
				return res, err
			}
			if _, err := then.Apply(ctx, env); err != nil {
				return nil, err
			}
			return res, nil
		},
	}
}

// planSwap installs the answer for the staged key: server.crt and
// server.key change together (see swapIn), so the server never loads a
// certificate with the other key.
func (s *signState) planSwap(ans *externalAnswer, want csrKey) *tasks.Change {
	return &tasks.Change{
		Action: tasks.Update,
		Summary: fmt.Sprintf("would install %s (signed externally, %s; it matches the staged %s) as %s and move %s over %s in the same command; %s",
			ans.path, s.names, want.path, s.files.Cert, want.path, s.files.Key, s.trustSummary()),
		Reads: s.reads,
		Writes: append(s.writes(), overlay.PlannedFile{Path: s.files.Key, Pending: true, Mode: 0o600},
			overlay.PlannedFile{Path: want.path, Removed: true}),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return s.finish(s.swapIn(ctx, env, ans.bundle, want.ks))("externally signed certificate installed with the staged key")
		},
	}
}

// swapIn installs a certificate for server.key.next and moves that key over
// server.key. The certificate must carry the public key the plan read from
// server.key.next (checked here, see backupForPair); every file is backed
// up and journaled first; root.crt and the certificate (beside server.crt)
// are uploaded, then one command renames the certificate over server.crt
// and server.key.next over server.key. No reload happens in between, and a
// failure after the backups is undone by the rollback (which restores
// server.crt, server.key and server.key.next alike), so the server never
// loads a certificate with another key.
func (s *signState) swapIn(ctx context.Context, env *tasks.Env, bundle []byte, next *keyState) (map[string]any, error) {
	files := s.files
	j := journaler(ctx, env, s.p, s.f)
	var pub []byte
	if next != nil {
		pub = next.PubPEM
	}
	if err := backupForPair(ctx, env, j, []string{files.Cert, files.Root, files.Key, files.nextKey()}, files.nextKey(), files.Cert, pub, bundle); err != nil {
		return nil, err
	}
	tmp := files.Cert + ".sshplay-new"
	if err := writeAll(ctx, env, []fileWrite{{files.Root, s.trust.PEM}, {tmp, bundle}}); err != nil {
		return nil, err
	}
	q := shellescape.Quote(tmp)
	cmd := "mv -f -- " + q + " " + shellescape.Quote(files.Cert) + " && mv -f -- " + shellescape.Quote(files.nextKey()) + " " +
		shellescape.Quote(files.Key) + " || { rm -f -- " + q + "; exit 1; }"
	if _, err := env.Conn.Run(ctx, cmd, transport.RunOptions{}); err != nil {
		return nil, fmt.Errorf("host %s: install %s and move %s over %s: %w", env.Host, files.Cert, files.nextKey(), files.Key, err)
	}
	info, err := pki.CertInfo(bundle)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	res := certResult(files, info)
	res["key_swapped"] = true
	return factsResult(res, tlsFactsAfter(s.f, s.ts, bundle, s.trust.PEM, next)), nil
}

// planWait writes the host's CSR out to DIR/HOST.csr (unless it is there
// already) and reports csr_pending: the host waits for the external CA.
// The plan names the key the certificate must match, and a stale answer
// it ignores.
func (s *signState) planWait(env *tasks.Env, why, stale string, want csrKey) *tasks.Change {
	dir := csrDir(s.p)
	csrOut := filepath.Join(dir, env.Host+".csr")
	note := "; the certificate must match " + want.label
	if stale != "" {
		note += fmt.Sprintf("; %s is stale (%s): ignored", filepath.Join(dir, env.Host+".crt"), stale)
	}
	put := fmt.Sprintf("put %s.crt (leaf + intermediates) and root.crt in %s and re-run", env.Host, dir)
	if old, err := os.ReadFile(csrOut); err == nil && len(s.csr) > 0 && bytes.Equal(old, s.csr) {
		// Still waiting for the external CA: the CSR out there is the
		// host's, nothing to write.
		msg := fmt.Sprintf("waiting for the external CA: %s is unchanged; %s%s", csrOut, put, note)
		return &tasks.Change{Action: tasks.None, Summary: msg, Result: map[string]any{"csr_pending": true, "csr_path": csrOut, "msg": msg,
			tasks.OutcomeKey: "waiting for the external CA"}}
	}
	msg := fmt.Sprintf("CSR written to %s; waiting for the external CA: %s%s", csrOut, put, note)
	return &tasks.Change{
		Action:  tasks.Create,
		Summary: fmt.Sprintf("would write CSR for %s to %s (%s) and stop this host until the external CA has signed%s", s.names, csrOut, why, note),
		Reads:   s.reads,
		Result:  map[string]any{"csr_pending": true, "csr_path": csrOut},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			csr, err := env.Conn.ReadFile(ctx, s.files.CSR)
			if err != nil {
				return nil, fmt.Errorf("host %s: fetch CSR %s: %w", env.Host, s.files.CSR, err)
			}
			if err := pki.WriteCSR(dir, env.Host, csr); err != nil {
				return nil, err
			}
			return map[string]any{"csr_pending": true, "csr_path": csrOut, "msg": msg, tasks.OutcomeKey: "CSR written out, waiting for the external CA"}, nil
		},
	}
}

// caHasIntermediate reports whether the CA in tls_ca_dir has an
// intermediate (false when there is no CA yet).
func caHasIntermediate(p *args.Args) bool {
	ca, err := pki.Open(caDir(p))
	return err == nil && ca.HasIntermediate()
}

// wantIntermediate reads tls_intermediate; unset, it follows the CA (an
// intermediate made by `sshplay ca init --intermediate` keeps signing),
// so only an explicit false makes the root sign again.
func wantIntermediate(p *args.Args) bool {
	if _, set := p.Get("tls_intermediate"); !set {
		return caHasIntermediate(p)
	}
	return p.Bool("tls_intermediate", false)
}

// issuerProblem says why a certificate that chains to our root must still
// be reissued by our CA: with tls_intermediate the leaf must be issued by
// the CA's intermediate, and server.crt must carry it; without it, the
// leaf must be issued by the root itself (a CA that has an intermediate
// keeps it, but no longer signs with it). "" when it is fine or in
// external mode.
func issuerProblem(p *args.Args, cert []byte) string {
	if externalMode(p) {
		return ""
	}
	if _, set := p.Get("tls_intermediate"); !set {
		return ""
	}
	want := wantIntermediate(p)
	ca, err := pki.Open(caDir(p))
	if err != nil {
		return ""
	}
	if !want && !ca.HasIntermediate() {
		return ""
	}
	if want && !ca.HasIntermediate() {
		return "tls_intermediate: the CA gets an intermediate, leaves are reissued by it"
	}
	certs, err := pki.ParseCertificates(cert)
	if err != nil || len(certs) == 0 {
		return "certificate: cannot check its issuer"
	}
	if !want {
		if certs[0].CheckSignatureFrom(ca.Root()) != nil {
			return "issued by the intermediate CA, but tls_intermediate is false: leaves are reissued by the root"
		}
		return ""
	}
	inters, err := pki.ParseCertificates(ca.ChainPEM())
	if err != nil || len(inters) == 0 {
		return "tls_intermediate: cannot read the intermediate CA"
	}
	if certs[0].CheckSignatureFrom(inters[0]) != nil {
		return "not issued by the intermediate CA (tls_intermediate)"
	}
	if len(certs) < 2 || !certs[1].Equal(inters[0]) {
		return "the intermediate CA certificate is missing after the leaf"
	}
	return ""
}
