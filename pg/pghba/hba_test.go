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

// goldenCase is a testdata file whose EnforceSSL diff is pinned in
// testdata/NAME.golden, with what IsEnforced says before and after.
type goldenCase struct {
	name                          string
	enforcedBefore, enforcedAfter bool
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"debian", false, true}, {"rhel", false, true}, {"mixed", false, true},
		{"include", false, true}, {"localonly", false, true}, {"partial", false, true},
		{"crlf", false, true}, {"gssenc", false, true}, {"nossl-exception", false, true},
		{"nogssenc", false, true}, {"include-late", false, true},
		// The hostgssenc record after the include keeps the reject lines
		// behind the include: not enforced, and Review says why.
		{"include-first", false, false},
		{"moved", false, true}, {"moved-partial", true, true}, {"moved-crlf", true, true},
	}
}

func TestEnforceSSLGolden(t *testing.T) {
	t.Parallel()
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			before := read(t, c.name+".hba")
			if got := IsEnforced(before); got != c.enforcedBefore {
				t.Errorf("IsEnforced before = %v, want %v", got, c.enforcedBefore)
			}
			after, changed := EnforceSSL(before, EnforceOptions{})
			if !changed {
				t.Fatal("EnforceSSL reported no change")
			}
			goldenDiff(t, c.name, before, after)
			if got := IsEnforced(after); got != c.enforcedAfter {
				t.Errorf("IsEnforced after = %v, want %v", got, c.enforcedAfter)
			}
			checkAfterEnforce(t, before, after, false)
		})
	}
}

// checkAfterEnforce holds for every EnforceSSL output: a second run
// changes nothing, records are kept, the reject lines sit in a valid
// place, and no connection changes its fate except plaintext ones.
func checkAfterEnforce(t *testing.T, before, after []byte, omit bool) {
	t.Helper()
	again, changed := EnforceSSL(after, EnforceOptions{OmitReject: omit})
	if changed || !bytes.Equal(again, after) {
		t.Errorf("second EnforceSSL changed the file:\n%s", again)
	}
	checkRecordsKept(t, before, after)
	checkPlacement(t, after, omit)
	checkMeaning(t, before, after)
}

// checkRecordsKept compares the records before and after, reject lines
// equivalent to EnforceSSL's left out (they may be added or moved): same
// order, host and hostnogssenc became hostssl, every other field equal.
// Reject lines an administrator wrote (not under RejectComment) all stay.
func checkRecordsKept(t *testing.T, before, after []byte) {
	t.Helper()
	rb, ib, errB := Parse(before)
	ra, ia, errA := Parse(after)
	if (errB == nil) != (errA == nil) {
		t.Fatalf("parse errors differ: %v / %v", errB, errA)
	}
	if len(ib) != len(ia) {
		t.Fatalf("includes %d -> %d", len(ib), len(ia))
	}
	rb, ra = withoutRejects(rb), withoutRejects(ra)
	if len(ra) != len(rb) {
		t.Fatalf("records %d -> %d (reject lines left out)", len(rb), len(ra))
	}
	for i, b := range rb {
		a := ra[i]
		wantType := b.Type
		if wantType == TypeHost || wantType == TypeHostNoGSSEnc {
			wantType = TypeHostSSL
		}
		if a.Type != wantType {
			t.Errorf("line %d: type %s -> %s", b.Line, b.Type, a.Type)
		}
		if strings.Join(a.Database, ",") != strings.Join(b.Database, ",") || strings.Join(a.User, ",") != strings.Join(b.User, ",") ||
			a.Address != b.Address || a.Mask != b.Mask || a.Method != b.Method ||
			strings.Join(a.Options, " ") != strings.Join(b.Options, " ") || a.Comment != b.Comment {
			t.Errorf("line %d changed beyond its type:\n%+v\n%+v", b.Line, b, a)
		}
	}
	kept := map[string]int{}
	for _, raw := range adminRejects(after) {
		kept[raw]++
	}
	for _, raw := range adminRejects(before) {
		if kept[raw]--; kept[raw] < 0 {
			t.Errorf("administrator's reject line %q gone", raw)
		}
	}
}

func withoutRejects(rs []Record) []Record {
	var out []Record
	for _, r := range rs {
		if !isCoveringReject(&r) {
			out = append(out, r)
		}
	}
	return out
}

