package pg

// impact.go reads who depends on a server's TLS setup and pg_hba.conf right
// now: live TCP sessions (clients and walsenders, with whether each uses
// TLS or GSS encryption) and, on a standby, how it reaches its primary.
// The flagship job uses it to say, before enforcing TLS, exactly who would
// be cut off.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/transport"
)

// Session is one live TCP connection (pg_stat_activity joined with
// pg_stat_ssl and pg_stat_gssapi). Unix-socket sessions are not listed:
// pg_hba.conf's TCP rules never apply to them.
type Session struct {
	PID         int    `json:"pid"`
	User        string `json:"user"`
	Database    string `json:"database"`
	ClientAddr  string `json:"client_addr"`
	Application string `json:"application"`
	// BackendType is "client backend" or "walsender" (a standby or a
	// pg_basebackup streaming from this server).
	BackendType string `json:"backend_type"`
	SSL         bool   `json:"ssl"`
	GSS         bool   `json:"gss"`
}

// Replication reports whether the session is a walsender.
func (s Session) Replication() bool { return s.BackendType == "walsender" }

// Plaintext reports whether the session is neither TLS nor GSS encrypted.
func (s Session) Plaintext() bool { return !s.SSL && !s.GSS }

// String names the session for a person: who, from where, to what.
func (s Session) String() string {
	kind := "client"
	if s.Replication() {
		kind = "replication"
	}
	db := s.Database
	if db == "" {
		db = "-"
	}
	app := ""
	if s.Application != "" {
		app = ", application " + strconv.Quote(s.Application)
	}
	return fmt.Sprintf("%s %s@%s from %s (pid %d%s)", kind, s.User, db, s.ClientAddr, s.PID, app)
}

// WalReceiver is pg_stat_wal_receiver on a standby: the link to its
// primary as it runs now. Conninfo is the server's own obfuscated copy
// (passwords shown as ********).
type WalReceiver struct {
	Status   string `json:"status"`
	Conninfo string `json:"conninfo"`
}

// Impact is who depends on the server's TLS and pg_hba.conf.
type Impact struct {
	// Sessions are the live TCP sessions other than the one reading them.
	Sessions []Session `json:"sessions"`
	// Receiver is set on a standby whose WAL receiver runs.
	Receiver *WalReceiver `json:"wal_receiver,omitempty"`
	// PrimaryConninfo is primary_conninfo as the server reads it (PG 12+),
	// password included: never print it (Map leaves it out; Conninfo's
	// String redacts). PrimaryConninfoFile and PrimaryConninfoLine say
	// which file and line set it.
	PrimaryConninfo     string `json:"primary_conninfo,omitempty"`
	PrimaryConninfoFile string `json:"primary_conninfo_file,omitempty"`
	PrimaryConninfoLine int    `json:"primary_conninfo_line,omitempty"`
}

// impactSQL is the json object Impact decodes from; psql's sshplay_gss_col
// variable is set by the facts script (pg_stat_gssapi exists since 12).
const impactSQL = `json_build_object(
 'sessions', (SELECT coalesce(json_agg(json_build_object('pid', a.pid, 'user', coalesce(a.usename, ''),
     'database', coalesce(a.datname, ''), 'client_addr', host(a.client_addr),
     'application', coalesce(a.application_name, ''), 'backend_type', coalesce(a.backend_type, ''),
     'ssl', coalesce(s.ssl, false), 'gss', :sshplay_gss_col) ORDER BY a.pid), '[]'::json)
   FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s ON s.pid = a.pid
   WHERE a.client_addr IS NOT NULL AND a.pid <> pg_backend_pid()),
 'wal_receiver', (SELECT json_build_object('status', status, 'conninfo', coalesce(conninfo, ''))
   FROM pg_stat_wal_receiver LIMIT 1),
 'primary_conninfo', (SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'),
 'primary_conninfo_file', (SELECT coalesce(sourcefile, '') FROM pg_settings WHERE name = 'primary_conninfo'),
 'primary_conninfo_line', (SELECT coalesce(sourceline, 0) FROM pg_settings WHERE name = 'primary_conninfo'))`

