package pg

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/testenv"
)

func TestWantedNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   SANInput
		want string
	}{
		{"dns inventory name and ip", SANInput{InventoryHostname: "db01.example.com", AnsibleHost: "10.0.0.5", PGHost: "db01.example.com"}, "DNS:db01.example.com, IP:10.0.0.5"},
		{"single label kept", SANInput{InventoryHostname: "db01", AnsibleHost: "127.0.0.2", PGHost: "127.0.0.2"}, "DNS:db01, IP:127.0.0.2"},
		{"ip inventory name", SANInput{InventoryHostname: "127.0.0.9"}, "IP:127.0.0.9"},
		{"alias that is no name dropped", SANInput{InventoryHostname: "db 01", AnsibleHost: "db-01.lan"}, "DNS:db-01.lan"},
		{"underscore name kept, as crypto/x509 and libpq match it", SANInput{InventoryHostname: "db_01", AnsibleHost: "db-01.lan"}, "DNS:db_01, DNS:db-01.lan"},
		{"wildcard inventory name dropped", SANInput{InventoryHostname: "*.lan", AnsibleHost: "10.0.0.1"}, "IP:10.0.0.1"},
		{"numeric name dropped", SANInput{InventoryHostname: "10.1", PGHost: "0x7f.1"}, ""},
		{"extras, case and dedupe", SANInput{InventoryHostname: "DB1.Example.com", Extra: []string{"db1.example.com", "pg.example.com", "::1", "[::1]", "  "}}, "DNS:db1.example.com, DNS:pg.example.com, IP:::1"},
		{"all digits is not a name", SANInput{InventoryHostname: "12345"}, ""},
		{"prefixed tls_san entries", SANInput{InventoryHostname: "db1", Extra: []string{"DNS:pg.example.com", "IP:10.9.9.9", "ip:[::2]"}}, "DNS:db1, DNS:pg.example.com, IP:10.9.9.9, IP:::2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := WantedNames(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.String(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	for _, bad := range []string{"bad name!", "IP:not-an-ip", "DNS:", "-x.lan", "12345", "DNS:10.1"} {
		if _, err := WantedNames(SANInput{InventoryHostname: "db1", Extra: []string{bad}}); err == nil {
			t.Errorf("tls_san %q accepted, want an error", bad)
		}
	}
	n, _ := WantedNames(SANInput{InventoryHostname: "db1.lan", AnsibleHost: "10.1.1.1"})
	if got := n.SubjectAltName(); got != "DNS:db1.lan,IP:10.1.1.1" {
		t.Errorf("SubjectAltName = %q", got)
	}
	if !n.Equal([]string{"DB1.lan"}, []net.IP{net.ParseIP("10.1.1.1")}) {
		t.Error("Equal: same set (case) should be equal")
	}
	if n.Equal([]string{"db1.lan"}, nil) || n.Equal([]string{"db1.lan", "x.lan"}, []net.IP{net.ParseIP("10.1.1.1")}) {
		t.Error("Equal: different sets reported equal")
	}
	if got := n.CommonName("x"); got != "db1.lan" {
		t.Errorf("CommonName = %q", got)
	}
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	if got := strings.Join(Addresses("127.0.0.2", "127.0.0.2"), ","); got != "127.0.0.2" {
		t.Errorf("got %q", got)
	}
	if got := strings.Join(Addresses("db.lan", "10.0.0.1"), ","); got != "db.lan,10.0.0.1" {
		t.Errorf("got %q", got)
	}
}

