package pg

import (
	"context"
	"encoding/base64"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/transport"
)

func TestCutCipherCheck(t *testing.T) {
	t.Parallel()
	facts := "{\"x\":1}\n@@sshplay-probe@@\n\nOpenSSL 3.0.13\n\n\n@@sshplay-backups@@\nD /data\n"
	for _, tc := range []struct {
		name, list, out string
		ran, usable     bool
		ciphers         []string
		err             string
	}{
		{name: "rejected", list: "NOT-A-CIPHER", ran: true, err: "Error in cipher list",
			out: "@@sshplay-ciphers@@ 1\nError in cipher list\n40F70B7F1B7F0000:error:0A0000B9:SSL routines:SSL_CTX_set_cipher_list:no cipher match:../ssl/ssl_lib.c:2741:\n"},
		{name: "accepted", list: "ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER", ran: true, usable: true, ciphers: []string{"ECDHE-RSA-AES128-GCM-SHA256"},
			out: "@@sshplay-ciphers@@ 0\nECDHE-RSA-AES128-GCM-SHA256\n"},
		// OpenSSL takes aNULL but lists nothing its security level allows.
		{name: "nothing usable", list: "aNULL", ran: true, out: "@@sshplay-ciphers@@ 0\n\n"},
		{name: "no openssl", list: "HIGH", usable: true, out: "@@sshplay-ciphers@@ 127\nsh: 1: openssl: not found\n"},
		{name: "nothing to check", usable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest, cc := cutCipherCheck([]byte(facts+tc.out), tc.list)
			if string(rest) != facts {
				t.Errorf("rest %q, want the facts output as it was", rest)
			}
			if cc.List != tc.list || cc.Ran != tc.ran || cc.Usable() != tc.usable || !reflect.DeepEqual(cc.Ciphers, tc.ciphers) || cc.Error != tc.err {
				t.Errorf("got %+v (usable %v)", cc, cc.Usable())
			}
		})
	}
}

// TestCipherCheckScriptLocal runs the check with this machine's openssl.
func TestCipherCheckScriptLocal(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl here")
	}
	ctx := context.Background()
	for list, usable := range map[string]bool{"NOT-A-CIPHER": false, "HIGH:!aNULL": true, "it's": false} {
		res, err := transport.Local().Run(ctx, "echo facts; "+cipherCheckScript(list), transport.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rest, cc := cutCipherCheck(res.Stdout, list)
		if string(rest) != "facts\n" || cc.Usable() != usable || !cc.Ran {
			t.Errorf("%q: rest %q, check %+v, want usable %v", list, rest, cc, usable)
		}
	}
}

func TestFactsScriptEndsWithCipherCheck(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		s := factsScript(GatherOptions{TLS: tls, ciphers: "HIGH:!aNULL"})
		if !strings.HasSuffix(s, cipherCheckScript("HIGH:!aNULL")) {
			t.Errorf("tls %v: the cipher check is not the script's last part", tls)
		}
		if strings.Contains(factsScript(GatherOptions{TLS: tls}), cipherMarker) {
			t.Errorf("tls %v: a cipher check without a list", tls)
		}
	}
}

func TestParseReloadOutput(t *testing.T) {
	t.Parallel()
	out := "@@sshplay-reload@@ 1796499974.034586 2985\n/proc/10158/fd/2\n/tmp/pg/server.log\n@@sshplay-settings@@\n" +
		`[{"name" : "ssl", "setting" : "on", "context" : "sighup", "source" : "configuration file", "sourcefile" : "/d/postgresql.conf", "sourceline" : 3, "pending_restart" : false}, ` + "\n" +
		` {"name" : "ssl_ciphers", "setting" : "NOT-A-CIPHER", "context" : "sighup", "source" : "configuration file", "sourcefile" : "/d/postgresql.conf", "sourceline" : 4, "pending_restart" : false}]` +
		"\n@@sshplay-log@@\n" +
		"2026-12-05 19:46:14.039 UTC [10158] LOG:  received SIGHUP, reloading configuration files\n" +
		"2026-12-05 19:46:14.061 UTC [10158] LOG:  could not set the cipher list (no valid ciphers available)\n" +
		"2026-12-05 19:46:14.061 UTC [10158] LOG:  SSL configuration was not reloaded\n" +
		stderrCheck + "\n"
	r, err := parseReloadOutput([]byte(out), checkTok)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Processed || r.T0 != "1796499974.034586" || r.logOffset != 2985 || r.logPath != "/proc/10158/fd/2" || r.LogFile != "/tmp/pg/server.log" || len(r.Settings) != 2 {
		t.Errorf("got %+v", r)
	}
	if !r.Log.Checked || len(r.Log.Failures) != 2 {
		t.Errorf("log %+v", r.Log)
	}

	// Not handled yet: no settings, no verdict; no log found at all.
	r, err = parseReloadOutput([]byte("@@sshplay-reload@@ 17.5 -1\n\n\n@@sshplay-settings@@\n\n@@sshplay-log@@\n"), checkTok)
	if err != nil || r.Processed || r.logOffset != -1 {
		t.Errorf("pending: %+v %v", r, err)
	}
	r, err = parseReloadOutput([]byte("@@sshplay-reload@@ 17.5 -1\n\n\n@@sshplay-settings@@\n[]\n@@sshplay-log@@\n"), checkTok)
	if err != nil || !r.Processed || r.Log.Checked || !strings.Contains(r.Log.Why, "no server log found") || r.LogFile != "" {
		t.Errorf("no log: %+v %v", r, err)
	}
	if _, err := parseReloadOutput([]byte("psql: error"), checkTok); err == nil {
		t.Error("garbage parsed")
	}
}

