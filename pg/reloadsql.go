package pg

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// One psql session validates, reloads and confirms a reload. psql's \gset
// and \if carry the decisions that the shell carried before (one psql per
// step, with head, tail, grep, stat and readlink around them), and the
// server reads its own log (pg_stat_file, pg_read_binary_file): on the
// host that is one process and one round trip. Two things still need more
// than the first connection:
//
//   - The proof that the postmaster has handled the reload is a session it
//     started afterwards (it forks sessions only between signals); the
//     session that sent the signal cannot be that proof, as the postmaster
//     signals its children before it reloads pg_hba.conf and the SSL
//     context. psql's \connect opens that session in the same process.
//   - Reading the postmaster's standard error through /proc/PID/fd/2 needs
//     PostgreSQL 11 (absolute paths in pg_read_binary_file for superusers);
//     with PostgreSQL 10 the shell script of Reload reads it as before.

// sqlLogVersion is the first server_version_num whose superuser reads any
// absolute path with pg_stat_file and pg_read_binary_file.
const sqlLogVersion = 110000

// Markers in the session script's output (besides reloadScript's own).
const diskMarker = "@@sshplay-disk@@"

// ownSessionTries and newSessionTries bound the waits inside one session
// script: first until the session that sent the signal has re-read the
// files itself (10 ms apart; the postmaster signals its children early in
// its reload), then until a new session shows the postmaster done (20 ms
// apart, one connection each, usually one). A caller whose result is not
// Processed looks again with ReloadProgress.
const (
	ownSessionTries = 25
	newSessionTries = 10
	logTries        = 50
)

// diskStateGset reads what a reload would find on disk, as validateSQL
// does, into sshplay_disk, and sets sshplay_valid when nothing in it would
// make the server reject the files. That verdict is at least as strict as
// the caller's (tasks/postgres validate): a pg_file_settings error other
// than a pending restart, or any pg_hba_file_rules error except "because
// SSL is disabled" while the files set ssl to a plain true value (on,
// true, yes, 1: the server reads postgresql.conf first at a reload), makes
// the script leave the server alone.
const diskStateGset = `SELECT json_build_object('file_settings', fs.j, 'hba_errors', hb.j) AS sshplay_disk,
  fs.bad = 0 AND hb.bad = 0 AS sshplay_valid
FROM (SELECT coalesce(json_agg(json_build_object('sourcefile', coalesce(sourcefile, ''),
     'sourceline', coalesce(sourceline, 0), 'seqno', coalesce(seqno, 0), 'name', coalesce(name, ''),
     'setting', coalesce(setting, ''), 'applied', applied, 'error', coalesce(error, '')) ORDER BY seqno), '[]'::json) AS j,
   count(*) FILTER (WHERE error IS NOT NULL AND error <> '` + PendingRestartError + `') AS bad,
   coalesce(bool_and(lower(trim(coalesce(setting, ''))) IN ('on', 'true', 'yes', '1')) FILTER (WHERE name = 'ssl' AND applied), false) AS ssl_on
  FROM pg_file_settings WHERE name LIKE 'ssl%' OR error IS NOT NULL) fs,
 LATERAL (SELECT coalesce(json_agg(json_build_object('file_name', current_setting('hba_file'),
     'line_number', coalesce(line_number, 0), 'error', error) ORDER BY line_number), '[]'::json) AS j,
   count(*) FILTER (WHERE NOT (fs.ssl_on AND error LIKE '%because SSL is disabled%')) AS bad
  FROM pg_hba_file_rules WHERE error IS NOT NULL) hb \gset
\echo ` + diskMarker + `
SELECT :'sshplay_disk';
`

// findLogSQL sets sshplay_log (where the server reads its log),
// sshplay_src (its name for messages) and sshplay_size (its size now, -1
// when unknown): the logging collector's current file, else sshplay_fd,
// the postmaster's standard error when the shell found it a regular file.
// Errors here never stop the reload: the log then goes unchecked, and the
// result says so.
const findLogSQL = `\set sshplay_size -1
\set ON_ERROR_STOP 0
SELECT CASE WHEN current_setting('logging_collector')::bool AND pg_current_logfile() IS NOT NULL
  THEN CASE WHEN pg_current_logfile() LIKE '/%' THEN pg_current_logfile()
    ELSE current_setting('data_directory') || '/' || pg_current_logfile() END
  ELSE :'sshplay_fd' END AS sshplay_log \gset
SELECT CASE WHEN :'sshplay_log' = :'sshplay_fd' THEN :'sshplay_src' ELSE :'sshplay_log' END AS sshplay_src \gset
SELECT CASE WHEN :'sshplay_log' = '' THEN -1 ELSE coalesce((pg_stat_file(:'sshplay_log', true)).size, -1) END AS sshplay_size \gset
\set ON_ERROR_STOP 1
`

