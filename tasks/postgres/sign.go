package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var signParams = append([]string{"pg_tls_dir", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir", "tls_intermediate",
	"tls_ca_key_type", "tls_san", "tls_cert_days", "tls_renew_before_days", "inventory_dir", "sshplay_inventory_dir"}, commonParams...)

// planSign decides whether server.crt is still good; if not it signs the
// host's CSR with the control machine's CA (or, in external mode, writes
// the CSR out for an external CA and installs what it returns).
func planSign(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("tls_sign", env, args, signParams...)
	if err != nil {
		return nil, err
	}
	days := p.integer("tls_cert_days", 365)
	intermediate := p.boolean("tls_intermediate", false)
	if p.err != nil {
		return nil, p.err
	}
	tt, err := loadTLSTarget(ctx, env, p)
	if err != nil {
		return nil, err
	}
	f, files, names, ts := tt.facts, tt.files, tt.names, tt.tls
	var reads []tasks.Precondition
	csr, csrPending, err := tlsText(ctx, env.Conn, files.CSR, tsFile(ts, "csr"), &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.CSR, err)
	}
	csrExists := csr != nil || csrPending
	cert, certPending, err := tlsText(ctx, env.Conn, files.Cert, tsFile(ts, "cert"), &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.Cert, err)
	}
	certExists := cert != nil || certPending
	hostRoot, _, err := tlsText(ctx, env.Conn, files.Root, tsFile(ts, "root"), &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.Root, err)
	}
	root, err := trustRoot(p)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	external := externalMode(p)

	// Is the current certificate good?
	var ks *keyState
	why := "a new key/CSR is planned"
	if !csrPending && !certPending {
		if ts != nil {
			ks = keyStateOf(ts)
		} else if ks, err = probeKey(ctx, env.Conn, files.Key, f.DataDirectory); err != nil {
			return nil, err
		}
		if !ks.Exists || ks.Problem != "" {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: no usable key %s; run pg_tls_key first", env.Host, files.Key)}
		}
		why = certCheck(cert, root, ks.PubPEM, names, renewBefore(p))
		if why == "" {
			why = issuerProblem(p, cert)
		}
		if why == "" {
			if bytes.Equal(hostRoot, root) {
				info, _ := pki.CertInfo(cert)
				return &tasks.Change{Action: tasks.None, Summary: "certificate " + files.Cert + " is good (" + names.String() + ")",
					Result: factsResult(certResult(files, info), f)}, nil
			}
			// Only root.crt differs.
			return &tasks.Change{
				Action: tasks.Update, Summary: "would write " + files.Root + " (our CA root)", Reads: reads,
				Writes: []transport.PlannedFile{{Path: files.Root, Content: root, Mode: 0o644}},
				Diffs:  []tasks.Diff{tasks.FileDiff(files.Root, string(hostRoot), string(root))},
				Result: factsResult(nil, f, pg.PartTLS, pg.PartJournal),
				Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
					j := journaler(ctx, env, p, f)
					if err := writeJournaled(ctx, env, j, files.Root, root, transport.WriteOptions{Mode: 0o644}); err != nil {
						return nil, err
					}
					info, _ := pki.CertInfo(cert)
					nf := f.MarkStale(pg.PartJournal)
					if ts != nil {
						st := *ts
						st.Root = pg.TLSFile{Exists: true, Content: string(root)}
						nf.TLS = &st
					} else {
						nf = nf.MarkStale(pg.PartTLS)
					}
					return factsResult(certResult(files, info), nf), nil
				},
			}, nil
		}
		if !csrExists {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: certificate must be issued (%s) but there is no CSR %s; run pg_tls_key first", env.Host, why, files.CSR)}
		}
		if !csrMatches(csr, ks.PubPEM, names) {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: CSR %s does not match key %s or the wanted names %s; run pg_tls_key first", env.Host, files.CSR, files.Key, names)}
		}
	}
	action := tasks.Create
	if certExists {
		action = tasks.Update
	}
	writes := []transport.PlannedFile{{Path: files.Cert, Pending: true, Mode: 0o644}, {Path: files.Root, Pending: true, Mode: 0o644}}

	if external {
		return planExternal(ctx, env, p, f, ts, files, names, why, action, reads, writes, ks, csr)
	}

	caNote := ""
	if root == nil {
		caNote = fmt.Sprintf(" (would create the CA in %s%s)", caDir(p), map[bool]string{true: " with an intermediate", false: ""}[intermediate])
	} else if intermediate && !caHasIntermediate(p) {
		caNote = fmt.Sprintf(" (would add an intermediate CA to %s)", caDir(p))
	}
	return &tasks.Change{
		Action:  action,
		Summary: fmt.Sprintf("would sign a certificate for %s, %d days (%s)%s; install %s and %s", names, days, why, caNote, files.Cert, files.Root),
		Reads:   reads,
		Writes:  writes,
		Result:  factsResult(map[string]any{"cert": files.Cert, "names": names.String()}, f, pg.PartTLS, pg.PartJournal),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			ca, err := pki.Init(caDir(p), pki.InitOptions{Intermediate: intermediate, KeyType: p.str("tls_ca_key_type", "")})
			if err != nil {
				return nil, fmt.Errorf("host %s: open CA: %w", env.Host, err)
			}
			if csr == nil {
				// Planned in this run after the plan read it: fetch it now.
				if csr, err = env.Conn.ReadFile(ctx, files.CSR); err != nil {
					return nil, fmt.Errorf("host %s: fetch CSR %s: %w", env.Host, files.CSR, err)
				}
			}
			leaf, err := ca.Sign(csr, pki.SignRequest{DNSNames: names.DNS, IPs: names.IPs, Days: days, Now: nowFunc()})
			if err != nil {
				return nil, fmt.Errorf("host %s: sign: %w", env.Host, err)
			}
			return install(ctx, env, p, f, ts, files, append(leaf, ca.ChainPEM()...), ca.RootPEM())
		},
	}, nil
}

