package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sshplay/sshplay/internal/golden"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/playbooks"
)

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.File(t, filepath.Join("testdata", name), got)
}

// TestPGStatusJSONShape pins the sshplay.pg-status/v1 document for three
// kinds of host: fully proven, unreachable, and one with every problem
// pg status reports (TLS not enforced, key refused, files not applied,
// a setting waiting for a restart, a failed proof).
func TestPGStatusJSONShape(t *testing.T) {
	notAfter := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	results := []*pg.HostStatus{
		{
			Host: "db01", SSL: true, Enforced: true, HasCert: true,
			Subject: "CN=db01", SANs: []string{"DNS:db01", "IP:127.0.0.11"}, Issuer: "CN=sshplay root CA,O=sshplay",
			CertSHA256: "aa11", NotAfter: notAfter, DaysLeft: 85,
			Verify: []*pg.VerifyResult{
				{Addr: "db01", Port: 5432, OK: true, SSL: true, Version: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384", Bits: 256, SHA256: "aa11", PlainRefused: true},
				{Addr: "127.0.0.11", Port: 5432, OK: true, SSL: true, Version: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384", Bits: 256, SHA256: "aa11", PlainRefused: true},
			},
		},
		{Host: "db02", Unreachable: true, Err: "dial tcp 127.0.0.12:22: connect: connection refused"},
		nil, // a host never inspected (interrupted) is left out, as in the table
		{
			Host: "db03", SSL: true, HasCert: true, EnforceOff: false,
			Subject: "CN=db03", Issuer: "CN=other CA", CertSHA256: "bb22", NotAfter: notAfter, DaysLeft: 85,
			KeyProblem:     "/var/lib/postgresql/15/main/server.key: mode 0644 gives group or world access",
			NotApplied:     []string{"/etc/postgresql/15/main/pg_hba.conf"},
			PendingRestart: []string{"shared_buffers"},
			Verify:         []*pg.VerifyResult{{Addr: "db03", Port: 5433, Error: "x509: certificate signed by unknown authority"}},
		},
	}
	var out bytes.Buffer
	if err := writeJSON(&out, newPGStatusDoc(results)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "pg-status.json", out.Bytes())

	var doc pgStatusDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Hosts) != 3 || !doc.Hosts[0].OK || doc.Hosts[1].OK || doc.Hosts[2].OK {
		t.Errorf("ok per host must follow HostStatus.OK: %+v", doc.Hosts)
	}
}

// TestPGStatusJSONNoHostsIsAnEmptyList: a document with no host still has
// "hosts": [], never null.
func TestPGStatusJSONNoHostsIsAnEmptyList(t *testing.T) {
	var out bytes.Buffer
	if err := writeJSON(&out, newPGStatusDoc(nil)); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "{\n  \"schema\": \"sshplay.pg-status/v1\",\n  \"hosts\": []\n}\n" {
		t.Errorf("got %q", got)
	}
}

// perCAValue matches the fields of a CA document that differ from one CA
// to the next.
var perCAValue = regexp.MustCompile(`("(directory|serial|not_before|not_after|sha256)": )"[^"]*"`)

// TestCAShowJSON: `sshplay ca show --output json` is one sshplay.ca/v1
// document whose values are the CA's own (checked against pki.CertInfo),
// with the intermediate null for a CA without one. The values that differ
// per CA are replaced by placeholders before the shape is compared with
// the golden file.
func TestCAShowJSON(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, c := range []struct {
		name, golden string
		intermediate bool
	}{
		{"root only", "ca-show-root.json", false},
		{"with intermediate", "ca-show-intermediate.json", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pki")
			ca, err := pki.Init(dir, pki.InitOptions{Intermediate: c.intermediate})
			if err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "ca", "show", "--ca-dir", dir, "--output", "json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("not one JSON document: %v\n%s", err, stdout)
			}
			if doc["directory"] != ca.Dir() {
				t.Errorf("directory %v, want %s", doc["directory"], ca.Dir())
			}
			certs := map[string][]byte{"root": ca.RootPEM()}
			if c.intermediate {
				certs["intermediate"] = ca.ChainPEM()
			}
			for key, pemData := range certs {
				info, err := pki.CertInfo(pemData)
				if err != nil {
					t.Fatal(err)
				}
				m, ok := doc[key].(map[string]any)
				if !ok {
					t.Fatalf("%s: not an object: %v", key, doc[key])
				}
				for field, want := range map[string]string{
					"subject": info.Subject, "issuer": info.Issuer, "key_type": info.KeyAlgo, "serial": info.Serial,
					"not_before": info.NotBefore.UTC().Format(time.RFC3339),
					"not_after":  info.NotAfter.UTC().Format(time.RFC3339),
					"sha256":     info.SHA256,
				} {
					if m[field] != want {
						t.Errorf("%s.%s = %v, want %s", key, field, m[field], want)
					}
				}
			}
			// The values are checked; the golden file pins the rest: keys,
			// their order, nesting and the values every new CA shares.
			norm := perCAValue.ReplaceAllString(stdout, `$1"<$2>"`)
			checkGolden(t, c.golden, []byte(norm))
		})
	}
}

