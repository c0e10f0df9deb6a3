package postgres

import (
	"fmt"
	"path"
	"strings"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

// tlsVersions are the values PostgreSQL accepts for ssl_min_protocol_version
// and ssl_max_protocol_version (matched case-insensitively, as the server
// does), in their canonical spelling.
var tlsVersions = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

// protocolVersion returns the canonical spelling of a TLS protocol
// version, or an error naming the allowed values.
func protocolVersion(name, v string) (string, error) {
	for _, want := range tlsVersions {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return want, nil
		}
	}
	return "", fmt.Errorf("%s %q: want one of %s", name, v, strings.Join(tlsVersions, ", "))
}

// enumSetting reports whether the server compares a setting's values
// case-insensitively (an enum GUC).
func enumSetting(name string) bool {
	return name == "ssl_min_protocol_version" || name == "ssl_max_protocol_version"
}

// checkVars validates every variable of the TLS job before anything
// changes (pg_facts runs it first), so that a bad value fails the host
// with its real reason instead of failing late after changes and a
// rollback.
func checkVars(env *tasks.Env, p *args.Args) error {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if _, err := keyType(p); err != nil {
		add("%v", err)
	}
	if m := p.Str("pg_conf_method", "file"); m != "file" && m != "alter_system" {
		add("pg_conf_method %q: want file or alter_system", m)
	}
	if m := strings.ToLower(p.Str("tls_ca_mode", "internal")); m != "internal" && m != "external" {
		add("tls_ca_mode %q: want internal or external", m)
	}
	days := p.Int("tls_cert_days", 365)
	renew := p.Int("tls_renew_before_days", 30)
	switch {
	case days < 1 || days > 36500:
		add("tls_cert_days %d: want 1 to 36500", days)
	case renew < 0:
		add("tls_renew_before_days %d: want 0 or more", renew)
	case renew >= days:
		add("tls_renew_before_days (%d) must be less than tls_cert_days (%d): every run would reissue the certificate", renew, days)
	}
	if port := p.Int("pg_port", 5432); port < 1 || port > 65535 {
		add("pg_port %d: want 1 to 65535", port)
	}
	if _, err := protocolVersion("pg_ssl_min_protocol_version", p.Str("pg_ssl_min_protocol_version", "TLSv1.2")); err != nil {
		add("%v", err)
	}
	for _, n := range []string{"pg_ready_timeout", "pg_connect_timeout"} {
		if v := p.Int(n, 10); v < 1 {
			add("%s %d: want 1 or more seconds", n, v)
		}
	}
	enforceMode(p) // a boolean or "force"
	for _, n := range []string{"pg_hba_reject_plain", "tls_intermediate", "pg_allow_restart"} {
		p.Bool(n, false)
	}
	if d := p.Str("pg_tls_dir", ""); d != "" && !path.IsAbs(d) {
		add("pg_tls_dir %q: want an absolute path", d)
	}
	if _, err := pg.WantedNames(pg.SANInput{Extra: p.List("tls_san")}); err != nil {
		add("%v", err)
	}
	if p.Err() != nil {
		add("%v", p.Err())
	}
	if len(problems) == 0 {
		return nil
	}
	return &tasks.Failed{Msg: fmt.Sprintf("host %s: bad variables (nothing was changed): %s", env.Host, strings.Join(problems, "; "))}
}

// cipherProblem fails the host when its own OpenSSL lists no cipher from
// pg_ssl_ciphers: the server would reject the list at the reload, keep its
// old SSL context and still show the new list in pg_settings.
func cipherProblem(env *tasks.Env, f *pg.Facts, cc pg.CipherCheck) error {
	if cc.Usable() {
		return nil
	}
	ossl := "the host's OpenSSL"
	if v := pg.OpenSSLName(f.OpenSSLVersion); v != "" {
		ossl += " (" + v + ")"
	}
	return &tasks.Failed{Msg: fmt.Sprintf("host %s: pg_ssl_ciphers %q: %s accepts no cipher from it (nothing was changed)", env.Host, cc.List, ossl),
		Result: map[string]any{"openssl_error": cc.Error}}
}
