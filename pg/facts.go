package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/sshplay/sshplay/transport"
)

// Setting is one row of pg_settings (running values).
type Setting struct {
	Name           string `json:"name"`
	Setting        string `json:"setting"`
	Context        string `json:"context"`
	Source         string `json:"source"`
	SourceFile     string `json:"sourcefile"`
	SourceLine     int    `json:"sourceline"`
	PendingRestart bool   `json:"pending_restart"`
}

// FileSetting is one row of pg_file_settings (what the files on disk say).
type FileSetting struct {
	SourceFile string `json:"sourcefile"`
	SourceLine int    `json:"sourceline"`
	SeqNo      int    `json:"seqno"`
	Name       string `json:"name"`
	Setting    string `json:"setting"`
	Applied    bool   `json:"applied"`
	Error      string `json:"error"`
}

// HBAError is a pg_hba_file_rules row with an error: the file on disk would
// be rejected at reload.
type HBAError struct {
	File  string `json:"file_name"`
	Line  int    `json:"line_number"`
	Error string `json:"error"`
}

// Facts is what one psql round trip tells about a cluster.
type Facts struct {
	ServerVersionNum int           `json:"server_version_num"`
	ServerVersion    string        `json:"server_version"`
	DataDirectory    string        `json:"data_directory"`
	ConfigFile       string        `json:"config_file"`
	HBAFile          string        `json:"hba_file"`
	IdentFile        string        `json:"ident_file"`
	Port             int           `json:"port"`
	ClusterName      string        `json:"cluster_name"`
	InRecovery       bool          `json:"in_recovery"`
	IsSuperuser      bool          `json:"is_superuser"`
	User             string        `json:"user"`
	PostmasterPID    int           `json:"postmaster_pid"`
	Settings         []Setting     `json:"settings"`
	FileSettings     []FileSetting `json:"file_settings"`
	HBAErrors        []HBAError    `json:"hba_errors"`
	// ConfPatroniMark: the config file's head mentions Patroni (Patroni
	// writes "It will be overwritten by Patroni!" there).
	ConfPatroniMark bool `json:"conf_patroni_mark"`
	// PatroniBaseConf: postgresql.base.conf exists in the data directory.
	PatroniBaseConf bool `json:"patroni_base_conf"`
	// PatroniProcs are the /proc entries of running patroni processes.
	PatroniProcs []string `json:"patroni_procs"`
	// OpenSSLVersion is `openssl version` on the host ("" when missing).
	OpenSSLVersion string `json:"openssl_version"`
}

// factsSQL returns one JSON object. It needs PostgreSQL 10 or later
// (pg_hba_file_rules) and a superuser (pg_file_settings, pg_read_file).
const factsSQL = `SELECT json_build_object(
 'server_version_num', current_setting('server_version_num')::int,
 'server_version', current_setting('server_version'),
 'data_directory', current_setting('data_directory'),
 'config_file', current_setting('config_file'),
 'hba_file', current_setting('hba_file'),
 'ident_file', current_setting('ident_file'),
 'port', current_setting('port')::int,
 'cluster_name', current_setting('cluster_name'),
 'in_recovery', pg_is_in_recovery(),
 'user', current_user,
 'is_superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
 'postmaster_pid', coalesce(nullif(split_part(pg_read_file('postmaster.pid', 0, 64, true), E'\n', 1), ''), '0')::int,
 'conf_patroni_mark', coalesce(pg_read_file(current_setting('config_file'), 0, 4096, true), '') ILIKE '%patroni%',
 'patroni_base_conf', pg_stat_file('postgresql.base.conf', true) IS NOT NULL,
 'settings', (SELECT coalesce(json_agg(json_build_object('name', name, 'setting', setting, 'context', context,
     'source', source, 'sourcefile', coalesce(sourcefile, ''), 'sourceline', coalesce(sourceline, 0),
     'pending_restart', pending_restart) ORDER BY name), '[]'::json)
   FROM pg_settings WHERE name LIKE 'ssl%'),
 'file_settings', (SELECT coalesce(json_agg(json_build_object('sourcefile', coalesce(sourcefile, ''),
     'sourceline', coalesce(sourceline, 0), 'seqno', coalesce(seqno, 0), 'name', coalesce(name, ''),
     'setting', coalesce(setting, ''), 'applied', applied, 'error', coalesce(error, '')) ORDER BY seqno), '[]'::json)
   FROM pg_file_settings WHERE name LIKE 'ssl%' OR error IS NOT NULL),
 'hba_errors', (SELECT coalesce(json_agg(json_build_object('file_name', current_setting('hba_file'),
     'line_number', coalesce(line_number, 0), 'error', error) ORDER BY line_number), '[]'::json)
   FROM pg_hba_file_rules WHERE error IS NOT NULL)
);
`

