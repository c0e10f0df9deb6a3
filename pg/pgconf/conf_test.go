package pgconf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
)

func read(t *testing.T, name string) []byte { t.Helper(); return golden.Read(t, name) }

func goldenDiff(t *testing.T, name string, before, after []byte) {
	t.Helper()
	golden.Diff(t, name, before, after)
}

var tlsSettings = []Setting{
	{"ssl", "on"},
	{"ssl_cert_file", "/etc/postgresql/15/main/server.crt"},
	{"ssl_key_file", "/etc/postgresql/15/main/server.key"},
	{"ssl_min_protocol_version", "TLSv1.2"},
	{"listen_addresses", "127.0.0.2"},
}

func TestSetGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		settings   []Setting
	}{
		// Debian: ssl = on with snakeoil paths already; paths replaced in
		// place, commented defaults get the new line right after them.
		{"debian_tls", "debian.conf", tlsSettings},
		// RHEL (initdb's file): nothing active; all after their defaults,
		// an unknown custom setting in the managed block.
		{"rhel_tls", "rhel.conf", append(tlsSettings[:len(tlsSettings):len(tlsSettings)], Setting{"sshplay.managed", "yes please"})},
		// Duplicates, no "=", escapes, mixed case, no final newline.
		{"tricky", "tricky.conf", []Setting{
			{"ssl", "on"},
			{"ssl_cert_file", `C:\it's "new"`},
			{"port", "5433"},
			{"ssl_key_file", "/k/server.key"},
			{"work_mem", "4MB"},
			{"search_path", `"$user", public`},
			{"Ssl_Ca_File", "root.crt"},
		}},
		{"crlf", "crlf.conf", []Setting{{"ssl_cert_file", "a.crt"}, {"ssl_key_file", "a.key"}, {"port", "5434"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := read(t, c.file)
			after, changed, err := Set(before, c.settings)
			if err != nil {
				t.Fatal(err)
			}
			if !changed {
				t.Fatal("Set reported no change")
			}
			goldenDiff(t, c.name, before, after)
			// Every setting now reads back as wanted.
			for _, s := range c.settings {
				if v, _, ok := Get(after, s.Name); !ok || !sameValue(v, s.Value) {
					t.Errorf("Get(%s) = %q, %v; want %q", s.Name, v, ok, s.Value)
				}
			}
			// Idempotent: the second run changes nothing and returns the input.
			again, changed, err := Set(after, c.settings)
			if err != nil || changed || !bytes.Equal(again, after) {
				t.Errorf("second Set: changed=%v err=%v", changed, err)
			}
			// Untouched lines keep their bytes: the line count grows only by
			// inserted lines.
			if strings.Count(string(after), "\n") < strings.Count(string(before), "\n") {
				t.Error("lines were lost")
			}
		})
	}
}

func TestSetNoChange(t *testing.T) {
	t.Parallel()
	in := []byte("ssl = 'on'\nssl_cert_file = '/a b'  # c\nwork_mem = 4MB\nenable_seqscan = TRUE\n")
	out, changed, err := Set(in, []Setting{{"ssl", "on"}, {"SSL_CERT_FILE", "/a b"}, {"work_mem", "4MB"}, {"enable_seqscan", "on"}})
	if err != nil || changed || !bytes.Equal(in, out) {
		t.Fatalf("Set of equal values: changed=%v err=%v\n%s", changed, err, out)
	}
	if _, changed, _ := Set(in, []Setting{{"enable_seqscan", "off"}}); !changed {
		t.Fatal("TRUE -> off not seen as a change")
	}
}

func TestSetAppendsToExistingBlockAndEmptyFile(t *testing.T) {
	t.Parallel()
	out, _, err := Set(nil, []Setting{{"ssl", "on"}})
	if err != nil {
		t.Fatal(err)
	}
	want := BeginMarker + "\nssl = on\n" + EndMarker + "\n"
	if string(out) != want {
		t.Fatalf("empty file:\n%s", out)
	}
	out, _, err = Set(out, []Setting{{"a.b", "1"}, {"c.d", "x y"}})
	if err != nil {
		t.Fatal(err)
	}
	want = BeginMarker + "\nssl = on\na.b = 1\nc.d = 'x y'\n" + EndMarker + "\n"
	if string(out) != want {
		t.Fatalf("second append:\n%s", out)
	}
}