// sendSQL notes the server's clock and signals the reload, then waits in
// the same session until it has re-read the files itself, and then for a
// new session that shows the postmaster done (sshplay_done).
func sendSQL() string {
	var b strings.Builder
	b.WriteString("SELECT extract(epoch FROM clock_timestamp()) AS sshplay_t0 \\gset\nSELECT pg_reload_conf() AS sshplay_sent \\gset\n")
	seen := "SELECT extract(epoch FROM pg_conf_load_time()) > :'sshplay_t0'::numeric AS sshplay_seen \\gset\n"
	b.WriteString(seen)
	for i := 0; i < ownSessionTries; i++ {
		b.WriteString("\\if :sshplay_seen\n\\else\nSELECT pg_sleep(0.01);\n" + seen + "\\endif\n")
	}
	b.WriteString("\\set sshplay_done f\n")
	for i := 0; i < newSessionTries; i++ {
		b.WriteString("\\if :sshplay_done\n\\else\nSELECT pg_sleep(0.02);\n\\connect\n" + doneGset + "\\endif\n")
	}
	return b.String()
}

// doneGset sets sshplay_done when this session's configuration is newer
// than the reload: as a new session, it shows that the postmaster had
// finished handling the signal when it started the session.
const doneGset = "SELECT extract(epoch FROM pg_conf_load_time()) > :'sshplay_t0'::numeric AS sshplay_done \\gset\n"

// reportSQL prints what reloadScript prints (parseReloadOutput reads it),
// the log's gain in base64: once sshplay_done, the session logs the check
// line, reads the ssl settings, and waits (up to a second) until the log
// holds the check line, since the logging collector writes asynchronously.
func reportSQL(token string) string {
	check := checkLine + token
	gain := "pg_read_binary_file(:'sshplay_log', :sshplay_size, " + strconv.Itoa(logReadMax) + ", true)"
	more := "SELECT position('" + check + "'::bytea IN coalesce(" + gain + ", '')) = 0 AS sshplay_more \\gset\n"
	var b strings.Builder
	b.WriteString(`\echo ` + reloadMarker + ` :sshplay_t0 :sshplay_size b64
SELECT :'sshplay_log';
SELECT :'sshplay_src';
\echo ` + settingsMarker + `
\if :sshplay_done
SET log_error_verbosity = terse;
SET log_min_error_statement = panic;
DO $sshplay$BEGIN RAISE LOG '` + check + `'; END$sshplay$;
` + settingsSQL + `SELECT :sshplay_size >= 0 AS sshplay_more \gset
\else
\echo
\set sshplay_more f
\endif
\echo ` + logMarker + `
\if :sshplay_more
\set ON_ERROR_STOP 0
` + more)
	for i := 0; i < logTries; i++ {
		b.WriteString("\\if :sshplay_more\nSELECT pg_sleep(0.02);\n" + more + "\\endif\n")
	}
	b.WriteString("SELECT translate(encode(coalesce(" + gain + ", ''), 'base64'), E'\\n', '');\n\\endif\n")
	return b.String()
}

// sessionShell is the shell around the session script: it looks, with
// shell builtins only, for the postmaster's standard error as a regular
// file (sshplay_fd, named sshplay_src: the hint when the postmaster is
// the one the facts saw, else readlink's answer) and then becomes psql.
func sessionShell(t Target, o ReloadOptions) string {
	var b strings.Builder
	b.WriteString("LC_ALL=C; export LC_ALL; fd= src=\n")
	if o.DataDir != "" {
		b.WriteString(`pid=; { read -r pid; } 2>/dev/null < ` + shellescape.Quote(path.Join(o.DataDir, "postmaster.pid")) + `
if [ -n "$pid" ] && [ -f "/proc/$pid/fd/2" ] && [ -r "/proc/$pid/fd/2" ]; then
 fd=/proc/$pid/fd/2
`)
		if o.PostmasterPID > 0 && o.StderrLog != "" {
			b.WriteString(" case $pid in " + strconv.Itoa(o.PostmasterPID) + ") src=" + shellescape.Quote(o.StderrLog) + " ;; *) src=$(readlink \"$fd\" 2>/dev/null) || src=$fd ;; esac\n")
		} else {
			b.WriteString(" src=$(readlink \"$fd\" 2>/dev/null) || src=$fd\n")
		}
		b.WriteString("fi\n")
	}
	b.WriteString("exec " + psqlCommand(t) + ` -v "sshplay_fd=$fd" -v "sshplay_src=$src"` + "\n")
	return b.String()
}

