package pg

import (
	"reflect"
	"strings"
	"testing"
)

// The log lines below were written by PostgreSQL 15.18 (Debian 15.18-0+deb12u1,
// OpenSSL 3.0) started with pg_ctl -l, after the reload that each case
// names; csvlog and jsonlog lines come from the same server with the
// logging collector on.

const checkTok = "23f9ce8685c9d80d"

// stderrCheck is the check line a session logs once the reload is handled.
const stderrCheck = "2026-12-05 19:46:14.264 UTC [18112] LOG:  sshplay reload check " + checkTok

func TestScanReloadLog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		log      string
		checked  bool
		why      string
		failures []string
	}{
		{name: "cipher list the server cannot use", checked: true, log: `2026-12-05 19:46:14.039 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:46:14.041 UTC [10158] LOG:  parameter "ssl_ciphers" changed to "NOT-A-CIPHER"
2026-12-05 19:46:14.061 UTC [10158] LOG:  could not set the cipher list (no valid ciphers available)
2026-12-05 19:46:14.061 UTC [10158] LOG:  SSL configuration was not reloaded
` + stderrCheck + "\n",
			failures: []string{"could not set the cipher list (no valid ciphers available)", "SSL configuration was not reloaded"}},
		{name: "certificate unreadable", checked: true, log: `2026-12-05 19:40:56.796 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:40:56.797 UTC [10158] LOG:  parameter "ssl_min_protocol_version" changed to "TLSv1.3"
2026-12-05 19:40:56.807 UTC [10158] LOG:  could not load server certificate file "server.crt": Permission denied
2026-12-05 19:40:56.808 UTC [10158] LOG:  SSL configuration was not reloaded
` + stderrCheck,
			failures: []string{`could not load server certificate file "server.crt": Permission denied`, "SSL configuration was not reloaded"}},
		{name: "key with group access", checked: true, log: `2026-12-05 19:40:57.170 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:40:57.176 UTC [10158] LOG:  private key file "server.key" has group or world access
2026-12-05 19:40:57.176 UTC [10158] DETAIL:  File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root.
2026-12-05 19:40:57.176 UTC [10158] LOG:  SSL configuration was not reloaded
` + stderrCheck,
			failures: []string{`private key file "server.key" has group or world access`, "SSL configuration was not reloaded"}},
		{name: "key not matching the certificate", checked: true, log: `2026-12-05 19:41:03.910 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:41:03.917 UTC [10158] LOG:  could not load private key file "server.key": key values mismatch
2026-12-05 19:41:03.917 UTC [10158] LOG:  SSL configuration was not reloaded
` + stderrCheck,
			failures: []string{`could not load private key file "server.key": key values mismatch`, "SSL configuration was not reloaded"}},
		{name: "bad pg_hba.conf line", checked: true, log: `2026-12-05 19:40:57.535 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:40:57.540 UTC [10158] LOG:  invalid connection type "hostsssl"
2026-12-05 19:40:57.540 UTC [10158] CONTEXT:  line 99 of configuration file "/tmp/pgscratch-5738/data/pg_hba.conf"
2026-12-05 19:40:57.540 UTC [10158] LOG:  pg_hba.conf was not reloaded
` + stderrCheck,
			failures: []string{`invalid connection type "hostsssl" (line 99 of configuration file "/tmp/pgscratch-5738/data/pg_hba.conf")`, "pg_hba.conf was not reloaded"}},
		{name: "invalid setting", checked: true, log: `2026-12-05 19:41:02.793 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:41:02.800 UTC [10158] LOG:  invalid value for parameter "ssl_max_protocol_version": "TLSv9"
2026-12-05 19:41:02.800 UTC [10158] HINT:  Available values: , TLSv1, TLSv1.1, TLSv1.2, TLSv1.3.
2026-12-05 19:41:02.800 UTC [10158] LOG:  configuration file "/tmp/pgscratch-5738/data/postgresql.conf" contains errors; unaffected changes were applied
` + stderrCheck,
			failures: []string{`invalid value for parameter "ssl_max_protocol_version": "TLSv9"`,
				`configuration file "/tmp/pgscratch-5738/data/postgresql.conf" contains errors; unaffected changes were applied`}},
		{name: "a pending restart is no failure", checked: true, log: `2026-12-05 19:41:03.158 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:41:03.161 UTC [10158] LOG:  parameter "max_connections" cannot be changed without restarting the server
2026-12-05 19:41:03.161 UTC [10158] LOG:  configuration file "/tmp/pgscratch-5738/data/postgresql.conf" contains errors; unaffected changes were applied
` + stderrCheck},
		{name: "lines before the reload and other processes' lines do not count", checked: true, log: `2026-12-05 19:41:03.917 UTC [10158] LOG:  could not load private key file "server.key": key values mismatch
2026-12-05 19:41:03.917 UTC [10158] LOG:  SSL configuration was not reloaded
2026-12-05 19:45:51.990 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:45:52.005 UTC [10159] LOG:  checkpoint starting: time
` + stderrCheck + `
2026-12-05 19:46:14.264 UTC [18112] LOG:  could not set the cipher list (after the check line)
`},
		{name: "csvlog, with a session's error in between", checked: true, log: `2026-12-05 19:47:28.177 UTC,,,18349,,6b146a0a.47ad,2,,2026-12-05 19:46:18 UTC,,0,LOG,00000,"received SIGHUP, reloading configuration files",,,,,,,,,"","postmaster",,0
2026-12-05 19:47:28.183 UTC,,,18349,,6b146a0a.47ad,3,,2026-12-05 19:46:18 UTC,,0,LOG,00000,"parameter ""ssl_ciphers"" changed to ""NOT-A-CIPHER""",,,,,,,,,"","postmaster",,0
2026-12-05 19:47:28.186 UTC,,,18349,,6b146a0a.47ad,4,,2026-12-05 19:46:18 UTC,,0,LOG,F0000,"could not set the cipher list (no valid ciphers available)",,,,,,,,,"","postmaster",,0
2026-12-05 19:47:28.186 UTC,,,18349,,6b146a0a.47ad,5,,2026-12-05 19:46:18 UTC,,0,LOG,00000,"SSL configuration was not reloaded",,,,,,,,,"","postmaster",,0
2026-12-05 19:47:28.263 UTC,"postgres","postgres",20518,"[local]",6b146a50.5026,1,"SET",2026-12-05 19:47:28 UTC,3/42,0,ERROR,22023,"invalid value for parameter ""work_mem"": ""x""",,,,,,"SET work_mem = 'x'",,,"psql","client backend",,0
2026-12-05 19:47:28.300 UTC,"postgres","postgres",20519,"[local]",6b146a50.5027,1,"DO",2026-12-05 19:47:28 UTC,3/43,0,LOG,00000,"sshplay reload check ` + checkTok + `",,,,,,,,,"psql","client backend",,0
`,
			failures: []string{"could not set the cipher list (no valid ciphers available)", "SSL configuration was not reloaded"}},
		{name: "jsonlog", checked: true, log: `{"timestamp":"2026-12-05 19:47:44.939 UTC","pid":18349,"session_id":"6b146a0a.47ad","line_num":2,"session_start":"2026-12-05 19:46:18 UTC","txid":0,"error_severity":"LOG","message":"received SIGHUP, reloading configuration files","backend_type":"postmaster","query_id":0}
{"timestamp":"2026-12-05 19:47:44.943 UTC","pid":18349,"session_id":"6b146a0a.47ad","line_num":3,"session_start":"2026-12-05 19:46:18 UTC","txid":0,"error_severity":"LOG","message":"parameter \"ssl_ciphers\" changed to \"NOT-A-CIPHER\"","backend_type":"postmaster","query_id":0}
{"timestamp":"2026-12-05 19:47:44.945 UTC","pid":18349,"session_id":"6b146a0a.47ad","line_num":4,"session_start":"2026-12-05 19:46:18 UTC","txid":0,"error_severity":"LOG","state_code":"F0000","message":"could not set the cipher list (no valid ciphers available)","backend_type":"postmaster","query_id":0}
{"timestamp":"2026-12-05 19:47:44.945 UTC","pid":18349,"session_id":"6b146a0a.47ad","line_num":5,"session_start":"2026-12-05 19:46:18 UTC","txid":0,"error_severity":"LOG","message":"SSL configuration was not reloaded","backend_type":"postmaster","query_id":0}
{"timestamp":"2026-12-05 19:47:45.001 UTC","pid":20600,"error_severity":"LOG","message":"sshplay reload check ` + checkTok + `","backend_type":"client backend","query_id":0}
`,
			failures: []string{"could not set the cipher list (no valid ciphers available)", "SSL configuration was not reloaded"}},
		{name: "check line missing", why: "did not reach the log", log: `2026-12-05 19:46:14.039 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:46:14.061 UTC [10158] LOG:  SSL configuration was not reloaded
`},
		{name: "reload not logged (log_min_messages above LOG)", why: "does not show the reload", log: stderrCheck + "\n"},
		{name: "empty", why: "did not reach the log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ScanReloadLog(tc.log, checkLine+checkTok)
			if got.Checked != tc.checked || !strings.Contains(got.Why, tc.why) || (tc.why == "") != (got.Why == "") {
				t.Errorf("checked %v why %q, want %v %q", got.Checked, got.Why, tc.checked, tc.why)
			}
			if !reflect.DeepEqual(got.Failures, tc.failures) {
				t.Errorf("failures\n got %q\nwant %q", got.Failures, tc.failures)
			}
		})
	}
}

func TestSplitSeverity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ line, sev, msg string }{
		{`2026-12-05 19:40:57.176 UTC [10158] DETAIL:  File must have permissions u=rw (0600)`, "DETAIL", "File must have permissions u=rw (0600)"},
		{`[10158] user=,db=,app=,client= LOG:  SSL configuration was not reloaded`, "LOG", "SSL configuration was not reloaded"},
		{`LOG:  received SIGHUP, reloading configuration files`, "LOG", "received SIGHUP, reloading configuration files"},
		{`2026-12-05 19:47:28.183 UTC,,,18349,,6b146a0a.47ad,3,,2026-12-05 19:46:18 UTC,,0,LOG,00000,"parameter ""ssl_ciphers"" changed",,,`, "LOG", `parameter "ssl_ciphers" changed`},
		{`	continuation of a statement`, "", "continuation of a statement"},
	} {
		if sev, msg := splitSeverity(tc.line); sev != tc.sev || msg != tc.msg {
			t.Errorf("splitSeverity(%q) = %q, %q; want %q, %q", tc.line, sev, msg, tc.sev, tc.msg)
		}
	}
}