// TestParseSessionOutput pins what ValidateReload reads off its one psql
// session: the files' state always, the reload's report only when the
// session sent the reload, the log's gain in base64 (the server read it).
func TestParseSessionOutput(t *testing.T) {
	t.Parallel()
	const tok = "0123456789abcdef"
	disk := "@@sshplay-disk@@\n" + `{"file_settings" : [{"sourcefile":"/e/postgresql.conf","sourceline":7,"seqno":1,"name":"ssl","setting":"on","applied":true,"error":""}], "hba_errors" : [{"file_name":"/e/pg_hba.conf","line_number":3,"error":"invalid connection type \"hostx\""}]}` + "\n"
	logText := "2026-12-05 19:46:14.039 UTC [10158] LOG:  " + SighupLine + "\n" +
		"2026-12-05 19:46:14.061 UTC [10158] LOG:  SSL configuration was not reloaded\n" +
		"2026-12-05 19:46:14.264 UTC [18112] LOG:  " + checkLine + tok + "\n"
	report := func(settings, gain string) string {
		return "@@sshplay-reload@@ 1796499974.034586 2985 b64\n/proc/10158/fd/2\n/tmp/pg/server.log\n@@sshplay-settings@@\n" +
			settings + "\n@@sshplay-log@@\n" + gain + "\n"
	}
	settings := `[{"name" : "ssl", "setting" : "on", "context" : "sighup", "pending_restart" : false}]`
	for _, tc := range []struct {
		name                string
		out                 string
		reloaded, processed bool
		hbaErrors, failures int
		checked             bool
		err                 string
	}{
		{name: "validated only", out: disk, hbaErrors: 1},
		{name: "reloaded and handled", out: disk + report(settings, base64.StdEncoding.EncodeToString([]byte(logText))),
			hbaErrors: 1, reloaded: true, processed: true, checked: true, failures: 1},
		{name: "reloaded, not handled yet", out: disk + report("", ""), hbaErrors: 1, reloaded: true},
		{name: "log gain not read", out: disk + report(settings, ""), hbaErrors: 1, reloaded: true, processed: true},
		{name: "no validation", out: report(settings, ""), err: "no validation in the output"},
		{name: "bad validation", out: "@@sshplay-disk@@\n{\"file_settings\": [\n", err: "parse validation query"},
		{name: "bad log", out: disk + report(settings, "not base64!"), err: "bad log in the report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, r, err := parseSessionOutput([]byte(tc.out), tok)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.HBAErrors) != tc.hbaErrors || len(d.FileSettings) != 1 {
				t.Errorf("disk state %+v", d)
			}
			if (r != nil) != tc.reloaded {
				t.Fatalf("reload %+v, want reloaded %v", r, tc.reloaded)
			}
			if r == nil {
				return
			}
			if r.Processed != tc.processed || r.Log.Checked != tc.checked || len(r.Log.Failures) != tc.failures {
				t.Errorf("reload %+v", r)
			}
			if r.T0 != "1796499974.034586" || r.logOffset != 2985 || r.logPath != "/proc/10158/fd/2" || (r.Processed && r.LogFile != "/tmp/pg/server.log") {
				t.Errorf("report head %+v", r)
			}
		})
	}
}

// TestSessionShellNamesTheLogWithoutReadlink: while the postmaster is the
// one the facts saw, the session's shell names its log from the facts
// (no readlink on the host), and the shell becomes psql (exec).
func TestSessionShellNamesTheLogWithoutReadlink(t *testing.T) {
	t.Parallel()
	tg := Target{Bindir: "/usr/lib/postgresql/15/bin", SocketDir: "/run/pg"}
	for _, tc := range []struct {
		name     string
		o        ReloadOptions
		readlink bool
	}{
		{name: "facts know the log", o: ReloadOptions{DataDir: "/d", PostmasterPID: 42, StderrLog: "/var/log/pg.log"}},
		{name: "facts do not", o: ReloadOptions{DataDir: "/d", PostmasterPID: 42}, readlink: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sessionShell(tg, tc.o)
			if !strings.Contains(s, "exec /usr/lib/postgresql/15/bin/psql ") || !strings.Contains(s, "/d/postmaster.pid") {
				t.Errorf("script:\n%s", s)
			}
			if got := strings.Contains(s, "case $pid in 42) src=/var/log/pg.log"); got == tc.readlink {
				t.Errorf("hint used %v, want %v:\n%s", got, !tc.readlink, s)
			}
			if n := strings.Count(s, "readlink"); n != 1 {
				t.Errorf("%d readlinks, want one (when the postmaster changed):\n%s", n, s)
			}
		})
	}
}