// impactScript is impactSQL on its own (the psql variable set first).
const impactScript = `SELECT current_setting('server_version_num')::int >= 120000 AS sshplay_gss \gset
\if :sshplay_gss
\set sshplay_gss_col 'coalesce((SELECT g.encrypted FROM pg_stat_gssapi g WHERE g.pid = a.pid), false)'
\else
\set sshplay_gss_col 'false'
\endif
SELECT ` + impactSQL + `;
`

// ReadImpact reads the live sessions and the standby's link now (one
// round trip): what a module needs when earlier steps of the run may have
// moved clients (a standby switched to TLS reconnects).
func ReadImpact(ctx context.Context, c transport.Conn, t Target) (*Impact, error) {
	out, err := Query(ctx, c, t, impactScript)
	if err != nil {
		return nil, err
	}
	var im Impact
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &im); err != nil {
		return nil, fmt.Errorf("host %s: parse sessions: %w (output %q)", c.Host(), err, truncate(string(out), 200))
	}
	return &im, nil
}

// Standby reports whether the server follows a primary through
// primary_conninfo.
func (im *Impact) Standby() bool { return im != nil && strings.TrimSpace(im.PrimaryConninfo) != "" }

// redacted is the printable copy of im: primary_conninfo without secrets.
func (im *Impact) redacted() *Impact {
	if im == nil {
		return nil
	}
	c := *im
	if c.PrimaryConninfo != "" {
		if ci, err := ParseConninfo(c.PrimaryConninfo); err == nil {
			c.PrimaryConninfo = ci.String()
		} else {
			c.PrimaryConninfo = "(unparsable, not shown)"
		}
	}
	return &c
}

// Sender is one walsender as its primary sees it (pg_stat_replication
// joined with pg_stat_ssl).
type Sender struct {
	PID         int    `json:"pid"`
	Application string `json:"application"`
	ClientAddr  string `json:"client_addr"`
	State       string `json:"state"`
	SSL         bool   `json:"ssl"`
	Version     string `json:"version"`
	Cipher      string `json:"cipher"`
	Bits        int    `json:"bits"`
}

// Links are a server's replication links in both directions.
type Links struct {
	Senders  []Sender     `json:"senders"`
	Receiver *WalReceiver `json:"receiver"`
}

const linksSQL = `SELECT json_build_object(
 'senders', (SELECT coalesce(json_agg(json_build_object('pid', r.pid, 'application', coalesce(r.application_name, ''),
     'client_addr', coalesce(host(r.client_addr), 'local'), 'state', coalesce(r.state, ''), 'ssl', coalesce(s.ssl, false),
     'version', coalesce(s.version, ''), 'cipher', coalesce(s.cipher, ''), 'bits', coalesce(s.bits, 0)) ORDER BY r.pid), '[]'::json)
   FROM pg_stat_replication r LEFT JOIN pg_stat_ssl s ON s.pid = r.pid),
 'receiver', (SELECT json_build_object('status', status, 'conninfo', coalesce(conninfo, ''))
   FROM pg_stat_wal_receiver LIMIT 1));
`

// ReadLinks reads the server's replication links (one round trip).
func ReadLinks(ctx context.Context, c transport.Conn, t Target) (*Links, error) {
	out, err := Query(ctx, c, t, linksSQL)
	if err != nil {
		return nil, err
	}
	var l Links
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &l); err != nil {
		return nil, fmt.Errorf("host %s: parse replication links: %w (output %q)", c.Host(), err, truncate(string(out), 200))
	}
	return &l, nil
}

// HasReplication reports whether the facts saw a walsender or a standby
// link, so that the proof reads the links only where there are some.
func (im *Impact) HasReplication() bool {
	if im == nil {
		return false
	}
	if im.Standby() || im.Receiver != nil {
		return true
	}
	for _, s := range im.Sessions {
		if s.Replication() {
			return true
		}
	}
	return false
}
