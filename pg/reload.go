package pg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// validateSQL reads what a reload would find on disk: pg_file_settings
// (errors and the ssl value the files set) and pg_hba_file_rules errors,
// in one query.
const validateSQL = `SELECT json_build_object(
 'file_settings', (SELECT coalesce(json_agg(json_build_object('sourcefile', coalesce(sourcefile, ''),
     'sourceline', coalesce(sourceline, 0), 'seqno', coalesce(seqno, 0), 'name', coalesce(name, ''),
     'setting', coalesce(setting, ''), 'applied', applied, 'error', coalesce(error, '')) ORDER BY seqno), '[]'::json)
   FROM pg_file_settings WHERE name LIKE 'ssl%' OR error IS NOT NULL),
 'hba_errors', (SELECT coalesce(json_agg(json_build_object('file_name', current_setting('hba_file'),
     'line_number', coalesce(line_number, 0), 'error', error) ORDER BY line_number), '[]'::json)
   FROM pg_hba_file_rules WHERE error IS NOT NULL));
`

// settingsSQL reads the running ssl settings.
const settingsSQL = `SELECT coalesce(json_agg(json_build_object('name', name, 'setting', setting, 'context', context,
     'source', source, 'sourcefile', coalesce(sourcefile, ''), 'sourceline', coalesce(sourceline, 0),
     'pending_restart', pending_restart) ORDER BY name), '[]'::json)
   FROM pg_settings WHERE name LIKE 'ssl%';
`

// DiskState is what the configuration files on disk say now.
type DiskState struct {
	FileSettings []FileSetting `json:"file_settings"`
	HBAErrors    []HBAError    `json:"hba_errors"`
}

// ReadDiskState runs the validation query (one round trip).
func ReadDiskState(ctx context.Context, c transport.Conn, t Target) (*DiskState, error) {
	out, err := Query(ctx, c, t, validateSQL)
	if err != nil {
		return nil, err
	}
	var d DiskState
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("host %s: parse validation query: %w (output %q)", c.Host(), err, truncate(string(out), 200))
	}
	return &d, nil
}

// ReadSettings reads the running ssl settings (one round trip).
func ReadSettings(ctx context.Context, c transport.Conn, t Target) ([]Setting, error) {
	return querySettings(ctx, c, t, settingsSQL)
}

// ReloadOptions say where Reload looks for the server's log.
type ReloadOptions struct {
	// DataDir is the cluster's data directory: its postmaster.pid names
	// the postmaster whose standard error may be the log.
	DataDir string
	// ServerVersionNum is the server's version (Facts.ServerVersionNum):
	// from PostgreSQL 11 on, the reload runs in one psql session that
	// reads the log itself (see ValidateReload); 0 means unknown, and the
	// reload runs as a shell script around several psql.
	ServerVersionNum int
	// PostmasterPID and StderrLog are what the facts saw: the file the
	// postmaster's standard error went to. While the same postmaster
	// runs, that names the log without a readlink on the host.
	PostmasterPID int
	StderrLog     string
	// NoReload makes ValidateReload validate only.
	NoReload bool
}

// ReloadOptionsFor returns the options for the cluster f describes.
func ReloadOptionsFor(f *Facts) ReloadOptions {
	return ReloadOptions{DataDir: f.DataDirectory, ServerVersionNum: f.ServerVersionNum,
		PostmasterPID: f.PostmasterPID, StderrLog: f.StderrLog}
}