// install proves on the host that the certificate belongs to the key
// (together with the backups, in one command), then uploads the bundle and
// root.
func install(ctx context.Context, env *tasks.Env, p *params, f *pg.Facts, ts *pg.TLSState, files tlsFiles, bundle, root []byte) (map[string]any, error) {
	// One command on the host: the backups (of the TLS files and of the
	// configuration files the run goes on to edit), then the proof that
	// the key on the host belongs to the certificate, which is fed on
	// stdin exactly as it is uploaded next: a mismatch uploads nothing.
	// The comparison runs on the host, before any copy: a mismatch
	// changes nothing at all (exit 3).
	j := journaler(ctx, env, p, f)
	check := "c=$(openssl x509 -noout -pubkey) && k=$(openssl pkey -in " + shellescape.Quote(files.Key) + " -passin pass: -pubout </dev/null) || exit 2\n" +
		"[ \"$c\" = \"$k\" ] || { echo 'sshplay: certificate and key differ' >&2; exit 3; }\nprintf '%s\\n' \"$k\""
	if _, err := j.BeforeRun(ctx, []string{files.Cert, files.Root}, check, transport.RunOptions{Stdin: bytes.NewReader(bundle)}); err != nil {
		var ee *transport.ExitError
		if errors.As(err, &ee) && ee.Code == 3 {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: the certificate for %s does not match %s on the host; nothing uploaded", env.Host, files.Cert, files.Key)}
		}
		if errors.As(err, &ee) {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: check on the host that %s matches the certificate: %v", env.Host, files.Key, err)}
		}
		return nil, fmt.Errorf("host %s: check key and certificate: %w", env.Host, err)
	}
	for _, w := range []struct {
		path string
		data []byte
	}{{files.Cert, bundle}, {files.Root, root}} {
		if err := env.Conn.WriteFile(ctx, w.path, w.data, transport.WriteOptions{Mode: 0o644}); err != nil {
			return nil, fmt.Errorf("host %s: write %s: %w", env.Host, w.path, err)
		}
	}
	info, err := pki.CertInfo(bundle)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	// The files are what was just written and checked on the host.
	nf := f.MarkStale(pg.PartJournal)
	if ts != nil {
		st := *ts
		st.Cert = pg.TLSFile{Exists: true, Content: string(bundle)}
		st.Root = pg.TLSFile{Exists: true, Content: string(root)}
		nf.TLS = &st
	} else {
		nf = nf.MarkStale(pg.PartTLS)
	}
	return factsResult(certResult(files, info), nf), nil
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

// planExternal: install DIR/HOST.crt when the external CA has returned it,
// else write DIR/HOST.csr and report csr_pending (the playbook then commits
// and ends the host: the key must survive until the certificate comes).
func planExternal(ctx context.Context, env *tasks.Env, p *params, f *pg.Facts, ts *pg.TLSState, files tlsFiles, names pg.Names, why string,
	action tasks.Action, reads []tasks.Precondition, writes []transport.PlannedFile, ks *keyState, hostCSR []byte) (*tasks.Change, error) {
	dir := csrDir(p)
	crtPath := filepath.Join(dir, env.Host+".crt")
	_, statErr := os.Stat(crtPath)
	if statErr == nil && ks != nil {
		leaf, chain, err := pki.ReadSigned(dir, env.Host)
		if err != nil {
			return nil, &tasks.Failed{Msg: err.Error()}
		}
		root, err := pki.ReadRoot(dir)
		if err != nil {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: %v", env.Host, err)}
		}
		bundle := append(append([]byte(nil), leaf...), chain...)
		if bad := certCheck(bundle, root, ks.PubPEM, names, renewBefore(p)); bad != "" {
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: %s cannot be installed: %s", env.Host, crtPath, bad)}
		}
		return &tasks.Change{
			Action: action, Summary: fmt.Sprintf("would install %s (signed externally, %s) as %s and %s", crtPath, names, files.Cert, files.Root),
			Reads: reads, Writes: writes,
			Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
				return install(ctx, env, p, f, ts, files, bundle, root)
			},
		}, nil
	} else if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("host %s: %w", env.Host, statErr)
	}
	csrOut := filepath.Join(dir, env.Host+".csr")
	msg := fmt.Sprintf("CSR written to %s; waiting for the external CA: put %s.crt (leaf + intermediates) and root.crt in %s and re-run", csrOut, env.Host, dir)
	if old, err := os.ReadFile(csrOut); err == nil && len(hostCSR) > 0 && bytes.Equal(old, hostCSR) {
		// Still waiting for the external CA: the CSR out there is the
		// host's, nothing to write.
		msg = fmt.Sprintf("waiting for the external CA: %s is unchanged; put %s.crt (leaf + intermediates) and root.crt in %s and re-run", csrOut, env.Host, dir)
		return &tasks.Change{Action: tasks.None, Summary: msg, Result: map[string]any{"csr_pending": true, "csr_path": csrOut, "msg": msg}}, nil
	}
	return &tasks.Change{
		Action:  tasks.Create,
		Summary: fmt.Sprintf("would write CSR for %s to %s (%s) and stop this host until the external CA has signed", names, csrOut, why),
		Reads:   reads,
		Result:  map[string]any{"csr_pending": true, "csr_path": csrOut},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			csr, err := env.Conn.ReadFile(ctx, files.CSR)
			if err != nil {
				return nil, fmt.Errorf("host %s: fetch CSR %s: %w", env.Host, files.CSR, err)
			}
			if err := pki.WriteCSR(dir, env.Host, csr); err != nil {
				return nil, err
			}
			return map[string]any{"csr_pending": true, "csr_path": csrOut, "msg": msg}, nil
		},
	}, nil
}

