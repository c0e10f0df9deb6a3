package pghba

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

func TestEnforceSSLGolden(t *testing.T) {
	for _, name := range []string{"debian", "rhel", "mixed", "include", "localonly", "partial", "crlf"} {
		t.Run(name, func(t *testing.T) {
			before := read(t, name+".hba")
			if IsEnforced(before) {
				t.Fatal("IsEnforced before enforcing")
			}
			after, changed := EnforceSSL(before, EnforceOptions{})
			if !changed {
				t.Fatal("EnforceSSL reported no change")
			}
			goldenDiff(t, name, before, after)
			if !IsEnforced(after) {
				t.Error("IsEnforced false after EnforceSSL")
			}
			again, changed := EnforceSSL(after, EnforceOptions{})
			if changed || !bytes.Equal(again, after) {
				t.Errorf("second EnforceSSL changed the file:\n%s", again)
			}
			checkSemantics(t, before, after)
		})
	}
}

// checkSemantics compares the records before and after: same count plus the
// inserted rejects, host became hostssl, every other field equal.
func checkSemantics(t *testing.T, before, after []byte) {
	t.Helper()
	rb, ib, errB := Parse(before)
	ra, ia, errA := Parse(after)
	if (errB == nil) != (errA == nil) {
		t.Fatalf("parse errors differ: %v / %v", errB, errA)
	}
	if len(ib) != len(ia) {
		t.Fatalf("includes %d -> %d", len(ib), len(ia))
	}
	var kept []Record
	for _, r := range ra {
		if r4, r6 := rejectCovers(&r); (r4 || r6) && !containsRaw(rb, r.Raw) {
			continue // inserted
		}
		kept = append(kept, r)
	}
	if len(kept) != len(rb) {
		t.Fatalf("records %d -> %d (without inserted rejects)", len(rb), len(kept))
	}
	for i, b := range rb {
		a := kept[i]
		wantType := b.Type
		if wantType == TypeHost {
			wantType = TypeHostSSL
		}
		if a.Type != wantType {
			t.Errorf("line %d: type %s -> %s", b.Line, b.Type, a.Type)
		}
		if strings.Join(a.Database, ",") != strings.Join(b.Database, ",") || strings.Join(a.User, ",") != strings.Join(b.User, ",") ||
			a.Address != b.Address || a.Mask != b.Mask || a.Method != b.Method ||
			strings.Join(a.Options, " ") != strings.Join(b.Options, " ") || a.Comment != b.Comment || a.Lines != b.Lines {
			t.Errorf("line %d changed beyond its type:\n%+v\n%+v", b.Line, b, a)
		}
	}
}

func containsRaw(rs []Record, raw string) bool {
	for _, r := range rs {
		if r.Raw == raw {
			return true
		}
	}
	return false
}

func TestEnforceSSLKeepsColumns(t *testing.T) {
	after, _ := EnforceSSL(read(t, "debian.hba"), EnforceOptions{})
	for _, l := range strings.Split(string(after), "\n") {
		if !strings.HasPrefix(l, "hostssl ") && !strings.HasPrefix(l, "hostnossl ") {
			continue
		}
		if l[24:27] != "all" || (l[40] == ' ' || l[39] != ' ') {
			t.Errorf("columns moved: %q", l)
		}
	}
}

func TestEnforceSSLOmitReject(t *testing.T) {
	before := read(t, "rhel.hba")
	after, changed := EnforceSSL(before, EnforceOptions{OmitReject: true})
	rs, _, _ := Parse(after)
	for _, r := range rs {
		if r.Type == TypeHost || r.Method == "reject" {
			t.Fatalf("OmitReject: line %d %s", r.Line, r.Raw)
		}
	}
	if !changed || strings.Contains(string(after), RejectComment) {
		t.Fatalf("OmitReject: changed=%v\n%s", changed, after)
	}
	if IsEnforced(after) {
		t.Error("IsEnforced true without reject lines")
	}
	if n := strings.Count(string(after), "\n"); n != strings.Count(string(before), "\n") {
		t.Error("line count changed")
	}
	// Already hostssl everywhere and OmitReject: nothing to do.
	if _, changed := EnforceSSL(after, EnforceOptions{OmitReject: true}); changed {
		t.Error("second run changed")
	}
}

func TestRejectFirstEvenWhenFileHasOnlyHostssl(t *testing.T) {
	in := []byte("hostssl all all 0.0.0.0/0 scram-sha-256\n")
	out, changed := EnforceSSL(in, EnforceOptions{})
	if !changed {
		t.Fatal("no reject inserted")
	}
	rs, _, _ := Parse(out)
	if len(rs) != 3 || rs[0].Type != TypeHostNoSSL || rs[1].Type != TypeHostNoSSL || rs[2].Type != TypeHostSSL {
		t.Fatalf("order:\n%s", out)
	}
}