// ReloadResult is what a reload showed, and what ReloadProgress needs to
// look again.
type ReloadResult struct {
	// Processed: the postmaster has handled the SIGHUP, SSL part
	// included (a session it started afterwards sees pg_conf_load_time()
	// past T0).
	Processed bool
	// Settings are the running ssl settings as that session saw them
	// (nil until Processed).
	Settings []Setting
	// T0 is the server's clock (epoch seconds) just before the signal.
	T0 string
	// LogFile is the server log that was read: pg_current_logfile() with
	// the logging collector, else the regular file the postmaster's
	// standard error goes to; "" when there is neither.
	LogFile string
	// Log is what the log gained since the reload says (once Processed).
	Log ReloadLog

	logPath   string // where the host reads LogFile (/proc/PID/fd/2 for stderr)
	logOffset int64  // LogFile's size before the reload
	token     string // in the check line a session logs once Processed
	sqlLog    bool   // one psql session reads the log (see ValidateReload)
}

// Reload signals the postmaster to reload and proves what came of it, in
// one round trip: it notes the server log's size, sends pg_reload_conf(),
// waits (up to about a second) until a new session shows that the
// postmaster has handled the signal, reads the running ssl settings there,
// has that session log a check line, and reads what the log gained up to
// it. The postmaster handles the signal on its own time and reports a
// rejected part (SSL files, pg_hba.conf) only in its log, so a caller
// whose result is not Processed asks again with ReloadProgress.
func Reload(ctx context.Context, c transport.Conn, t Target, o ReloadOptions) (*ReloadResult, error) {
	token, err := checkToken()
	if err != nil {
		return nil, err
	}
	if o.sqlLog() {
		return reloadSession(ctx, c, t, o, token)
	}
	return runReloadScript(ctx, c, reloadScript(t, o.DataDir, token), token)
}

// ReloadProgress looks again, one round trip, after a Reload whose result
// was not Processed: a new session, the settings, the log since the reload.
func ReloadProgress(ctx context.Context, c transport.Conn, t Target, r *ReloadResult) (*ReloadResult, error) {
	if _, err := strconv.ParseFloat(r.T0, 64); err != nil {
		return nil, fmt.Errorf("host %s: reload progress: bad reload time %q", c.Host(), r.T0)
	}
	if r.sqlLog {
		return progressSession(ctx, c, t, r)
	}
	script := "LC_ALL=C; export LC_ALL\n" + psqlFunc(t) +
		"t0=" + shellescape.Quote(r.T0) + "; size=" + strconv.FormatInt(r.logOffset, 10) +
		"; log=" + shellescape.Quote(r.logPath) + "; src=" + shellescape.Quote(r.LogFile) + "\n" +
		progressScript(r.token)
	return runReloadScript(ctx, c, script, r.token)
}

// Markers in the reload script's output.
const (
	reloadMarker   = "@@sshplay-reload@@"
	settingsMarker = "@@sshplay-settings@@"
	logMarker      = "@@sshplay-log@@"
)

// checkLine is the text of the line a session logs once the postmaster
// has handled the reload: the log holds every line of the reload up to it.
const checkLine = "sshplay reload check "

// logReadMax caps what is read of the log's gain.
const logReadMax = 256 << 10

// checkToken makes the check line of one reload unique on the host.
func checkToken() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reload check token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// psqlFunc defines q, psql with t's options and connection, taking more
// options ("-v name=value") before the connection's.
func psqlFunc(t Target) string {
	prog := "psql"
	if t.Bindir != "" {
		prog = path.Join(t.Bindir, "psql")
	}
	conn := t.connArgs()
	if t.SocketDir != "" {
		conn = append([]string{"-h", t.SocketDir}, conn...)
	}
	return "q() { " + shellescape.QuoteCommand(append([]string{prog}, t.argv()...)) + ` "$@" ` + shellescape.QuoteCommand(conn) + "; }\n"
}

func querySettings(ctx context.Context, c transport.Conn, t Target, sql string) ([]Setting, error) {
	out, err := Query(ctx, c, t, sql)
	if err != nil {
		return nil, err
	}
	s, err := parseSettings(out)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.Host(), err)
	}
	return s, nil
}