// TestOutputFlagRefusesUnknownFormats: every command with --output takes
// text or json; anything else is one line of bad input (exit 5) before
// anything is read or dialed.
func TestOutputFlagRefusesUnknownFormats(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte("[dbservers]\ndb1 ansible_host=127.0.0.99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(site, []byte("- hosts: dbservers\n  tasks:\n    - command: \"true\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"pg", "status", "-i", inv, "--output", "yaml"},
		{"ca", "show", "--ca-dir", filepath.Join(dir, "nopki"), "--output", "yaml"},
		{"play", site, "-i", inv, "--output", "yaml"},
		{"exec", "all", "-i", inv, "--output", "yaml", "--", "true"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if want := `--output: want text or json, got "yaml"`; strings.TrimSpace(stderr) != want {
				t.Errorf("stderr %q, want the one line %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestPGStatusJSONOnLabHost: on a fresh lab host `pg status --output json`
// is one document saying the host is not ok (exit 2, as the table); after
// the postgres-tls playbook it says ok, with every address proven by
// verify-full against the certificate the server is configured with
// (exit 0).
func TestPGStatusJSONOnLabHost(t *testing.T) {
	l := labtest.New(t, 1)
	inv := l.InventoryINI()
	status := func(want int) pgStatusDoc {
		t.Helper()
		code, stdout, stderr := runCLI(t, "pg", "status", "-i", inv, "--output", "json")
		if code != want {
			t.Errorf("pg status: exit %d, want %d\n%s%s", code, want, stdout, stderr)
		}
		var doc pgStatusDoc
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("not one JSON document: %v\n%s", err, stdout)
		}
		if doc.Schema != pgStatusSchema || len(doc.Hosts) != 1 || doc.Hosts[0].Host != l.Hosts[0].Name {
			t.Fatalf("document:\n%s", stdout)
		}
		return doc
	}
	if h := status(exitHostFailed).Hosts[0]; h.OK || h.Enforced {
		t.Errorf("fresh host: %+v, want not ok and not enforced", h)
	}
	if code, stdout, stderr := runCLI(t, "play", "postgres-tls", "-i", inv); code != exitOK {
		t.Fatalf("postgres-tls: exit %d\n%s%s", code, stdout, stderr)
	}
	h := status(exitOK).Hosts[0]
	if !h.OK || !h.SSL || !h.Enforced || h.Certificate == nil || len(h.Addresses) == 0 {
		t.Fatalf("after the playbook: %+v", h)
	}
	for _, a := range h.Addresses {
		if !a.VerifyFullOK || a.SHA256 != h.Certificate.SHA256 || a.TLSVersion == "" || a.Bits == 0 || !a.PlaintextRefused {
			t.Errorf("address %+v: want verify-full ok with certificate %s, TLS details, plaintext refused", a, h.Certificate.SHA256)
		}
	}
}

// writeFile writes a file of the test and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJSONRunThatFailsEarlyPrintsAnErrorDocument: play and exec with
// --output json that end before their own document (bad playbook,
// inventory, flag value, pattern; a playbook that cannot be read) print
// one sshplay.error/v1 document on stdout, with the exit code and, when the
// error has one, the position; stderr keeps its one line.
func TestJSONRunThatFailsEarlyPrintsAnErrorDocument(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.ini", "[dbservers]\nlocal1 ansible_connection=local\n")
	badInv := writeFile(t, dir, "bad.ini", "[dbservers]\nlocal1\n[db:child]\nx\n")
	site := writeFile(t, dir, "site.yml", "- hosts: dbservers\n  tasks:\n    - command: \"true\"\n")
	typo := writeFile(t, dir, "typo.yml", "- hosts: dbservers\n  tasks:\n    - comand: \"true\"\n")
	nogroup := writeFile(t, dir, "nogroup.yml", "- hosts: web\n  tasks:\n    - command: \"true\"\n")
	for _, c := range []struct {
		name      string
		args      []string
		code      int
		msg       string
		file      string
		line, col int
	}{
		{"bad playbook", []string{"play", typo, "-i", inv}, exitUsage, `unknown key or module "comand"`, typo, 3, 7},
		{"play hosts match nothing", []string{"play", nogroup, "-i", inv}, exitUsage, `hosts "web": no hosts matched`, nogroup, 1, 3},
		{"bad inventory", []string{"play", site, "-i", badInv}, exitUsage, `unknown section type "[db:child]"`, badInv, 3, 0},
		{"bad flag value", []string{"exec", "all", "-i", inv, "-f", "0", "--", "true"}, exitUsage, "--forks: must be at least 1", "", 0, 0},
		{"unparsable flag", []string{"play", site, "-i", inv, "--forks", "many"}, exitUsage, `invalid argument "many"`, "", 0, 0},
		{"bad colour", []string{"exec", "all", "-i", inv, "--color", "purple", "--", "true"}, exitUsage, `--color: want auto, always or never, got "purple"`, "", 0, 0},
		{"bad timings", []string{"play", site, "-i", inv, "--timings", "sometimes"}, exitUsage, `--timings: want auto, always, never, got "sometimes"`, "", 0, 0},
		{"unknown pattern", []string{"exec", "dbx", "-i", inv, "--", "true"}, exitUsage, `no hosts matched "dbx"`, "", 0, 0},
		{"playbook is a directory", []string{"play", dir, "-i", inv}, exitError, "is a directory", "", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{c.args[0], "--output", "json"}, c.args[1:]...)
			code, stdout, stderr := runCLI(t, args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 || !strings.Contains(stderr, c.msg) {
				t.Errorf("stderr is not the one-line error: %q", stderr)
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			var doc errorDoc
			if err := dec.Decode(&doc); err != nil || dec.More() {
				t.Fatalf("stdout is not one error document (%v):\n%s", err, stdout)
			}
			if doc.Schema != errorSchema || doc.ExitCode != code || !strings.Contains(doc.Error.Message, c.msg) {
				t.Errorf("document %+v, want schema %s, exit_code %d, message with %q", doc, errorSchema, code, c.msg)
			}
			if doc.Error.File != c.file || doc.Error.Line != c.line || doc.Error.Column != c.col {
				t.Errorf("position %s:%d:%d, want %s:%d:%d", doc.Error.File, doc.Error.Line, doc.Error.Column, c.file, c.line, c.col)
			}
			if !strings.Contains(stderr, doc.Error.Message) {
				t.Errorf("stderr %q does not carry the document's message %q", stderr, doc.Error.Message)
			}
			// The same failure in text prints nothing on stdout.
			if code, stdout, _ := runCLI(t, c.args...); code != c.code || stdout != "" {
				t.Errorf("text: exit %d, stdout %q", code, stdout)
			}
		})
	}
}

// TestErrorDocumentShape pins the sshplay.error/v1 document of a
// positioned error: the keys, their order, the values.
func TestErrorDocumentShape(t *testing.T) {
	var out bytes.Buffer
	err := fmt.Errorf("load: %w", &playbooks.ParseError{File: "site.yml", Line: 12, Col: 5, Msg: `unknown key "comand"`})
	if e := writeJSON(&out, newErrorDoc(err, exitUsage)); e != nil {
		t.Fatal(e)
	}
	want := `{
  "schema": "sshplay.error/v1",
  "error": {
    "message": "load: site.yml:12:5: unknown key \"comand\"",
    "file": "site.yml",
    "line": 12,
    "column": 5
  },
  "exit_code": 5
}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestLogWriterTimestampsEveryLine: each complete line gets the time it
// was completed in ISO 8601, blank lines are dropped, a line written in
// pieces is one line, and Flush writes an unfinished last line.
func TestLogWriterTimestampsEveryLine(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 12, 6, 4, 5, 6, 789_000_000, time.FixedZone("CET", 3600))
	lw := newLogWriter(&out, func() time.Time { clock = clock.Add(time.Second); return clock })
	fmt.Fprint(lw, "\nPLAY [x] ***\n\nTASK [y] ***\nok: ")
	fmt.Fprint(lw, "[db01]\nlast")
	lw.Flush()
	want := "2026-12-06T04:05:07.789+01:00 PLAY [x] ***\n" +
		"2026-12-06T04:05:08.789+01:00 TASK [y] ***\n" +
		"2026-12-06T04:05:09.789+01:00 ok: [db01]\n" +
		"2026-12-06T04:05:10.789+01:00 last\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// logLine is a line of --log-file: an ISO 8601 time, a space, the text.
var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) \S`)

// TestLogFileAppendsTimestampedText: --log-file (or SSHPLAY_LOG_FILE, or
// log-file in sshplay.yaml) appends the text output of play and exec to
// the file, every line timestamped, without colour, also when stdout gets
// the JSON document.
func TestLogFileAppendsTimestampedText(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	inv := writeFile(t, dir, "inv.ini", "[dbservers]\nlocal1 ansible_connection=local\n")
	site := writeFile(t, dir, "site.yml", "- hosts: dbservers\n  tasks:\n    - name: say hi\n      command: echo hi\n")
	logPath := filepath.Join(dir, "sshplay.log")
	code, stdout, stderr := runCLI(t, "play", site, "-i", inv, "--output", "json", "--color", "always", "--log-file", logPath)
	if code != exitOK || !strings.HasPrefix(stdout, "{\n  \"schema\": \"sshplay.run/v1\"") {
		t.Fatalf("play: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Setenv("SSHPLAY_LOG_FILE", logPath)
	if code, _, stderr := runCLI(t, "exec", "all", "-i", inv, "--", "echo", "hi"); code != exitOK {
		t.Fatalf("exec: exit %d: %s", code, stderr)
	}
	t.Setenv("SSHPLAY_LOG_FILE", "")
	writeFile(t, dir, "sshplay.yaml", "log-file: "+logPath+"\n")
	if code, _, stderr := runCLI(t, "play", site, "-i", inv); code != exitOK {
		t.Fatalf("play with sshplay.yaml: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !logLine.MatchString(l) {
			t.Errorf("line without timestamp: %q", l)
		}
	}
	if strings.Contains(log, "\033") || strings.Contains(log, `"schema"`) {
		t.Errorf("log has colour or JSON:\n%s", log)
	}
	for _, w := range []string{"TASK [say hi]", "changed: [local1]", "local1 | CHANGED | rc=0 >>", "RECAP: 1 hosts: ok=1 changed=1"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if n := strings.Count(log, "PLAY RECAP"); n != 2 {
		t.Errorf("log has %d play recaps, want 2 (appended):\n%s", n, log)
	}
	code, _, stderr = runCLI(t, "play", site, "-i", inv, "--log-file", filepath.Join(dir, "no", "such", "dir.log"))
	if code != exitUsage || !strings.Contains(stderr, "--log-file") {
		t.Errorf("unwritable log: exit %d, stderr %q", code, stderr)
	}
}

// execRecap is the exec text recap's counters.
var execRecap = regexp.MustCompile(`RECAP: (\d+) hosts: ok=(\d+) changed=(\d+) failed=(\d+) unreachable=(\d+) skipped=(\d+)`)

// TestExecTextRecapCountsAsItsJSON: the one-line recap of `sshplay exec`
// adds up exactly the counters of its JSON document's stats, for a run
// with a host of each outcome (ok, changed, failed, unreachable) and a
// check run whose hosts are skipped.
func TestExecTextRecapCountsAsItsJSON(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.ini", "[all]\n"+
		"ok1 ansible_connection=local dest="+filepath.Join(dir, "ok1")+"\n"+
		"changed1 ansible_connection=local dest="+filepath.Join(dir, "changed1")+"\n"+
		"failed1 ansible_connection=local dest="+filepath.Join(dir, "missing", "failed1")+"\n"+
		"gone1 ansible_host=127.0.0.1 ansible_port=1 dest="+filepath.Join(dir, "gone1")+"\n")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"every outcome", []string{"-m", "copy", "-a", "dest={{ dest }} content=x"}},
		{"check skips commands", []string{"--check", "--", "true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(extra ...string) (int, string) {
				writeFile(t, dir, "ok1", "x")
				_ = os.Remove(filepath.Join(dir, "changed1"))
				code, stdout, _ := runCLI(t, append(append([]string{"exec", "all", "-i", inv}, extra...), c.args...)...)
				return code, stdout
			}
			textCode, text := run()
			jsonCode, doc := run("--output", "json")
			if textCode != jsonCode || textCode == exitOK {
				t.Errorf("exit %d (text) and %d (json), want the same failure", textCode, jsonCode)
			}
			var d playbooks.JSONDoc
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			var sum playbooks.Stats
			for _, st := range d.Stats {
				sum.OK += st.OK
				sum.Changed += st.Changed
				sum.Failed += st.Failed
				sum.Unreachable += st.Unreachable
				sum.Skipped += st.Skipped
			}
			m := execRecap.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("no recap in:\n%s", text)
			}
			want := fmt.Sprintf("%d %d %d %d %d %d", len(d.Stats), sum.OK, sum.Changed, sum.Failed, sum.Unreachable, sum.Skipped)
			if got := strings.Join(m[1:], " "); got != want {
				t.Errorf("text recap %q counts hosts/ok/changed/failed/unreachable/skipped %s, JSON stats add up to %s", m[0], got, want)
			}
			if c.name == "every outcome" && want != "4 2 1 1 1 0" {
				t.Errorf("stats add up to %s, want one host of each outcome (4 2 1 1 1 0)", want)
			}
		})
	}
}

// TestColorFlagDecides: --color always colours any output, never none;
// auto colours a terminal only, and not when NO_COLOR is set or TERM is
// dumb.
func TestColorFlagDecides(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	var buf bytes.Buffer
	for _, c := range []struct {
		mode string
		env  func(string) string
		want bool
	}{
		{colorAlways, env("NO_COLOR", "1", "TERM", "dumb"), true},
		{colorNever, env("TERM", "xterm"), false},
		{colorAuto, env("TERM", "xterm"), false}, // a buffer is no terminal
	} {
		if got := useColor(c.mode, &buf, c.env); got != c.want {
			t.Errorf("%s: colour %v, want %v", c.mode, got, c.want)
		}
	}
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.ini", "[all]\nlocal1 ansible_connection=local\n")
	code, stdout, _ := runCLI(t, "exec", "all", "-i", inv, "--color", "always", "--", "true")
	if code != exitOK || !strings.Contains(stdout, cYellowForTest+"local1 | CHANGED") {
		t.Errorf("--color always into a pipe: exit %d, %q", code, stdout)
	}
}

// cYellowForTest is the colour of a changed line (playbooks' cYellow).
const cYellowForTest = "\033[0;33m"

// runOnTerminal runs the command line in-process, as main does, with a
// pseudo-terminal as its stdout, and returns the exit code and what the
// terminal received.
func runOnTerminal(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, ptmx) // ends with EIO once tty is closed
		close(done)
	}()
	var errb bytes.Buffer
	g := newGlobals(tty, &errb)
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetOut(tty)
	root.SetErr(&errb)
	ctx := context.Background()
	err = root.ExecuteContext(ctx)
	_ = tty.Close()
	<-done
	if err != nil {
		t.Logf("stderr: %s%v", errb.String(), err)
	}
	return exitCode(ctx, err), out.String()
}