// psqlCommand is psql with t's options, then vars, then t's connection,
// quoted for a shell.
func psqlCommand(t Target, vars ...string) string {
	prog := "psql"
	if t.Bindir != "" {
		prog = path.Join(t.Bindir, "psql")
	}
	args := append(append([]string{prog}, t.argv()...), vars...)
	if t.SocketDir != "" {
		args = append(args, "-h", t.SocketDir)
	}
	return shellescape.QuoteCommand(append(args, t.connArgs()...))
}

// sqlLog reports whether the session script can read the server's log
// with SQL on this server (see sqlLogVersion).
func (o ReloadOptions) sqlLog() bool { return o.ServerVersionNum >= sqlLogVersion }

// ValidateReload reads what the configuration files on disk say now
// (pg_file_settings, pg_hba_file_rules) and, when nothing there would make
// the server reject them and o.NoReload is not set, reloads and proves
// what came of it as Reload does, in the same psql session (one process
// on the host). The reload is nil when it was not sent: the files hold an
// error, o.NoReload, or a server before PostgreSQL 11, where the caller
// reloads with Reload after judging the files itself.
func ValidateReload(ctx context.Context, c transport.Conn, t Target, o ReloadOptions) (*DiskState, *ReloadResult, error) {
	token, err := checkToken()
	if err != nil {
		return nil, nil, err
	}
	reload := !o.NoReload && o.sqlLog()
	sql := diskStateGset
	if reload {
		sql += "\\if :sshplay_valid\n" + findLogSQL + sendSQL() + reportSQL(token) + "\\endif\n"
	}
	res, err := runPsql(ctx, c, sessionShell(t, o), transport.RunOptions{Stdin: strings.NewReader(sql)}, "validate and reload")
	if err != nil {
		return nil, nil, err
	}
	d, r, err := parseSessionOutput(res.Stdout, token)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: validate and reload: %w", c.Host(), err)
	}
	if r != nil {
		r.sqlLog = true
	}
	return d, r, nil
}

// reloadSession is Reload in one psql session (no validation).
func reloadSession(ctx context.Context, c transport.Conn, t Target, o ReloadOptions, token string) (*ReloadResult, error) {
	sql := findLogSQL + sendSQL() + reportSQL(token)
	res, err := runPsql(ctx, c, sessionShell(t, o), transport.RunOptions{Stdin: strings.NewReader(sql)}, "reload")
	if err != nil {
		return nil, err
	}
	r, err := parseReloadOutput(res.Stdout, token)
	if err != nil {
		return nil, fmt.Errorf("host %s: reload: %w", c.Host(), err)
	}
	r.sqlLog = true
	return r, nil
}

// progressSession is ReloadProgress in one psql session: its own
// connection is a new session; more follow (\connect) while the
// postmaster has not handled the reload yet.
func progressSession(ctx context.Context, c transport.Conn, t Target, r *ReloadResult) (*ReloadResult, error) {
	var b strings.Builder
	b.WriteString(doneGset)
	for i := 1; i < newSessionTries; i++ {
		b.WriteString("\\if :sshplay_done\n\\else\nSELECT pg_sleep(0.02);\n\\connect\n" + doneGset + "\\endif\n")
	}
	b.WriteString(reportSQL(r.token))
	vars := []string{"-v", "sshplay_t0=" + r.T0, "-v", "sshplay_size=" + strconv.FormatInt(r.logOffset, 10),
		"-v", "sshplay_log=" + r.logPath, "-v", "sshplay_src=" + r.LogFile}
	res, err := runPsql(ctx, c, progressShell(t, vars), transport.RunOptions{Stdin: strings.NewReader(b.String())}, "reload")
	if err != nil {
		return nil, err
	}
	nr, err := parseReloadOutput(res.Stdout, r.token)
	if err != nil {
		return nil, fmt.Errorf("host %s: reload: %w", c.Host(), err)
	}
	nr.sqlLog = true
	return nr, nil
}

// progressShell runs psql with t's options and the reload's variables.
func progressShell(t Target, vars []string) string {
	return "LC_ALL=C exec " + psqlCommand(t, vars...)
}
