package pg

import (
	"encoding/json"
	"strings"
)

// A reload's verdict lives only in the server's log: pg_reload_conf()
// returns true whatever the postmaster then makes of the files, and when
// it rejects part of them (the SSL files, pg_hba.conf) it keeps the old
// state while pg_settings already shows the new values. ScanReloadLog
// reads what the log gained since a reload.

// SighupLine is what the postmaster logs (at LOG) when it starts a reload.
const SighupLine = "received SIGHUP, reloading configuration files"

// ReloadLog is what the server's log says about one reload.
type ReloadLog struct {
	// Checked: the text holds the postmaster's "received SIGHUP" line
	// and, after it, the check line a session wrote once the postmaster
	// had finished the reload, so every line of the reload is in it.
	Checked bool
	// Why says why the log could not be checked ("" when Checked).
	Why string
	// Failures are the messages of the lines that say a part of the
	// reload was not applied, in log order; for a line of pg_hba.conf
	// (or postgresql.conf) the file and line follow in parentheses.
	Failures []string
}

// ScanReloadLog reads text, what the server's log gained since just before
// a reload, up to the first line holding token (the check line). Only the
// postmaster's own LOG lines from its "received SIGHUP" line on count:
// sessions' errors in between are not about the reload.
func ScanReloadLog(text, token string) ReloadLog {
	lines := strings.Split(text, "\n")
	start, end := -1, -1
	for i, l := range lines {
		if start < 0 && strings.Contains(l, SighupLine) {
			start = i
		}
		if token != "" && strings.Contains(l, token) {
			end = i
			break
		}
	}
	switch {
	case end < 0:
		return ReloadLog{Why: "the check line written after the reload did not reach the log"}
	case start < 0:
		return ReloadLog{Why: "the log does not show the reload (no \"" + SighupLine + "\" line: log_min_messages above LOG, or messages not in English)"}
	}
	return ReloadLog{Checked: true, Failures: reloadFailures(lines[start:end])}
}

// reloadFailures picks the failure messages out of the lines of one or
// more reloads, each starting with its "received SIGHUP" line.
func reloadFailures(lines []string) []string {
	var out []string
	restartOnly := false // this reload's complaints so far only ask for a restart
	for i, l := range lines {
		sev, msg := splitSeverity(l)
		if sev != "LOG" && sev != "" {
			continue
		}
		switch {
		case strings.Contains(msg, SighupLine):
			restartOnly = false
		case strings.Contains(msg, "cannot be changed without restarting the server"):
			// A pending restart, legitimate on a cluster (pg_settings
			// shows pending_restart); its "contains errors" line is no
			// failure either.
			restartOnly = true
		case strings.Contains(msg, "contains errors; unaffected changes were applied") && restartOnly:
		case reloadFailure(msg):
			out = append(out, msg)
		case i+1 < len(lines) && fileContext(lines[i+1]) != "":
			// A line of pg_hba.conf, pg_ident.conf or postgresql.conf
			// the postmaster rejected, named on the CONTEXT line after it.
			out = append(out, msg+" ("+fileContext(lines[i+1])+")")
		}
	}
	return out
}

// reloadFailure reports whether a LOG message of the postmaster says that
// part of a reload was not applied (PostgreSQL 10 to 17 wording).
func reloadFailure(msg string) bool {
	for _, s := range []string{
		"was not reloaded", // SSL configuration, pg_hba.conf, pg_ident.conf
		"could not load pg_hba.conf",
		"could not create SSL context",
		"could not load server certificate file",
		"could not access private key file",
		"private key file \"", // has group or world access, must be owned by ..., is not a regular file, requires a passphrase
		"could not load private key file",
		"check of private key failed",
		"could not set the cipher list",
		"could not set minimum SSL protocol version",
		"could not set maximum SSL protocol version",
		"could not set SSL protocol version range",
		"not supported by this build",
		"could not load root certificate file",
		"could not load SSL certificate revocation list",
		"could not load DH parameters file",
		"DH: could not",
		"ECDH: ",
		"invalid value for parameter",
		"unrecognized configuration parameter",
		"syntax error in file",
		"too many syntax errors found",
		"could not open configuration file",
		"could not open configuration directory",
		"contains errors",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// fileContext returns "line N of configuration file ..." when l is a
// CONTEXT line naming a line of a configuration file, else "".
func fileContext(l string) string {
	sev, msg := splitSeverity(l)
	if sev != "CONTEXT" || !strings.Contains(msg, "of configuration file") {
		return ""
	}
	return msg
}

// splitSeverity splits a log line into its severity and message, for the
// stderr format ("<log_line_prefix>LOG:  message"), csvlog and jsonlog. A
// line it cannot read (a continuation line) comes back whole with
// severity "".
func splitSeverity(l string) (sev, msg string) {
	if strings.HasPrefix(l, "{") {
		var j struct {
			Severity string `json:"error_severity"`
			Message  string `json:"message"`
		}
		if json.Unmarshal([]byte(l), &j) == nil && j.Severity != "" {
			return j.Severity, j.Message
		}
	}
	sevs := []string{"LOG", "WARNING", "ERROR", "FATAL", "PANIC", "INFO", "NOTICE",
		"DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION"}
	best := -1
	for _, s := range sevs {
		i := strings.Index(l, s+":  ")
		if i >= 0 && (best < 0 || i < best) && (i == 0 || !tagByte(l[i-1])) {
			best, sev = i, s
		}
	}
	if best >= 0 {
		return sev, strings.TrimSpace(l[best+len(sev)+3:])
	}
	for _, s := range sevs {
		if m, ok := csvMessage(l, s); ok {
			return s, m
		}
	}
	return "", strings.TrimSpace(l)
}

// csvMessage finds a csvlog line's message: the quoted field after the
// severity and the five-character SQLSTATE (...,LOG,00000,"message",...).
func csvMessage(l, sev string) (string, bool) {
	i := strings.Index(l, ","+sev+",")
	if i < 0 {
		return "", false
	}
	rest := l[i+len(sev)+2:]
	if len(rest) < 7 || rest[5:7] != `,"` {
		return "", false
	}
	rest = rest[7:]
	var b strings.Builder
	for j := 0; j < len(rest); j++ {
		if rest[j] == '"' {
			if j+1 < len(rest) && rest[j+1] == '"' {
				b.WriteByte('"')
				j++
				continue
			}
			break
		}
		b.WriteByte(rest[j])
	}
	return b.String(), true
}

// tagByte reports whether b can be part of a severity tag (so that a tag
// is only found where it starts).
func tagByte(b byte) bool { return b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' }