// TestColorOnARealTerminal: on a terminal play and exec colour their
// output (a diff's added lines green, a changed host yellow) unless TERM
// is dumb, NO_COLOR is set or --color=never says so.
func TestColorOnARealTerminal(t *testing.T) {
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.ini", "[all]\nlocal1 ansible_connection=local\n")
	site := writeFile(t, dir, "site.yml", "- hosts: all\n  tasks:\n    - copy:\n        dest: "+filepath.Join(dir, "motd")+"\n        content: \"hello\\n\"\n")
	play := []string{"play", site, "-i", inv, "--check", "--diff"}
	for _, c := range []struct {
		name, term, noColor string
		extra               []string
		colour              bool
	}{
		{"terminal", "xterm-256color", "", nil, true},
		{"empty NO_COLOR", "xterm", "", nil, true},
		{"dumb terminal", "dumb", "", nil, false},
		{"NO_COLOR", "xterm", "1", nil, false},
		{"--color=never", "xterm", "", []string{"--color", "never"}, false},
		{"--color=always beats NO_COLOR", "dumb", "1", []string{"--color", "always"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TERM", c.term)
			t.Setenv("NO_COLOR", c.noColor)
			code, out := runOnTerminal(t, append(play, c.extra...)...)
			if code != exitOK || !strings.Contains(out, "+hello") {
				t.Fatalf("play: exit %d:\n%q", code, out)
			}
			if got := strings.Contains(out, "\033["); got != c.colour {
				t.Errorf("play: escapes %v, want %v:\n%q", got, c.colour, out)
			}
			if c.colour && !strings.Contains(out, "\033[0;32m+hello\033[0m") {
				t.Errorf("play: added line not green:\n%q", out)
			}
			exec := append(append([]string{"exec", "all", "-i", inv}, c.extra...), "--", "true")
			code, out = runOnTerminal(t, exec...)
			if code != exitOK || strings.Contains(out, "\033[") != c.colour {
				t.Errorf("exec: exit %d, escapes want %v:\n%q", code, c.colour, out)
			}
			if c.colour && !strings.Contains(out, cYellowForTest+"local1 | CHANGED") {
				t.Errorf("exec: changed host not yellow:\n%q", out)
			}
		})
	}
}