// adminRejects are the raw texts of covering reject lines not under
// RejectComment.
func adminRejects(content []byte) []string {
	ps := parseEntries(splitPhysical(content))
	own := map[int]bool{}
	for _, b := range ownBlocks(ps) {
		for i := b.start; i < b.end; i++ {
			own[i] = true
		}
	}
	var out []string
	for i, p := range ps {
		if p.rec != nil && isCoveringReject(p.rec) && !own[i] {
			out = append(out, strings.TrimSpace(p.rec.Raw))
		}
	}
	return out
}

// checkPlacement: EnforceSSL's own reject lines are all in the valid
// region, and (unless omitted) the region holds IPv4 and IPv6 reject lines.
func checkPlacement(t *testing.T, after []byte, omit bool) {
	t.Helper()
	ps := parseEntries(splitPhysical(after))
	lo, hi := rejectRegion(ps)
	for _, b := range ownBlocks(ps) {
		if b.start <= lo || b.end > hi {
			t.Errorf("reject lines at line %d are outside the valid place (after entry %d, before %d)", ps[b.start].e.first+1, lo, hi)
		}
	}
	var v4, v6 bool
	for i := lo + 1; i < hi; i++ {
		if ps[i].rec != nil {
			r4, r6 := rejectCovers(ps[i].rec)
			v4, v6 = v4 || r4, v6 || r6
		}
	}
	if !omit && !(v4 && v6) {
		t.Errorf("no IPv4 and IPv6 reject lines after the last hostgssenc/hostnossl record:\n%s", after)
	}
}

func TestEnforceSSLKeepsColumns(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	cases := []struct {
		name, in string
		want     bool
	}{
		{"rejects first", "hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\nhostssl all all 0.0.0.0/0 md5\n", true},
		{"all address", "hostnossl all all all reject\nhostssl all all 0.0.0.0/0 md5\n", true},
		{"mask form", "hostnossl all all 0.0.0.0 0.0.0.0 reject\nhostnossl all all :: :: reject\n", true},
		{"no tcp at all but rejects", "local all all peer\nhostnossl all all all reject\n", true},
		{"host left", "hostnossl all all all reject\nhost all all 10.0.0.0/8 md5\n", false},
		{"reject after rules that never admit plaintext", "hostssl all all 0.0.0.0/0 md5\nhostgssenc all all all gss\nhostnossl all all all reject\n", true},
		{"reject after a plaintext exception", "hostnossl all nagios 10.9.0.10/32 md5\nhostnossl all all all reject\n", true},
		{"reject shadowing hostgssenc still refuses plaintext", "hostnossl all all all reject\nhostgssenc all all all gss\n", true},
		{"hostnogssenc left", "hostnossl all all all reject\nhostnogssenc all all 10.0.0.0/8 md5\n", false},
		{"include after the rejects", "hostnossl all all all reject\ninclude_dir 'hba.d'\n", true},
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

func TestTrailingBackslashOnTheLastLineIsDropped(t *testing.T) {
	t.Parallel()
	// PostgreSQL 16 strips a continuation backslash even with no line
	// after it; keeping it would read an option that later vanishes once
	// lines are appended.
	rs, _, err := Parse([]byte("hostgssenc all all all gss \\"))
	if err != nil || len(rs) != 1 || len(rs[0].Options) != 0 || rs[0].Method != "gss" {
		t.Fatalf("Parse = %+v, %v", rs, err)
	}
	in := "include x\n" + RejectComment + "\nhostnossl all all all reject \\"
	out, _ := EnforceSSL([]byte(in), EnforceOptions{})
	if want := RejectComment + "\nhostnossl all all all reject \ninclude x\n"; string(out) != want {
		t.Fatalf("moved line: %q, want %q", out, want)
	}
}

func TestCRLFKept(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"crlf.hba", "moved-crlf.hba"} {
		after, _ := EnforceSSL(read(t, name), EnforceOptions{})
		if n, crlf := strings.Count(string(after), "\n"), strings.Count(string(after), "\r\n"); n != crlf {
			t.Errorf("%s: %d of %d line ends are CRLF:\n%q", name, crlf, n, after)
		}
	}
}