func TestSetRejectsBadNames(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"", "1abc", "ssl on", "a.b.c", "x=y", "include", "Include_Dir"} {
		if _, _, err := Set([]byte("ssl = on\n"), []Setting{{n, "x"}}); err == nil {
			t.Errorf("Set(%q) succeeded", n)
		}
	}
}

func TestSetKeepsCommentColumn(t *testing.T) {
	t.Parallel()
	in := "ssl_cert_file = 'a.crt'                # the cert\nssl_key_file = 'a.key'\t# tab\n"
	out, _, err := Set([]byte(in), []Setting{{"ssl_cert_file", "/etc/ssl/server.crt"}, {"ssl_key_file", "/x/k"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "ssl_cert_file = '/etc/ssl/server.crt'  # the cert\nssl_key_file = '/x/k'\t# tab\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	// A value too long for the padding still leaves one space.
	out, _, _ = Set([]byte("a = 1 # c\n"), []Setting{{"a", "123456"}})
	if string(out) != "a = 123456 # c\n" {
		t.Fatalf("got %q", out)
	}
}

// TestSetKeepsABareValueApartFromTheName: "name'value'" needs no "=" or
// space, but a bare value written there would run into the name.
func TestSetKeepsABareValueApartFromTheName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"port'5432'\n":  "port 5433\n",
		"port='5432'\n": "port=5433\n",
		"x.y'a'":        "x.y 5433",
	} {
		name := strings.Fields(strings.NewReplacer("'", " ", "=", " ").Replace(in))[0]
		out, _, err := Set([]byte(in), []Setting{{name, "5433"}})
		if err != nil || string(out) != want {
			t.Errorf("Set(%q) = %q, %v; want %q", in, out, err, want)
		}
		if v, _, ok := Get(out, name); !ok || v != "5433" {
			t.Errorf("Set(%q): Get gives %q %v", in, v, ok)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	values := []string{
		"", "on", "OFF", "true", "no", "100", "-1", "64MB", "5min", "0.9", ".5", "1e5x", "0x1F",
		"TLSv1.2", "HIGH:MEDIUM:+3DES:!aNULL", "/etc/ssl/server.crt", "it's", `back\slash`, `C:\x\y`,
		"two\nlines", "cr\rhere", "tab\there", "# not a comment", "'", "''", `\'`, "ünïcødé", "a = b",
		`"$user", public`, "%m [%p] %q%u@%d ",
	}
	for _, v := range values {
		q := Quote(v)
		entries, err := Parse([]byte("x = " + q + " # trailing\n"))
		if err != nil || len(entries) != 1 {
			t.Errorf("Quote(%q) = %s: parse: %v %v", v, q, entries, err)
			continue
		}
		if entries[0].Value != v {
			t.Errorf("Quote(%q) = %s reads back as %q", v, q, entries[0].Value)
		}
	}
	for v, want := range map[string]string{"on": "on", "64MB": "64MB", "0.9": "0.9", "TLSv1.2": "'TLSv1.2'", "": "''", "it's": "'it''s'", "1e5": "'1e5'"} {
		if got := Quote(v); got != want {
			t.Errorf("Quote(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestGetAndParse(t *testing.T) {
	t.Parallel()
	tricky := read(t, "tricky.conf")
	cases := []struct {
		name, value string
		line        int
	}{
		{"ssl", "on", 18},   // the unterminated last line wins
		{"port", "5432", 2}, // no "=", looked up case-insensitively
		{"ssl_cert_file", `it's 'quoted' \ path`, 6},
		{"listen_addresses", "127.0.0.1", 3},
		{"search_path", `"$user", public`, 9},
		{"pg_stat_statements.max", "10000", 10},
		{"random_page_cost", "1.1", 8},
		{"shared_preload_libraries", "pg_stat_statements", 11},
	}
	for _, c := range cases {
		v, line, ok := Get(tricky, c.name)
		if !ok || v != c.value || line != c.line {
			t.Errorf("Get(%s) = %q line %d %v; want %q line %d", c.name, v, line, ok, c.value, c.line)
		}
	}
	if _, _, ok := Get(tricky, "ssl_key_file"); ok {
		t.Error("commented-out ssl_key_file reported as set")
	}
	entries, err := Parse(tricky)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 17 {
		t.Errorf("Parse error = %v, want line 17", err)
	}
	if len(entries) != 11 {
		t.Errorf("Parse found %d settings, want 11: %+v", len(entries), entries)
	}
	if _, err := Parse(read(t, "debian.conf")); err != nil {
		t.Errorf("debian.conf: %v", err)
	}
	for _, bad := range []string{"ssl = 'unterminated\n", "ssl = on off\n", "= on\n", "ssl =\n", "ssl = /path\n", "'ssl' = on\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	for _, good := range []string{"a.b = 1\n", "x = -1.5e3\n", "x = +3\n", "x 0x10\n", "x = a-b.c:d/e\n", "x=''\n", "\tx\t=\ty\t\n"} {
		if _, err := Parse([]byte(good)); err != nil {
			t.Errorf("Parse(%q): %v", good, err)
		}
	}
}

func TestIncludes(t *testing.T) {
	t.Parallel()
	got := Includes(read(t, "tricky.conf"))
	want := []Include{{"include", "extra.conf", 14}, {"include_if_exists", "maybe.conf", 15}, {"include_dir", "conf.d", 16}}
	if len(got) != len(want) {
		t.Fatalf("Includes = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("include %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	deb := Includes(read(t, "debian.conf"))
	if len(deb) != 1 || deb[0].Kind != "include_dir" || deb[0].Path != "conf.d" {
		t.Errorf("debian includes %+v", deb)
	}
	if inc := Includes(read(t, "rhel.conf")); len(inc) != 0 {
		t.Errorf("rhel includes %+v (all commented out)", inc)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	before := read(t, "auto.conf")
	after, changed := Remove(before, []string{"ssl*"})
	if !changed {
		t.Fatal("Remove changed nothing")
	}
	goldenDiff(t, "auto_remove", before, after)
	for _, n := range []string{"ssl", "ssl_cert_file", "ssl_min_protocol_version"} {
		if _, _, ok := Get(after, n); ok {
			t.Errorf("%s still active", n)
		}
	}
	if v, _, ok := Get(after, "work_mem"); !ok || v != "8MB" {
		t.Error("work_mem lost")
	}
	if again, changed := Remove(after, []string{"ssl*"}); changed || !bytes.Equal(again, after) {
		t.Error("second Remove changed something")
	}
	// A removed line is not mistaken for a commented-out default to revive
	// in auto.conf, but Set still puts the value right after it.
	out, _, _ := Set(after, []Setting{{"ssl", "on"}})
	if v, _, _ := Get(out, "ssl"); v != "on" {
		t.Error("Set after Remove")
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p, n string
		want bool
	}{
		{"ssl*", "ssl", true}, {"ssl*", "ssl_cert_file", true}, {"ssl", "ssl_cert_file", false},
		{"*file", "ssl_cert_file", true}, {"ssl*file", "ssl_crl_dir", false}, {"*", "x", true},
		{"s*l*e", "ssl_cert_file", true}, {"ssl_*", "ssl", false},
	} {
		if got := globMatch(c.p, c.n); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.n, got)
		}
	}
}

func TestSetCRLF(t *testing.T) {
	t.Parallel()
	before := read(t, "crlf.conf")
	after, _, err := Set(before, []Setting{{"ssl_cert_file", "a.crt"}, {"ssl_key_file", "a.key"}})
	if err != nil {
		t.Fatal(err)
	}
	if n, crlf := strings.Count(string(after), "\n"), strings.Count(string(after), "\r\n"); n != crlf {
		t.Fatalf("%d of %d line ends are CRLF:\n%q", crlf, n, after)
	}
}