// TestPassfileReadsAsLibpq pins the corners where pgpass files are read
// as libpq reads them: the password ends at an unescaped ':', a backslash
// ending it stays, "\*" is a star and no wildcard, lines have no length
// limit.
func TestPassfileReadsAsLibpq(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100_000)
	file := "h:p:d:u:pw:extra\nh2:p:d:u:pw\\\n\\*:p:d:u:star\nh3:p:d:u:" + long + "\n*:p:d:u:any\n"
	entries, err := ParsePassfile(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ host, want string }{{"h", "pw"}, {"h2", `pw\`}, {"*", "star"}, {"other", "any"}, {"h3", long}} {
		if got, ok := LookupPassword(entries, c.host, "p", "d", "u"); !ok || got != c.want {
			t.Errorf("host %s: %.20q %v, want %.20q", c.host, got, ok, c.want)
		}
		if want, _ := libpqPassword(file, c.host, "p", "d", "u"); want != c.want {
			t.Errorf("host %s: the libpq port finds %.20q", c.host, want)
		}
	}
}

func TestPassfile(t *testing.T) {
	t.Parallel()
	file := `# comment
127.0.0.2:5432:postgres:postgres:s3cr\:et
*:*:*:app:app\\pw
127.0.0.3:5433:*:postgres:other
broken:line
`
	entries, err := ParsePassfile(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("entries = %d, want 3", len(entries))
	}
	cases := []struct {
		host, port, db, user, want string
		ok                         bool
	}{
		{"127.0.0.2", "5432", "postgres", "postgres", "s3cr:et", true},
		{"127.0.0.9", "1", "x", "app", `app\pw`, true},
		{"127.0.0.3", "5433", "any", "postgres", "other", true},
		{"127.0.0.3", "5432", "any", "postgres", "", false},
	}
	for _, c := range cases {
		got, ok := LookupPassword(entries, c.host, c.port, c.db, c.user)
		if got != c.want || ok != c.ok {
			t.Errorf("%s:%s:%s:%s = %q,%v want %q,%v", c.host, c.port, c.db, c.user, got, ok, c.want, c.ok)
		}
	}
}

func TestDecideRestart(t *testing.T) {
	t.Parallel()
	f := &Facts{DataDirectory: "/var/lib/postgresql/15/main", ConfigFile: "/etc/postgresql/15/main/postgresql.conf"}
	cases := []struct {
		name       string
		probe      string
		facts      *Facts
		override   string
		wantMethod string
		wantCmd    string
		root       bool
	}{
		{"systemd debian", "cgroup=0::/system.slice/system-postgresql.slice/postgresql@15-main.service;\npg_ctlcluster=/usr/bin/pg_ctlcluster\nexe=/usr/lib/postgresql/15/bin/postgres\n", f, "", "systemd", "systemctl restart postgresql@15-main.service", true},
		{"systemd rhel", "cgroup=0::/system.slice/postgresql-16.service;\nexe=/usr/pgsql-16/bin/postgres\n", &Facts{DataDirectory: "/var/lib/pgsql/16/data", ConfigFile: "/var/lib/pgsql/16/data/postgresql.conf"}, "", "systemd", "systemctl restart postgresql-16.service", true},
		{"pg_ctlcluster", "cgroup=0::/user.slice;\npg_ctlcluster=/usr/bin/pg_ctlcluster\nexe=/usr/lib/postgresql/15/bin/postgres\n", f, "", "pg_ctlcluster", "/usr/bin/pg_ctlcluster 15 main restart -m fast", true},
		{"pg_ctl from exe", "cgroup=0::/;\npg_ctlcluster=/usr/bin/pg_ctlcluster\nexe=/usr/lib/postgresql/15/bin/postgres\nbindir=/usr/bin\nstderr=/srv/pg/log/postgresql.log\n", &Facts{DataDirectory: "/srv/pg/data", ConfigFile: "/srv/pg/etc/postgresql.conf"}, "", "pg_ctl", "/usr/lib/postgresql/15/bin/pg_ctl -D /srv/pg/data restart -m fast -w -t 120 -l /srv/pg/log/postgresql.log </dev/null", false},
		{"pg_ctl from pg_config", "cgroup=\nexe=\nbindir=/usr/pgsql-16/bin\nstderr=/d/log\n", &Facts{DataDirectory: "/d"}, "", "pg_ctl", "/usr/pgsql-16/bin/pg_ctl -D /d restart", false},
		{"override", "cgroup=0::/system.slice/postgresql@15-main.service\n", f, "sudo /opt/restart-pg", "custom", "sudo /opt/restart-pg", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rp, err := DecideRestart(ParseRestartProbe(c.probe), c.facts, c.override, "")
			if err != nil {
				t.Fatal(err)
			}
			if rp.Method != c.wantMethod || !strings.HasPrefix(rp.Command, c.wantCmd) || rp.AsRoot != c.root {
				t.Errorf("got %+v, want %s %q root=%v", rp, c.wantMethod, c.wantCmd, c.root)
			}
		})
	}
	if _, err := DecideRestart(ParseRestartProbe("cgroup=\nexe=\nbindir=\n"), &Facts{}, "", ""); err == nil {
		t.Error("no method: want an error")
	}
	if p := ParseRestartProbe("exe=/usr/lib/postgresql/15/bin/postgres (deleted)\n"); p.Exe != "/usr/lib/postgresql/15/bin/postgres" {
		t.Errorf("deleted exe: %q", p.Exe)
	}
}

func TestJournalRoundTrip(t *testing.T) {
	t.Parallel()
	j := &Journal{Run: "20261128T163000Z", Entries: []JournalEntry{
		{Path: "/etc/pg/postgresql.conf", Backup: BackupPath("/etc/pg/postgresql.conf", "20261128T163000Z")},
		{Path: "/data/server.key", Created: true},
	}}
	got, err := DecodeJournal(j.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Run != j.Run || len(got.Entries) != 2 || got.Entries[0].Backup != "/etc/pg/postgresql.conf.sshplay-20261128T163000Z" || !got.Entries[1].Created {
		t.Errorf("round trip: %+v", got)
	}
	if !got.Has("/data/server.key") || got.Has("/x") {
		t.Error("Has")
	}
	for _, bad := range []string{`{}`, `not json`, `{"run":"x","entries":[{"path":"rel"}]}`, `{"run":"x","entries":[{"path":"/a","backup":"b"}]}`} {
		if _, err := DecodeJournal([]byte(bad)); err == nil {
			t.Errorf("DecodeJournal(%s): want error", bad)
		}
	}
}

func TestParseFactsOutput(t *testing.T) {
	t.Parallel()
	out := `{"server_version_num" : 150010, "server_version" : "15.10 (Debian 15.10-0+deb12u1)", "data_directory" : "/d", "config_file" : "/e/postgresql.conf", "hba_file" : "/e/pg_hba.conf", "ident_file" : "/e/pg_ident.conf", "port" : 5432, "cluster_name" : "", "in_recovery" : false, "user" : "postgres", "is_superuser" : true, "postmaster_pid" : 4242, "conf_patroni_mark" : false, "patroni_base_conf" : false, "settings" : [{"name" : "ssl", "setting" : "off", "context" : "sighup", "source" : "configuration file", "sourcefile" : "/d/postgresql.auto.conf", "sourceline" : 3, "pending_restart" : false}], "file_settings" : [{"sourcefile" : "/d/postgresql.auto.conf", "sourceline" : 3, "seqno" : 7, "name" : "ssl", "setting" : "off", "applied" : true, "error" : ""}], "hba_errors" : []}
@@sshplay-probe@@
/proc/77/cmdline /proc/78/cmdline 
OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)
`
	f, err := ParseFactsOutput([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if f.ServerVersionNum != 150010 || f.PostmasterPID != 4242 || f.SSLOn() || len(f.FileSettings) != 1 || !f.FileSettings[0].Applied {
		t.Errorf("facts: %+v", f)
	}
	if strings.Join(f.PatroniProcs, ",") != "/proc/77,/proc/78" || !OpenSSLAddext(f.OpenSSLVersion) {
		t.Errorf("probes: %v %q", f.PatroniProcs, f.OpenSSLVersion)
	}
	if managed, why := f.Patroni(); !managed || why == "" {
		t.Error("a patroni process that manages this data directory: want managed")
	}
	if f.ResolvePath("server.crt") != "/d/server.crt" || f.ResolvePath("/x/y") != "/x/y" {
		t.Error("ResolvePath")
	}
	m := f.Map()
	back, err := FactsFromMap(m)
	if err != nil || back.DataDirectory != "/d" || back.Settings[0].Name != "ssl" {
		t.Errorf("map round trip: %v %+v", err, back)
	}
	if _, err := ParseFactsOutput([]byte("psql: error\n")); err == nil {
		t.Error("garbage: want error")
	}
}

func TestOpenSSLAddext(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"OpenSSL 3.0.19 27 Jan 2026":       true,
		"OpenSSL 1.1.1w  11 Sep 2023":      true,
		"OpenSSL 1.1.0l  10 Sep 2019":      false,
		"OpenSSL 1.0.2k-fips  26 Jan 2017": false,
		"LibreSSL 3.3.6":                   true,
		"":                                 false,
	} {
		if got := OpenSSLAddext(v); got != want {
			t.Errorf("%q: got %v want %v", v, got, want)
		}
	}
}

func TestTargetArgs(t *testing.T) {
	t.Parallel()
	got := Target{SocketDir: "/run/my pg", Port: 5433}.Args()
	if got != `psql -XAtq -v ON_ERROR_STOP=1 -h '/run/my pg' -p 5433 -d postgres` {
		t.Errorf("Args = %s", got)
	}
	if got := (Target{}).Args(); strings.Contains(got, " -h ") {
		t.Errorf("no socket dir: %s", got)
	}
}

func TestParseFactsOutputTLS(t *testing.T) {
	t.Parallel()
	out := "/d\n{\"server_version_num\" : 150010, \"data_directory\" : \"/d\", \"settings\" : [{\"name\" : \"ssl\", \"setting\" : \"on\"}, \n {\"name\" : \"ssl_ca_file\", \"setting\" : \"\"}]}\n" +
		probeMarker + "\n\nOpenSSL 3.0.19\n/usr/lib/postgresql/15/bin\n/run/pg\n" +
		tlsMarker + "/d\n" + keyMarker + " ok 1 644 root postgres\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" +
		fileMarker + " cert 12\nCERT\nno-nl\n\n" + fileMarker + " root -1\n" + fileMarker + " csr -2\n"
	f, err := ParseFactsOutput([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if !f.SSLOn() || f.Bindir != "/usr/lib/postgresql/15/bin" || f.SocketDir != "/run/pg" || f.TLS == nil {
		t.Fatalf("facts: %+v", f)
	}
	ts := f.TLS
	if ts.Dir != "/d" || !ts.KeyExists || !strings.HasPrefix(ts.KeyPub, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("key: %+v", ts)
	}
	if ts.KeyMode != 0o644 || ts.KeyOwner != "root" || ts.ClusterUser != "postgres" || !ts.DirExists {
		t.Errorf("key metadata: %+v", ts)
	}
	if !ts.Cert.Exists || ts.Cert.Content != "CERT\nno-nl\n\n" || ts.Root.Exists || !ts.CSR.Exists || !ts.CSR.Unreadable {
		t.Errorf("files: %+v", ts)
	}
	if got := (Target{Bindir: "/b"}).Args(); !strings.HasPrefix(got, "/b/psql ") {
		t.Errorf("bindir: %s", got)
	}
	if st := f.MarkStale(PartTLS); !st.IsStale(PartTLS) || f.IsStale(PartTLS) {
		t.Error("MarkStale must copy")
	}
}

func TestFactsListBackups(t *testing.T) {
	t.Parallel()
	out := "/d\n/e/postgresql.conf\n/e/pg_hba.conf\n{\"data_directory\": \"/d\", \"server_version_num\": 150000}\n" + probeMarker + "\n\nOpenSSL 3.0.0\n/usr/lib/postgresql/15/bin\n/run\n" +
		bakMarker + "\nD /d\nF /d/server.crt.sshplay-20261101T000000Z\nD /e\nF /e/pg_hba.conf.sshplay-20261101T000000Z\nF /e/pg_hba.conf.sshplay-20261128T163000Z\nD /e\n"
	f, err := ParseFactsOutput([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if f.DataDirectory != "/d" || f.Bindir != "/usr/lib/postgresql/15/bin" || len(f.BackupDirs) != 2 || len(f.Backups) != 3 {
		t.Fatalf("facts = %+v", f)
	}
	old, ok := f.BackupsFromFacts([]string{"/e"}, "20261128T163000Z")
	if !ok || len(old) != 1 || old[0] != "/e/pg_hba.conf.sshplay-20261101T000000Z" {
		t.Fatalf("old backups in /e = %v, %v", old, ok)
	}
	if _, ok := f.BackupsFromFacts([]string{"/tls"}, "x"); ok {
		t.Fatal("a directory the facts did not list must need a listing of its own")
	}
}

// TestPatroniHeader: only Patroni's own header marks the cluster as
// managed; a comment that mentions Patroni does not.
func TestPatroniHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, conf string
		want       bool
	}{
		{"comment mentioning patroni", "# TODO: move this cluster to Patroni one day\nlisten_addresses = '*'\n", false},
		{"patroni in a value", "cluster_name = 'patroni-test'\n", false},
		{"real header", "# Do not edit this file manually!\n# It will be overwritten by Patroni!\ninclude 'postgresql.base.conf'\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			js := fmt.Sprintf(`{"server_version_num": 150000, "data_directory": "/d", "config_text": %q}`, base64.StdEncoding.EncodeToString([]byte(c.conf)))
			f, err := ParseFactsOutput([]byte(js + "\n" + probeMarker + "\n\nOpenSSL 3.0.0\n\n\n"))
			if err != nil {
				t.Fatal(err)
			}
			if managed, why := f.Patroni(); managed != c.want {
				t.Errorf("managed = %v (%s), want %v", managed, why, c.want)
			}
		})
	}
}

// TestFactsMapRedacted: the printable view has no file texts, journal,
// certificate or key bodies, and decoding it marks those parts stale.
func TestFactsMapRedacted(t *testing.T) {
	t.Parallel()
	f := &Facts{DataDirectory: "/d", ServerVersionNum: 150000,
		ConfigText: []byte("primary_conninfo = 'password=s3cret'\n"), HBAText: []byte("host all all 10.0.0.0/8 md5\n"),
		Journal: []byte(`{"run":"x"}`),
		TLS:     &TLSState{Dir: "/d", KeyPub: "-----BEGIN PUBLIC KEY-----", Cert: TLSFile{Exists: true, Content: "-----BEGIN CERTIFICATE-----"}}}
	b, err := json.Marshal(map[string]any{"pg": f})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(f.ConfigText)
	for _, secret := range []string{"s3cret", enc[:20], "BEGIN", "10.0.0.0", "config_text", "hba_text"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("printable facts contain %q: %s", secret, b)
		}
	}
	back, err := FactsFromMap(f.Map())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{PartConfig, PartHBA, PartJournal, PartTLS} {
		if !back.IsStale(p) {
			t.Errorf("decoded view: %s not stale", p)
		}
	}
	if len(f.ConfigText) == 0 || f.TLS.Cert.Content == "" {
		t.Error("Map must not change the facts themselves")
	}
}

func TestTooOld(t *testing.T) {
	t.Parallel()
	if !tooOld(`ERROR:  relation "pg_hba_file_rules" does not exist` + "\nLINE 30: ...") {
		t.Error("9.6 error not recognised")
	}
	e := &TooOldError{Host: "db1", Detail: firstLine("ERROR: x\nLINE 1")}
	if !strings.Contains(e.Error(), "needs PostgreSQL 10 or later") || strings.Contains(e.Error(), "LINE") {
		t.Errorf("message: %s", e)
	}
}

// TestStatusRow: multi-line errors stay on one table line; a host with
// pg_tls_enforce false is not a fault for being unenforced; a key the
// server would refuse is flagged.
func TestStatusRow(t *testing.T) {
	t.Parallel()
	s := &HostStatus{Host: "db1", Err: "host db1: psql: ERROR:  relation \"x\" does not exist\nLINE 1: SELECT\n        ^"}
	row := s.Row()
	if strings.Contains(strings.Join(row, "|"), "\n") || !strings.HasSuffix(row[6], "does not exist") {
		t.Errorf("multi-line error: %q", row)
	}
	ok := &HostStatus{Host: "db2", SSL: true, HasCert: true, EnforceOff: true, Verify: []*VerifyResult{{Addr: "a", OK: true}}}
	if !ok.OK() || ok.Row()[2] != "no (not wanted)" {
		t.Errorf("enforce off: OK=%v row %q", ok.OK(), ok.Row())
	}
	ok.EnforceOff = false
	if ok.OK() {
		t.Error("unenforced while wanted must not be OK")
	}
	ok.Enforced, ok.KeyProblem = true, "/d/server.key: "+KeyPermProblem(0o644, "postgres", "postgres")
	if ok.OK() || !strings.Contains(ok.Row()[6], "group or world access") {
		t.Errorf("key problem not flagged: %q", ok.Row())
	}
	if o, err := StatusOptionsFromVars("db1", map[string]any{"pg_tls_enforce": false}, nil, 0); err != nil || !o.EnforceOff {
		t.Errorf("pg_tls_enforce false not honoured (err %v)", err)
	}
}

// TestStatusReadsEnforceAsThePlaybookDoes: pg status reads pg_tls_enforce
// with the playbook's rule (an Ansible boolean, or force), and refuses a
// value the playbook would refuse instead of guessing.
func TestStatusReadsEnforceAsThePlaybookDoes(t *testing.T) {
	for v, off := range map[any]bool{"f": true, "No": true, 0: true, "t": false, "force": false, "FORCE": false, true: false, "": false} {
		o, err := StatusOptionsFromVars("db1", map[string]any{"pg_tls_enforce": v}, nil, 0)
		if err != nil || o.EnforceOff != off {
			t.Errorf("pg_tls_enforce %#v: EnforceOff %v, %v; want %v", v, o.EnforceOff, err, off)
		}
	}
	_, err := StatusOptionsFromVars("db1", map[string]any{"pg_tls_enforce": "maybe"}, nil, 0)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "host db1: pg_tls_enforce") {
		t.Errorf("pg_tls_enforce maybe: %v; want an *InputError naming host and variable", err)
	}
}

// TestPatroniProbe runs the facts script's Patroni probe against real
// processes: a program named patroni whose configuration names the data
// directory counts; a process that merely mentions patroni does not.
func TestPatroniProbe(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		// The probe reads /proc; CI must run it.
		testenv.SkipOrFail(t, "no /proc: %v", err)
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "patroni")
	if err := os.WriteFile(prog, []byte("while :; do sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mine, other := filepath.Join(dir, "mine.yml"), filepath.Join(dir, "other.yml")
	os.WriteFile(mine, []byte("postgresql:\n  data_dir: /srv/pg/data-probe-test\n"), 0o644)
	os.WriteFile(other, []byte("postgresql:\n  data_dir: /srv/pg/elsewhere\n"), 0o644)
	start := func(args ...string) *exec.Cmd {
		c := exec.Command(args[0], args[1:]...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	managing := start("sh", prog, mine)
	otherCluster := start("sh", prog, other)
	editor := start("sh", "-c", "while :; do sleep 1; done", "view-patroni.yml")
	time.Sleep(100 * time.Millisecond)
	out, err := exec.Command("sh", "-c", "out='/srv/pg/data-probe-test\n/etc/x.conf'; pid=\n"+patroniProbe).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if !strings.Contains(got, fmt.Sprintf("/proc/%d/cmdline", managing.Process.Pid)) {
		t.Errorf("patroni managing this data directory not found: %q", got)
	}
	for _, c := range []*exec.Cmd{otherCluster, editor} {
		if strings.Contains(got, fmt.Sprintf("/proc/%d/", c.Process.Pid)) {
			t.Errorf("process %v wrongly taken for this cluster's patroni: %q", c.Args, got)
		}
	}
}