// probeMarker separates psql's JSON from the shell probes in the output.
const probeMarker = "@@sshplay-probe@@"

// factsScript runs psql (SQL on stdin) then two shell probes, in one round
// trip. The [p] keeps grep from matching its own command line.
func factsScript(t Target) string {
	return t.Args() + `; rc=$?; printf '\n` + probeMarker + `\n'; ` +
		`grep -ls '[p]atroni' /proc/[0-9]*/cmdline 2>/dev/null | head -n 5 | tr '\n' ' '; printf '\n'; ` +
		`openssl version 2>/dev/null; exit $rc`
}

// GatherFacts runs the facts query on the host (one SSH round trip).
func GatherFacts(ctx context.Context, c transport.Conn, t Target) (*Facts, error) {
	res, err := c.Run(ctx, factsScript(t), transport.RunOptions{Stdin: strings.NewReader(factsSQL)})
	if err != nil {
		var ee *transport.ExitError
		if errors.As(err, &ee) {
			stderr := ee.Stderr
			if res != nil && len(res.Stderr) > 0 {
				stderr = string(res.Stderr)
			}
			return nil, &PsqlError{Host: c.Host(), Stderr: stderr, Code: ee.Code}
		}
		return nil, fmt.Errorf("host %s: gather postgres facts: %w", c.Host(), err)
	}
	f, err := ParseFactsOutput(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.Host(), err)
	}
	return f, nil
}

// ParseFactsOutput parses what the facts script printed.
func ParseFactsOutput(out []byte) (*Facts, error) {
	js, probes, _ := bytes.Cut(out, []byte("\n"+probeMarker+"\n"))
	var f Facts
	if err := json.Unmarshal(bytes.TrimSpace(js), &f); err != nil {
		return nil, fmt.Errorf("parse postgres facts: %w (output %q)", err, truncate(string(js), 200))
	}
	lines := strings.Split(string(probes), "\n")
	if len(lines) > 0 {
		for _, p := range strings.Fields(lines[0]) {
			f.PatroniProcs = append(f.PatroniProcs, path.Dir(p))
		}
	}
	if len(lines) > 1 {
		f.OpenSSLVersion = strings.TrimSpace(lines[1])
	}
	return &f, nil
}

// Setting returns the running setting name, if the server has it.
func (f *Facts) Setting(name string) (Setting, bool) {
	for _, s := range f.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// SSLOn reports whether the running server has ssl = on.
func (f *Facts) SSLOn() bool {
	s, ok := f.Setting("ssl")
	return ok && s.Setting == "on"
}

// Patroni says whether Patroni manages this cluster, and why it thinks so.
// Signals: Patroni's "overwritten by Patroni" header in the config file;
// or postgresql.base.conf (Patroni's layout) together with a running
// patroni process.
func (f *Facts) Patroni() (bool, string) {
	switch {
	case f.ConfPatroniMark:
		return true, f.ConfigFile + " says it is written by Patroni"
	case f.PatroniBaseConf && len(f.PatroniProcs) > 0:
		return true, "postgresql.base.conf in the data directory and a patroni process is running"
	}
	return false, ""
}

// ResolvePath resolves a path the way the server does for ssl_*_file:
// relative paths are relative to the data directory.
func (f *Facts) ResolvePath(p string) string {
	if p == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(f.DataDirectory, p)
}

// Map returns the facts as plain values (for ansible_facts / register).
func (f *Facts) Map() map[string]any {
	b, err := json.Marshal(f)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return map[string]any{}
	}
	managed, why := f.Patroni()
	m["patroni"] = map[string]any{"managed": managed, "reason": why}
	m["ssl"] = f.SSLOn()
	return m
}

// FactsFromMap decodes facts registered earlier (the inverse of Map).
func FactsFromMap(m map[string]any) (*Facts, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var f Facts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// OpenSSLAddext reports whether the host's openssl supports `req -addext`
// (OpenSSL 1.1.1 or later; LibreSSL 3.x too).
func OpenSSLAddext(version string) bool {
	fs := strings.Fields(version)
	if len(fs) < 2 {
		return false
	}
	v := fs[1]
	var major, minor, patch int
	var letter string
	n, _ := fmt.Sscanf(v, "%d.%d.%d%s", &major, &minor, &patch, &letter)
	if n < 2 {
		return false
	}
	if fs[0] == "LibreSSL" {
		return major >= 3
	}
	switch {
	case major > 1:
		return true
	case major == 1 && minor > 1:
		return true
	case major == 1 && minor == 1 && patch >= 1:
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