// parseSettings reads the JSON array of settingsSQL, which comes last
// (earlier statements print t or nothing; json_agg may break lines).
func parseSettings(out []byte) ([]Setting, error) {
	last := strings.TrimSpace(string(out))
	if !strings.HasPrefix(last, "[") {
		if i := strings.Index(last, "\n["); i >= 0 {
			last = last[i+1:]
		}
	}
	var s []Setting
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		return nil, fmt.Errorf("parse pg_settings: %w (output %q)", err, truncate(string(out), 200))
	}
	return s, nil
}

// logFileSQL prints the logging collector's current file (resolved
// against the data directory), or nothing when the collector is off.
const logFileSQL = `SELECT CASE WHEN current_setting('logging_collector')::bool AND pg_current_logfile() IS NOT NULL
  THEN CASE WHEN pg_current_logfile() LIKE '/%' THEN pg_current_logfile()
    ELSE current_setting('data_directory') || '/' || pg_current_logfile() END
  ELSE '' END;
`

// reloadScript finds the server's log and notes its size, reloads
// (pg_reload_conf() right after reading the server's clock), then runs
// progressScript. A failure to find the log never stops the reload.
func reloadScript(t Target, dataDir, token string) string {
	var b strings.Builder
	b.WriteString("LC_ALL=C; export LC_ALL\n")
	b.WriteString(psqlFunc(t))
	b.WriteString("log=$(q 2>/dev/null <<'SSHPLAY_SQL'\n" + logFileSQL + "SSHPLAY_SQL\n) || log=\nsrc=$log\n")
	if dataDir != "" {
		// Without the collector the log is wherever the postmaster's
		// standard error goes (pg_ctl -l, pg_ctlcluster): read it
		// through /proc when it is a regular file, never a pipe.
		b.WriteString(`if [ -z "$log" ] && pid=$(head -n 1 ` + shellescape.Quote(path.Join(dataDir, "postmaster.pid")) + ` 2>/dev/null) && [ -n "$pid" ] && [ -f "/proc/$pid/fd/2" ] && [ -r "/proc/$pid/fd/2" ]; then
 log=/proc/$pid/fd/2; src=$(readlink "$log" 2>/dev/null) || src=$log
fi
`)
	}
	b.WriteString(`size=-1; [ -z "$log" ] || size=$(stat -L -c %s -- "$log" 2>/dev/null) || size=-1
r=$(q <<'SSHPLAY_SQL'
SELECT extract(epoch FROM clock_timestamp());
SELECT pg_reload_conf();
SSHPLAY_SQL
) || exit
t0=$(printf '%s\n' "$r" | head -n 1)
`)
	b.WriteString(progressScript(token))
	return b.String()
}

// progressScript waits (about a second at most) until a new session sees
// pg_conf_load_time() past $t0: the postmaster starts sessions only
// between signals, so it has then finished the reload, SSL part included.
// That session reads the ssl settings and logs the check line; the script
// prints what it learned and, once the check line is in the log (the
// logging collector writes asynchronously), the log's gain since $size.
func progressScript(token string) string {
	check := checkLine + token
	return `i=0
while :; do
 s=$(q -v sshplay_t0="$t0" <<'SSHPLAY_SQL'
SELECT extract(epoch FROM pg_conf_load_time()) > :'sshplay_t0'::numeric AS sshplay_done \gset
\if :sshplay_done
SET log_error_verbosity = terse;
SET log_min_error_statement = panic;
DO $sshplay$BEGIN RAISE LOG '` + check + `'; END$sshplay$;
` + settingsSQL + `\endif
SSHPLAY_SQL
 ) || exit
 if [ -n "$s" ] || [ $i -ge 40 ]; then break; fi
 i=$((i+1)); sleep 0.02
done
printf '` + reloadMarker + ` %s %s\n%s\n%s\n` + settingsMarker + `\n%s\n` + logMarker + `\n' "$t0" "$size" "$log" "$src" "$s"
if [ -n "$s" ] && [ "$size" -ge 0 ]; then
 i=0
 while [ $i -lt 50 ] && ! tail -c +$((size+1)) -- "$log" 2>/dev/null | head -c ` + strconv.Itoa(logReadMax) + ` | grep -qF '` + check + `'; do i=$((i+1)); sleep 0.02; done
 tail -c +$((size+1)) -- "$log" 2>/dev/null | head -c ` + strconv.Itoa(logReadMax) + `
fi
`
}