func TestIsEnforced(t *testing.T) {
	cases := []struct {
		name, in string
		want     bool
	}{
		{"rejects first", "hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\nhostssl all all 0.0.0.0/0 md5\n", true},
		{"all address", "hostnossl all all all reject\nhostssl all all 0.0.0.0/0 md5\n", true},
		{"mask form", "hostnossl all all 0.0.0.0 0.0.0.0 reject\nhostnossl all all :: :: reject\n", true},
		{"no tcp at all but rejects", "local all all peer\nhostnossl all all all reject\n", true},
		{"host left", "hostnossl all all all reject\nhost all all 10.0.0.0/8 md5\n", false},
		{"reject after a rule", "hostssl all all 0.0.0.0/0 md5\nhostnossl all all all reject\n", false},
		{"only v4", "hostnossl all all 0.0.0.0/0 reject\nhostssl all all 0.0.0.0/0 md5\n", false},
		{"not /0", "hostnossl all all 0.0.0.0/1 reject\nhostnossl all all ::/0 reject\n", false},
		{"not all users", "hostnossl all app all reject\n", false},
		{"not reject", "hostnossl all all all md5\n", false},
		{"reject after include", "include_dir 'hba.d'\nhostnossl all all all reject\n", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		if got := IsEnforced([]byte(c.in)); got != c.want {
			t.Errorf("%s: IsEnforced = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	rs, incs, err := Parse(read(t, "mixed.hba"))
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[int]Record{}
	for _, r := range rs {
		byLine[r.Line] = r
	}
	if r := byLine[14]; r.Address != "192.168.1.0" || r.Mask != "255.255.255.0" || r.Method != "scram-sha-256" || r.Comment != "# office" {
		t.Errorf("mask form: %+v", r)
	}
	if r := byLine[21]; strings.Join(r.Database, "|") != "sales|Mixed Case" || strings.Join(r.User, "|") != "+staff|@admins" || r.Address != ".example.com" {
		t.Errorf("lists: %+v", r)
	}
	if r := byLine[24]; r.Method != "cert" || strings.Join(r.Options, " ") != "clientcert=verify-full map=certmap" {
		t.Errorf("options: %+v", r)
	}
	if r := byLine[30]; r.Lines != 2 || r.Address != "10.5.0.0/16" || r.Method != "scram-sha-256" {
		t.Errorf("continuation: %+v", r)
	}
	if r := byLine[6]; r.Type != TypeLocal || r.Address != "" || r.Method != "peer" || r.IsTCP() {
		t.Errorf("local: %+v", r)
	}
	if len(incs) != 0 {
		t.Errorf("includes %+v", incs)
	}
	_, incs, err = Parse(read(t, "include.hba"))
	if err != nil || len(incs) != 2 || incs[0] != (Include{"include_dir", "hba.d", 3}) || incs[1] != (Include{"include_if_exists", "extra.conf", 5}) {
		t.Errorf("includes %+v %v", incs, err)
	}
	for _, bad := range []string{
		"hots all all 127.0.0.1/32 md5\n",
		"host all all\n",
		"host all all 127.0.0.1 md5\n",
		"host all all 127.0.0.1\n",
		"host,local all all peer\n",
		"local all\n",
		"include\n",
	} {
		var se *SyntaxError
		if _, _, err := Parse([]byte(bad)); !errors.As(err, &se) || se.Line != 1 {
			t.Errorf("Parse(%q) = %v, want a line 1 syntax error", bad, err)
		}
	}
}

func TestTokenize(t *testing.T) {
	cases := []struct {
		in      string
		fields  string
		comment string
	}{
		{`host all all 1.2.3.4/32 md5`, `host|all|all|1.2.3.4/32|md5`, ""},
		{`host "all" "a b",c 1.2.3.4/32 md5#x`, `host|all|a b,c|1.2.3.4/32|md5`, "#x"},
		{`host a, b  c`, `host|a,b|c`, ""},
		{`host "a""b" "#notcomment" # yes`, `host|a"b|#notcomment`, "# yes"},
		{`   # only comment`, ``, "# only comment"},
		{`local "" x`, `local||x`, ""},
	}
	for _, c := range cases {
		fields, comment := tokenize(c.in)
		var fs []string
		for _, f := range fields {
			fs = append(fs, strings.Join(texts(f), ","))
		}
		if strings.Join(fs, "|") != c.fields || comment != c.comment {
			t.Errorf("tokenize(%q) = %q %q, want %q %q", c.in, strings.Join(fs, "|"), comment, c.fields, c.comment)
		}
	}
}

func TestContinuationEdgeCases(t *testing.T) {
	// The type word itself split by a continuation: rewritten as one line.
	in := "ho\\\nst all all 10.0.0.0/8 md5\n"
	out, changed := EnforceSSL([]byte(in), EnforceOptions{OmitReject: true})
	if !changed || string(out) != "hostssl all all 10.0.0.0/8 md5\n" {
		t.Fatalf("split type word: %q", out)
	}
	// A file whose last line ends in a backslash: the appended reject lines
	// must not be swallowed by it.
	in = "local all all peer # note \\"
	out, _ = EnforceSSL([]byte(in), EnforceOptions{})
	if !IsEnforced(out) {
		t.Fatalf("rejects swallowed by a continuation:\n%q", out)
	}
	if again, changed := EnforceSSL(out, EnforceOptions{}); changed {
		t.Fatalf("not idempotent:\n%q", again)
	}
}

func TestCRLFKept(t *testing.T) {
	after, _ := EnforceSSL(read(t, "crlf.hba"), EnforceOptions{})
	if n, crlf := strings.Count(string(after), "\n"), strings.Count(string(after), "\r\n"); n != crlf {
		t.Fatalf("%d of %d line ends are CRLF:\n%q", crlf, n, after)
	}
}
