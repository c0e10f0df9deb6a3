package pghba

// Fuzz targets for the pg_hba.conf reader and its judges (FuzzEnforceSSL,
// in meaning_test.go, covers the editor). Seeds are the f.Add calls below,
// the files under testdata/ and testdata/fuzz/FuzzName/, where every
// input that once broke a property is kept.

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
)

// seedHBA adds the testdata/*.hba files but the distributions' long
// samples to f, with args after them: mutating those costs far more per
// run and finds nothing the small files do not.
func seedHBA(f *testing.F, args ...any) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.hba"))
	for _, n := range names {
		if data := golden.Read(f, filepath.Base(n)); len(data) < 4096 {
			f.Add(append([]any{data}, args...)...)
		}
	}
}

var hbaSeeds = []string{
	"host all all 0.0.0.0/0 md5\nhostssl all all ::/0 scram-sha-256\nlocal all all peer\n",
	"host \"all\",app @users 10.0.0.1 255.0.0.0 trust # c\r\n",
	"host all all 10.0.0.0/8 \\\n md5\n",
	"hostgssenc all all all gss\ninclude_dir conf.d\nhostnossl all all 0.0.0.0/0 reject\n",
	"host a,b \"c d\",+g samehost ldap ldapserver=x ldapport=1\n",
	"bogus all all all md5\nhost all\nhost all all 1.2.3.4\nhost all all 1.2.3.4 bad-mask md5\n",
	"host all all ::1 ffff:: md5\nhost all all db.example.com md5\nhostnogssenc replication all all trust\n",
	"\"\" \\",
}

// FuzzParseHBA: records and include directives name lines of the text and
// carry its raw text; a syntax error names a line; Review's warnings come
// in file order, each on a line where an entry starts; and a file without
// include directives is enforced once EnforceSSL has run.
func FuzzParseHBA(f *testing.F) {
	seedHBA(f)
	for _, s := range hbaSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		ph := splitPhysical(content)
		starts := map[int]bool{}
		for _, e := range entries(ph) {
			starts[e.first+1] = true
		}
		recs, incs, err := Parse(content)
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || !starts[se.Line]) {
			t.Fatalf("Parse error %v is not a *SyntaxError on a line where an entry starts", err)
		}
		for _, r := range recs {
			if !starts[r.Line] || r.Lines < 1 || r.Line+r.Lines-1 > len(ph) {
				t.Fatalf("record at line %d spanning %d of %d lines", r.Line, r.Lines, len(ph))
			}
			var raw []string
			for k := r.Line - 1; k < r.Line-1+r.Lines; k++ {
				raw = append(raw, strings.TrimSuffix(ph[k].text, "\r"))
			}
			if r.Raw != strings.Join(raw, "\n") {
				t.Fatalf("record at line %d: Raw %q is not its text", r.Line, r.Raw)
			}
			// A TCP record's address may be "" (written `""`): PostgreSQL
			// takes it for a host name.
			if r.Type == "" || len(r.Database) == 0 || len(r.User) == 0 || !r.IsTCP() && r.Address != "" {
				t.Fatalf("record at line %d is missing a field: %+v", r.Line, r)
			}
		}
		for _, inc := range incs {
			if !starts[inc.Line] {
				t.Fatalf("include at line %d", inc.Line)
			}
		}
		last := 0
		for _, w := range Review(content) {
			if w.Line < last || !starts[w.Line] || w.Msg == "" {
				t.Fatalf("warning %v after line %d", w, last)
			}
			last = w.Line
		}
		if len(incs) == 0 {
			after, _ := EnforceSSL(content, EnforceOptions{})
			if !IsEnforced(after) {
				t.Fatalf("EnforceSSL output without include directives is not enforced:\n%s", after)
			}
		}
	})
}

// FuzzPlainVerdict: the verdict names the record that decides it, and that
// record admits plaintext, or rejects; once EnforceSSL has run on a file
// without include directives, only a hostnossl record can admit a
// plaintext client.
func FuzzPlainVerdict(f *testing.F) {
	seedHBA(f, "10.1.2.3", "app", "postgres", false)
	for _, s := range hbaSeeds {
		f.Add([]byte(s), "10.0.0.7", "postgres", "postgres", false)
		f.Add([]byte(s), "::1", "users", "all", true)
	}
	f.Fuzz(func(t *testing.T, content []byte, addr, user, db string, replication bool) {
		ps := parseEntries(splitPhysical(content))
		check := func(content []byte, ps []parsed) (Verdict, *Record) {
			v, line := PlainVerdict(content, addr, user, db, replication)
			var rec *Record
			for _, p := range ps {
				if p.rec != nil && p.rec.Line == line {
					rec = p.rec
				}
			}
			switch {
			case v == Unknown && line < 1:
				t.Fatalf("unknown without a line")
			case v == Allowed && (rec == nil || rec.Method == "reject" || !typeMatches(rec.Type, plaintext)):
				t.Fatalf("allowed by line %d: %+v", line, rec)
			case v == Rejected && line != 0 && (rec == nil || rec.Method != "reject" || !typeMatches(rec.Type, plaintext)):
				t.Fatalf("rejected by line %d: %+v", line, rec)
			case v != Unknown && v != Allowed && v != Rejected:
				t.Fatalf("verdict %d", v)
			}
			return v, rec
		}
		check(content, ps)
		for _, p := range ps {
			if p.include != nil {
				return
			}
		}
		after, _ := EnforceSSL(content, EnforceOptions{})
		if v, rec := check(after, parseEntries(splitPhysical(after))); v == Allowed && rec.Type != TypeHostNoSSL {
			t.Fatalf("after EnforceSSL a %s record admits plaintext from %s:\n%s", rec.Type, addr, after)
		}
	})
}
