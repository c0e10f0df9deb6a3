package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

var verifyParams = append([]string{"changed", "pg_tls_dir", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir", "inventory_dir", "sshplay_inventory_dir",
	"pg_host", "pg_user", "pg_password", "pg_password_file", "pg_passfile", "pg_connect_timeout", "pg_tls_enforce", "stage", "enforced"}, commonParams...)

// VerifyHost proves every address of one host: verify-full against root,
// certificate fingerprint equal to expectSHA (when set), plaintext refused
// when enforce. Shared by pg_tls_verify and `sshplay pg status`.
func verifyHost(ctx context.Context, p *args.Args, host string, addrs []string, port int, root []byte, expectSHA string, enforce bool) ([]*pg.VerifyResult, error) {
	user := p.Str("pg_user", "postgres")
	db := p.Str("pg_database", "postgres")
	timeout := time.Duration(p.Int("pg_connect_timeout", 10)) * time.Second
	var out []*pg.VerifyResult
	for _, a := range addrs {
		pw, err := pg.ResolvePassword(func(n string) string { return p.Str(n, "") }, a, port, db, user)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", host, err)
		}
		out = append(out, pg.Verify(ctx, pg.VerifyOptions{Addr: a, Port: port, User: user, Password: pw, Database: db,
			RootPEM: root, Timeout: timeout, ExpectSHA256: expectSHA, CheckPlainRefused: enforce}))
	}
	return out, nil
}

// planVerify proves TLS from the control machine with pgx verify-full.
func planVerify(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_verify", env, raw, verifyParams...)
	if err != nil {
		return nil, err
	}
	changedBefore := p.Bool("changed", false)
	enforce, force := enforceMode(p)
	enforce = p.Bool("enforced", enforce)
	port := p.Int("pg_port", 5432)
	stage := p.Str("stage", "final")
	if p.Err() != nil {
		return nil, p.Err()
	}
	if stage != "tls" && stage != "final" {
		return nil, args.Errorf("pg_tls_verify", "stage", "want tls or final, got %q", stage)
	}
	if stage == "tls" {
		// The handshake proof between the TLS reload and enforcement:
		// pg_hba.conf must not refuse plaintext before TLS is proven.
		enforce = false
		if !changedBefore {
			return &tasks.Change{Action: tasks.None, Summary: "TLS unchanged; proven after enforcement"}, nil
		}
	}
	f, err := hostFacts(ctx, env, p, true)
	if err != nil {
		return nil, err
	}
	ts := tlsFacts(p, f)
	files := filesFor(p, f)
	addrs := pg.Addresses(p.Str("pg_host", ""), p.Str("ansible_host", ""))
	if len(addrs) == 0 {
		addrs = []string{env.Host}
	}
	links := stage == "final" && f.Impact.HasReplication()
	summary := fmt.Sprintf("would verify verify-full TLS on %s port %d", strings.Join(addrs, ", "), port)
	if links {
		summary += " and TLS on every replication link"
	}
	return &tasks.Change{
		Action:      tasks.Run,
		Summary:     summary,
		RunsInCheck: !changedBefore && f.SSLOn(),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			root, err := trustRoot(p)
			if err != nil {
				return nil, fmt.Errorf("host %s: %w", env.Host, err)
			}
			if root == nil {
				return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: no CA root to verify against", env.Host)}
			}
			// The certificate on the host: as the facts (or the module that
			// installed it in this run) saw it, else read now.
			var cert []byte
			if ts != nil && ts.Cert.Exists && !ts.Cert.Unreadable {
				cert = []byte(ts.Cert.Content)
			} else if cert, err = env.Conn.ReadFile(ctx, files.Cert); err != nil {
				return nil, fmt.Errorf("host %s: read %s: %w", env.Host, files.Cert, err)
			}
			sha, err := pg.CertSHA256(cert)
			if err != nil {
				return nil, fmt.Errorf("host %s: %s: %w", env.Host, files.Cert, err)
			}
			results, err := verifyHost(ctx, p, env.Host, addrs, port, root, sha, enforce)
			if err != nil {
				return nil, err
			}
			res := verifyResult(env.Host, results)
			if links {
				if err := proveLinks(ctx, env, targetFor(p, f), res, enforce && !force); err != nil {
					return res, err
				}
			}
			for _, r := range results {
				if !r.OK {
					msg := fmt.Sprintf("host %s: TLS proof failed on %s:%d: %s", env.Host, r.Addr, r.Port, r.Error)
					if strings.Contains(r.Error, "refused TLS") {
						// ssl is on in pg_settings, yet no TLS: the server
						// could not load its TLS files at the reload.
						msg += "; the server did not load its TLS configuration (its log says \"SSL configuration was not reloaded\" and why: a key with group or world access or the wrong owner, a certificate not matching the key, an unusable ssl_ciphers)"
					}
					return nil, &tasks.Failed{Msg: msg, Result: res}
				}
			}
			return res, nil
		},
	}, nil
}

