package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
)

// fakeReloadReport is what pg.ValidateReload's psql session (and
// pg.ReloadProgress's) prints on a host whose postmaster has handled the
// reload (settings != ""; "" means not yet), with log as what the server
// log gained ("-" when no log was found), read by the server and printed
// in base64. The check line carries the token of script, the SQL that
// was run.
func fakeReloadReport(script, settings, log string) []byte {
	token := regexp.MustCompile(`sshplay reload check ([0-9a-f]+)`).FindStringSubmatch(script)
	logPath, logFile, size := "/proc/4242/fd/2", "/var/log/postgresql/postgresql-15-main.log", "1000"
	switch {
	case log == "-":
		logPath, logFile, size, log = "", "", "-1", ""
	case settings != "" && len(token) == 2:
		log += "2026-12-05 19:46:14.264 UTC [18112] LOG:  sshplay reload check " + token[1] + "\n"
	}
	return []byte("@@sshplay-reload@@ 1796499974.034586 " + size + " b64\n" + logPath + "\n" + logFile +
		"\n@@sshplay-settings@@\n" + settings + "\n@@sshplay-log@@\n" + base64.StdEncoding.EncodeToString([]byte(log)) + "\n")
}

const sslOnSettings = `[{"name":"ssl","setting":"on","context":"sighup","pending_restart":false}]`

// reloadFake answers the reload's psql sessions: the first validates
// (files without errors) and reloads, the later ones look again. Reports
// are handed out in order, the last one repeated; each gets the shell
// command and the SQL it ran.
func reloadFake(t *testing.T, reports ...func(cmd, sql string) []byte) (*tasktest.Conn, *int) {
	t.Helper()
	conn := tasktest.New("db1", "postgres")
	runs := 0
	conn.Fake().SetHandler(func(ctx context.Context, c *tasktest.Conn, cmd string, stdin []byte) (*transport.Result, bool) {
		sql := string(stdin)
		if !strings.Contains(sql, "pg_conf_load_time") {
			return nil, false
		}
		r := reports[min(runs, len(reports)-1)]
		runs++
		return &transport.Result{Stdout: withCleanFiles(sql, r(cmd, sql))}, true
	})
	return conn, &runs
}

// withCleanFiles puts before a session's report what its validation
// printed when the session validated (sql reads pg_file_settings): files
// without errors.
func withCleanFiles(sql string, report []byte) []byte {
	if !strings.Contains(sql, "pg_file_settings") {
		return report
	}
	return append([]byte("@@sshplay-disk@@\n{\"file_settings\":[],\"hba_errors\":[]}\n"), report...)
}

func runApplyReload(t *testing.T, conn *tasktest.Conn) (map[string]any, error) {
	t.Helper()
	env := &tasks.Env{Host: "db1", Conn: conn, Vars: map[string]any{}}
	p, err := newParams("pg_reload", env, nil, reloadParams...)
	if err != nil {
		t.Fatal(err)
	}
	f := &pg.Facts{ServerVersionNum: 150000, DataDirectory: "/d", PostmasterPID: 4242}
	return applyReload(context.Background(), env, p, f, false, nil, time.Second)
}

func TestApplyReloadQuotesTheServerLog(t *testing.T) {
	t.Parallel()
	conn, _ := reloadFake(t, func(cmd, sql string) []byte {
		if !strings.Contains(sql, "pg_reload_conf") || !strings.Contains(cmd, "/d/postmaster.pid") {
			t.Errorf("not a reload session for /d:\n%s\n%s", cmd, sql)
		}
		return fakeReloadReport(sql, sslOnSettings, `2026-12-05 19:46:14.039 UTC [10158] LOG:  received SIGHUP, reloading configuration files
2026-12-05 19:46:14.041 UTC [10158] LOG:  parameter "ssl_ciphers" changed to "NOT-A-CIPHER"
2026-12-05 19:46:14.061 UTC [10158] LOG:  could not set the cipher list (no valid ciphers available)
2026-12-05 19:46:14.061 UTC [10158] LOG:  SSL configuration was not reloaded
`)
	})
	_, err := runApplyReload(t, conn)
	var f *tasks.Failed
	want := `host db1: the server did not apply the new TLS configuration: "could not set the cipher list (no valid ciphers available)", "SSL configuration was not reloaded"`
	if !errors.As(err, &f) || f.Msg != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if f.Result["log_checked"] != true || len(f.Result["log_lines"].([]string)) != 2 {
		t.Errorf("result %v", f.Result)
	}
}

func TestApplyReloadWithoutServerLog(t *testing.T) {
	t.Parallel()
	conn, _ := reloadFake(t, func(cmd, sql string) []byte { return fakeReloadReport(sql, sslOnSettings, "-") })
	res, err := runApplyReload(t, conn)
	if err != nil {
		t.Fatal(err)
	}
	if res["log_checked"] != false || !strings.Contains(res[tasks.OutcomeKey].(string), "server log not checked (no server log found") {
		t.Errorf("result %v", res)
	}
}

// TestApplyReloadWaitsForThePostmaster: until a new session shows that the
// postmaster has handled the reload, the log says nothing yet; pg_reload
// looks again (one round trip each) rather than trust pg_settings.
func TestApplyReloadWaitsForThePostmaster(t *testing.T) {
	t.Parallel()
	conn, runs := reloadFake(t,
		func(cmd, sql string) []byte { return fakeReloadReport(sql, "", "") },
		func(cmd, sql string) []byte {
			if strings.Contains(sql, "pg_reload_conf") || !strings.Contains(cmd, "sshplay_t0=1796499974.034586") {
				t.Errorf("progress session reloads again or lost the reload time:\n%s\n%s", cmd, sql)
			}
			return fakeReloadReport(sql, sslOnSettings, "2026-12-05 19:46:14.039 UTC [10158] LOG:  "+pg.SighupLine+"\n")
		})
	res, err := runApplyReload(t, conn)
	if err != nil || *runs != 2 {
		t.Fatalf("got %v after %d round trips, want success after 2", err, *runs)
	}
	if res["log_checked"] != true || res["log_file"] != "/var/log/postgresql/postgresql-15-main.log" {
		t.Errorf("result %v", res)
	}
}

func TestCipherProblem(t *testing.T) {
	t.Parallel()
	env := &tasks.Env{Host: "db01"}
	f := &pg.Facts{OpenSSLVersion: "OpenSSL 3.0.13 30 Jan 2024 (Library: OpenSSL 3.0.13 30 Jan 2024)"}
	err := cipherProblem(env, f, pg.CipherCheck{List: "NOT-A-CIPHER", Ran: true, Error: "Error in cipher list"})
	want := `host db01: pg_ssl_ciphers "NOT-A-CIPHER": the host's OpenSSL (OpenSSL 3.0.13) accepts no cipher from it (nothing was changed)`
	var fe *tasks.Failed
	if !errors.As(err, &fe) || fe.Msg != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	for _, ok := range []pg.CipherCheck{{}, {List: "HIGH", Ran: true, Ciphers: []string{"AES256-SHA"}}, {List: "HIGH"}} {
		if err := cipherProblem(env, f, ok); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}