// caHasIntermediate reports whether the CA in tls_ca_dir has an
// intermediate (false when there is no CA yet).
func caHasIntermediate(p *params) bool {
	ca, err := pki.Open(caDir(p))
	return err == nil && ca.HasIntermediate()
}

// issuerProblem says why a certificate that chains to our root must still
// be reissued: with tls_intermediate the leaf must be issued by the CA's
// intermediate, and server.crt must carry it. "" when it is fine, in
// external mode, or without tls_intermediate.
func issuerProblem(p *params, cert []byte) string {
	if externalMode(p) {
		return ""
	}
	if want, err := toBool(p.str("tls_intermediate", "false")); err != nil || !want {
		return ""
	}
	ca, err := pki.Open(caDir(p))
	if err != nil {
		return ""
	}
	if !ca.HasIntermediate() {
		return "tls_intermediate: the CA gets an intermediate, leaves are reissued by it"
	}
	inters, err := pki.ParseCertificates(ca.ChainPEM())
	if err != nil || len(inters) == 0 {
		return "tls_intermediate: cannot read the intermediate CA"
	}
	certs, err := pki.ParseCertificates(cert)
	if err != nil || len(certs) == 0 {
		return "certificate: cannot check its issuer"
	}
	if certs[0].CheckSignatureFrom(inters[0]) != nil {
		return "not issued by the intermediate CA (tls_intermediate)"
	}
	if len(certs) < 2 || !certs[1].Equal(inters[0]) {
		return "the intermediate CA certificate is missing after the leaf"
	}
	return ""
}