func verifyResult(host string, results []*pg.VerifyResult) map[string]any {
	var list []any
	var lines []string
	ok := true
	for _, r := range results {
		list = append(list, map[string]any{"address": r.Addr, "port": r.Port, "ok": r.OK, "version": r.Version,
			"cipher": r.Cipher, "bits": r.Bits, "sha256": r.SHA256, "plain_refused": r.PlainRefused, "error": r.Error})
		lines = append(lines, ProofLine(host, r))
		ok = ok && r.OK
	}
	res := map[string]any{"changed": false, "ok": ok, "verified": list, "proof": strings.Join(lines, "\n")}
	if len(results) > 0 {
		r := results[0]
		res["version"], res["cipher"], res["bits"], res["sha256"] = r.Version, r.Cipher, r.Bits, r.SHA256
		res[tasks.OutcomeKey] = fmt.Sprintf("verify-full ok on %d address(es), %s", len(results), r.Version)
		if !ok {
			res[tasks.OutcomeKey] = "verify-full FAILED"
		}
	}
	return res
}

// ProofLine is one row of the final proof table:
// host | address | TLS | cipher | bits | cert SHA-256 | verify-full.
func ProofLine(host string, r *pg.VerifyResult) string {
	status := "ok"
	if !r.OK {
		status = "FAILED: " + r.Error
	}
	return fmt.Sprintf("%s | %s:%d | %s | %s | %d | %s | verify-full %s", host, r.Addr, r.Port, r.Version, r.Cipher, r.Bits, r.SHA256, status)
}

// proveLinks adds the server's replication links to the proof: each
// walsender with its TLS version and cipher, the standby's own link with
// its sslmode. With strict, a plaintext walsender fails the proof: it
// would be refused at its next reconnect.
func proveLinks(ctx context.Context, env *tasks.Env, t pg.Target, res map[string]any, strict bool) error {
	l, err := pg.ReadLinks(ctx, env.Conn, t)
	if err != nil {
		return err
	}
	lines := []string{res["proof"].(string)}
	var list []any
	var plain []string
	for _, s := range l.Senders {
		status := "replication TLS ok"
		if !s.SSL {
			status = "replication PLAINTEXT"
			plain = append(plain, fmt.Sprintf("%s from %s", s.Application, s.ClientAddr))
		}
		lines = append(lines, fmt.Sprintf("%s | replication to %s (%s) | %s | %s | %d | - | %s",
			env.Host, s.Application, s.ClientAddr, dash(s.Version), dash(s.Cipher), s.Bits, status))
		list = append(list, map[string]any{"direction": "to standby", "application_name": s.Application, "client_addr": s.ClientAddr,
			"ssl": s.SSL, "version": s.Version, "cipher": s.Cipher, "state": s.State})
	}
	if r := l.Receiver; r != nil {
		mode := conninfoParam(r.Conninfo, "sslmode")
		lines = append(lines, fmt.Sprintf("%s | replication from %s:%s | - | - | 0 | - | %s, sslmode=%s",
			env.Host, conninfoParam(r.Conninfo, "host"), conninfoParam(r.Conninfo, "port"), r.Status, dash(mode)))
		list = append(list, map[string]any{"direction": "from primary", "status": r.Status, "sslmode": mode})
	}
	res["proof"], res["replication"] = strings.Join(lines, "\n"), list
	if strict && len(plain) > 0 {
		return &tasks.Failed{Msg: fmt.Sprintf("host %s: replication without TLS after enforcement: %s (refused at the next reconnect)", env.Host, strings.Join(plain, ", ")), Result: res}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// conninfoParam reads one parameter of a conninfo ("" when unset or the
// string does not parse).
func conninfoParam(conninfo, key string) string {
	c, err := pg.ParseConninfo(conninfo)
	if err != nil {
		return ""
	}
	v, _ := c.Get(key)
	return v
}
