package postgres

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pg/pghba"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

// enforceMode reads pg_tls_enforce: a boolean, or "force" (enforce even
// when live clients would be cut off).
func enforceMode(p *args.Args) (enforce, force bool) {
	if strings.EqualFold(p.Str("pg_tls_enforce", ""), "force") {
		return true, true
	}
	return p.Bool("pg_tls_enforce", true), false
}

// impactReport is the impact preview of enforcing TLS on one server: the
// live sessions that the new pg_hba.conf would refuse at their next
// connection, and the ones that stay (TLS already, a rule that still
// allows them, or a standby this run switches to TLS).
type impactReport struct {
	Cut   []string
	Spare []string
}

// preview judges every live TCP session against newHBA. links are the
// standbys' replication results of this run (registered by
// pg_replication on every play host); own are the names and addresses of
// this server, to tell its standbys from other primaries'.
func preview(im *pg.Impact, newHBA []byte, links []replicationLink, own []string) impactReport {
	var r impactReport
	if im == nil {
		return r
	}
	for _, s := range im.Sessions {
		if !s.Plaintext() {
			continue
		}
		if l, ok := switchedLink(s, links, own); ok {
			r.Spare = append(r.Spare, fmt.Sprintf("%s: its standby switches to TLS in this run (primary_conninfo to %s:%d)", s, l.PrimaryHost, l.PrimaryPort))
			continue
		}
		// A physical walsender has no database and matches only the
		// replication keyword; a logical one matches like a client.
		physical := s.Replication() && s.Database == ""
		switch v, line := pghba.PlainVerdict(newHBA, s.ClientAddr, s.User, s.Database, physical); v {
		case pghba.Allowed:
			r.Spare = append(r.Spare, fmt.Sprintf("%s: still allowed in plaintext by pg_hba.conf line %d", s, line))
		case pghba.Unknown:
			r.Cut = append(r.Cut, fmt.Sprintf("%s (plaintext; pg_hba.conf line %d makes the answer uncertain)", s, line))
		default:
			r.Cut = append(r.Cut, s.String()+" (plaintext)")
		}
	}
	return r
}

// switchedLink finds the standby of this run behind a plaintext walsender:
// same application name, and its primary_conninfo names this server.
func switchedLink(s pg.Session, links []replicationLink, own []string) (replicationLink, bool) {
	if !s.Replication() {
		return replicationLink{}, false
	}
	for _, l := range links {
		if l.Standby && l.TLS && l.Application == s.Application && slices.Contains(own, l.PrimaryHost) {
			return l, true
		}
	}
	return replicationLink{}, false
}

// decodeLinks reads the standbys' registered pg_replication results (a
// list; entries that are not results, such as hosts that skipped the
// task, are ignored).
func decodeLinks(v any) []replicationLink {
	list, _ := v.([]any)
	var out []replicationLink
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		l := replicationLink{}
		l.Standby, _ = m["standby"].(bool)
		l.TLS, _ = m["tls"].(bool)
		l.PrimaryHost, _ = m["primary_host"].(string)
		l.Application, _ = m["application_name"].(string)
		switch n := m["primary_port"].(type) {
		case int:
			l.PrimaryPort = n
		case int64:
			l.PrimaryPort = int(n)
		case float64:
			l.PrimaryPort = int(n)
		}
		out = append(out, l)
	}
	return out
}

// ownNames are the names and addresses standbys may use for this server.
func ownNames(env *tasks.Env, p *args.Args) []string {
	out := pg.Addresses(p.Str("pg_host", ""), p.Str("ansible_host", ""))
	out = append(out, p.Str("inventory_hostname", env.Host))
	return append(out, p.List("tls_san")...)
}