// runReloadScript runs a reload script and parses its report.
func runReloadScript(ctx context.Context, c transport.Conn, script, token string) (*ReloadResult, error) {
	res, err := runPsql(ctx, c, script, transport.RunOptions{}, "reload")
	if err != nil {
		return nil, err
	}
	r, err := parseReloadOutput(res.Stdout, token)
	if err != nil {
		return nil, fmt.Errorf("host %s: reload: %w", c.Host(), err)
	}
	return r, nil
}

// parseSessionOutput reads what ValidateReload's session printed: the
// files' state, then the reload's report when the reload was sent.
func parseSessionOutput(out []byte, token string) (*DiskState, *ReloadResult, error) {
	i := bytes.Index(out, []byte(diskMarker+"\n"))
	if i < 0 {
		return nil, nil, fmt.Errorf("no validation in the output %q", truncate(string(out), 200))
	}
	js := out[i+len(diskMarker)+1:]
	j := bytes.Index(js, []byte(reloadMarker+" "))
	if j >= 0 {
		js = js[:j]
	}
	var d DiskState
	if err := json.Unmarshal(bytes.TrimSpace(js), &d); err != nil {
		return nil, nil, fmt.Errorf("parse validation query: %w (output %q)", err, truncate(string(js), 200))
	}
	if j < 0 {
		return &d, nil, nil
	}
	r, err := parseReloadOutput(out[i+len(diskMarker)+1+j:], token)
	if err != nil {
		return nil, nil, err
	}
	return &d, r, nil
}

// parseReloadOutput reads what progressScript (or reportSQL) printed. A
// third field "b64" on the report's first line says the log's gain is in
// base64 (the server read it; see reportSQL).
func parseReloadOutput(out []byte, token string) (*ReloadResult, error) {
	i := bytes.Index(out, []byte(reloadMarker+" "))
	if i < 0 {
		return nil, fmt.Errorf("no report in the output %q", truncate(string(out), 200))
	}
	head, rest, ok1 := strings.Cut(string(out[i+len(reloadMarker)+1:]), "\n"+settingsMarker+"\n")
	settings, gain, ok2 := strings.Cut(rest, "\n"+logMarker+"\n")
	fields := strings.SplitN(head, "\n", 3)
	if !ok1 || !ok2 || len(fields) != 3 {
		return nil, fmt.Errorf("bad report %q", truncate(string(out[i:]), 200))
	}
	t0, size, _ := strings.Cut(fields[0], " ")
	size, enc, _ := strings.Cut(size, " ")
	r := &ReloadResult{T0: t0, LogFile: fields[2], logPath: fields[1], token: token, logOffset: -1}
	if n, err := strconv.ParseInt(size, 10, 64); err == nil {
		r.logOffset = n
	}
	if strings.TrimSpace(settings) == "" {
		return r, nil
	}
	s, err := parseSettings([]byte(settings))
	if err != nil {
		return nil, err
	}
	r.Processed, r.Settings = true, s
	switch {
	case r.logPath == "":
		r.LogFile = ""
		r.Log = ReloadLog{Why: "no server log found (no logging collector, and the postmaster's standard error is not a regular file)"}
	case r.logOffset < 0:
		r.Log = ReloadLog{Why: "cannot read the size of " + r.LogFile}
	case enc == "b64":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(gain))
		if err != nil {
			return nil, fmt.Errorf("bad log in the report: %w", err)
		}
		r.Log = ScanReloadLog(string(raw), checkLine+token)
	default:
		r.Log = ScanReloadLog(gain, checkLine+token)
	}
	return r, nil
}
