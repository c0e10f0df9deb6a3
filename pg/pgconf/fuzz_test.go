package pgconf

// Fuzz targets for the postgresql.conf lexer and editor. Seeds are the f.Add
// calls below, the files under testdata/ and testdata/fuzz/FuzzName/,
// where every input that once broke a property is kept.

import (
	"bytes"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
)

// seedFiles adds the small testdata/*.conf files to f, with args after
// them. The distributions' 800-line samples are left out: mutating them
// costs a hundred times more per run and finds nothing the small files do
// not (the golden tests cover them).
func seedFiles(f *testing.F, args ...any) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.conf"))
	for _, n := range names {
		if data := golden.Read(f, filepath.Base(n)); len(data) < 4096 {
			f.Add(append([]any{data}, args...)...)
		}
	}
}

func isSpace(s string) bool { return strings.Trim(s, " \t\r") == "" }

// FuzzLexLine: the tokens of a line cover it in order, with only white
// space between them, each its own text, and the comment starts at a '#'
// after the last one.
func FuzzLexLine(f *testing.F) {
	for _, s := range []string{
		"Port 5432 # c", "listen_addresses='127.0.0.1'", `  SSL_CERT_FILE = 'it''s \'q\' \\ p'   # e`,
		"work_mem = 4MB", "random_page_cost = 1.1", "x = -1.5e3", "x 0x10", "x = a-b.c:d/e", "x=''",
		"a.b = 1", "ssl = 'unterminated", "'a''", `'\`, "= = =", "#", "x = 1e", "é = ü", "0x = 0xg",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "\n") {
			return // lexLine gets one line
		}
		toks, comment := lexLine(line)
		at := 0
		for _, tk := range toks {
			if tk.start < at || tk.end <= tk.start || tk.end > len(line) || !isSpace(line[at:tk.start]) {
				t.Fatalf("%q: token %+v after offset %d", line, tk, at)
			}
			if tk.text != line[tk.start:tk.end] {
				t.Fatalf("%q: token text %q at [%d:%d]", line, tk.text, tk.start, tk.end)
			}
			if tk.kind == tokString {
				if len(tk.text) < 2 || tk.text[0] != '\'' || tk.text[len(tk.text)-1] != '\'' || matchString(tk.text) != len(tk.text) {
					t.Fatalf("%q: string token %q", line, tk.text)
				}
				deescape(tk.text)
			}
			at = tk.end
		}
		switch {
		case comment < at || comment > len(line):
			t.Fatalf("%q: comment at %d, tokens end at %d", line, comment, at)
		case comment < len(line) && line[comment] != '#':
			t.Fatalf("%q: comment at %d is no '#'", line, comment)
		case !isSpace(line[at:comment]):
			t.Fatalf("%q: %q between the last token and the comment", line, line[at:comment])
		}
	})
}

// settingsOtherThan lists Parse's entries (name and value) whose name is
// not name, and how many lines are syntax errors.
func settingsOtherThan(content []byte, name string) (out []string, errs int) {
	for i, l := range parse(content) {
		switch {
		case l.kind == lineError:
			errs++
		case l.kind == lineSetting && !strings.EqualFold(l.name, name):
			out = append(out, l.name+"\x00"+l.value+"\x00"+string(rune(i)))
		}
	}
	return out, errs
}

// names returns just the name and value of settingsOtherThan's entries.
func nameValues(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e[:strings.LastIndexByte(e, 0)]
	}
	return out
}

// crlfLines splits content at "\n", each line without its "\r": a last
// line without a line end gets the file's ("\r\n" in a CRLF file) when
// Set adds lines after it.
func crlfLines(content []byte) []string {
	lines := strings.Split(string(content), "\n")
	for i, l := range lines {
		// A bare CR is blank space to PostgreSQL's lexer: a last line
		// "0\r" that Set ends with CRLF reads as the same line.
		lines[i] = strings.TrimRight(l, "\r")
	}
	return lines
}

// isSubsequence reports whether every line of a appears in b, in order.
func isSubsequence(a, b []string) bool {
	j := 0
	for _, l := range a {
		for j < len(b) && b[j] != l {
			j++
		}
		if j == len(b) {
			return false
		}
		j++
	}
	return true
}

// FuzzSetGet: after Set, Get returns the value set; a second Set changes
// nothing; every other setting, syntax error and line is kept, only the
// set line changes or new lines come in.
func FuzzSetGet(f *testing.F) {
	seedFiles(f, "ssl", "on")
	seedFiles(f, "ssl_cert_file", "/etc/ssl/it's \\ here.crt")
	for _, c := range [][3]string{
		{"", "ssl", "on"},
		{"ssl = off\n", "SSL", "true"},
		{"a = 1 # c\n", "a", "123456"},
		{"#a = 1\n#a = 2 # c", "a", "two\nlines"},
		{"a = 1\r\nb = 2\r\n", "c", "3"},
		{"# BEGIN sshplay managed settings\n", "x.y", "64MB"},
		{"# BEGIN sshplay managed settings\nz = 1\n# END sshplay managed settings\n", "x", "-.5"},
		{"bad line\na = 'x", "a", "'"},
		{"include 'x'\n", "include", "y"},
		{"a = 1\n", "1a", "y"},
	} {
		f.Add([]byte(c[0]), c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, content []byte, name, value string) {
		out, changed, err := Set(content, []Setting{{name, value}})
		if !ValidName(name) || isInclude(name) {
			if err == nil {
				t.Fatalf("Set(%q) accepted", name)
			}
			return
		}
		if err != nil {
			t.Fatalf("Set(%q, %q): %v", name, value, err)
		}
		if changed == bytes.Equal(out, content) {
			t.Fatalf("changed %v, but the content is %s", changed, map[bool]string{true: "the same", false: "different"}[bytes.Equal(out, content)])
		}
		got, _, ok := Get(out, name)
		if !ok || got != value && (changed || !sameValue(got, value)) {
			t.Fatalf("Set %s = %q, Get gives %q %v\n%q", name, value, got, ok, out)
		}
		again, changed2, err := Set(out, []Setting{{name, value}})
		if err != nil || changed2 || !bytes.Equal(again, out) {
			t.Fatalf("a second Set changed the file: %v\n%q\n%q", err, out, again)
		}
		before, errsBefore := settingsOtherThan(content, name)
		after, errsAfter := settingsOtherThan(out, name)
		if !slices.Equal(nameValues(before), nameValues(after)) || errsBefore != errsAfter {
			t.Fatalf("Set %s changed other settings or errors:\n%q\n%q", name, before, after)
		}
		in, outLines := crlfLines(content), crlfLines(out)
		if _, _, wasSet := Get(content, name); wasSet {
			diff := 0
			for i := range in {
				if i >= len(outLines) || in[i] != outLines[i] {
					diff++
				}
			}
			if len(in) != len(outLines) || diff > 1 {
				t.Fatalf("Set of an active setting changed %d lines:\n%q\n%q", diff, content, out)
			}
		} else if !isSubsequence(in, outLines) || len(outLines)-len(in) > 5 {
			t.Fatalf("Set of a new setting did more than insert lines:\n%q\n%q", content, out)
		}
	})
}

// globRegexp is globMatch's rule as a regular expression.
func globRegexp(p string) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile(`(?s)^` + strings.Join(parts, ".*") + `$`)
}

// FuzzRemove: no active setting matching the pattern is left, every other
// setting stays where it was, each removed line is the old one behind
// RemovedPrefix, and a second Remove changes nothing.
func FuzzRemove(f *testing.F) {
	seedFiles(f, "ssl*")
	for _, c := range [][2]string{{"ssl = on\nSSL_ca_file = 'x'\n", "ssl*"}, {"a = 1", "*"}, {"include 'x'\n", "*"}, {"a.b = 1\n", "a*.*b"}} {
		f.Add([]byte(c[0]), c[1])
	}
	f.Fuzz(func(t *testing.T, content []byte, pattern string) {
		out, changed := Remove(content, []string{pattern})
		if changed == bytes.Equal(out, content) {
			t.Fatalf("changed %v but the content says otherwise", changed)
		}
		re := globRegexp(strings.ToLower(pattern))
		var kept []Entry
		entries, errBefore := Parse(content)
		for _, e := range entries {
			if m := re.MatchString(strings.ToLower(e.Name)); m != globMatch(strings.ToLower(pattern), strings.ToLower(e.Name)) {
				t.Fatalf("globMatch(%q, %q) = %v", pattern, e.Name, !m)
			} else if !m {
				kept = append(kept, e)
			}
		}
		left, errAfter := Parse(out)
		if !slices.Equal(kept, left) {
			t.Fatalf("Remove(%q) left %+v, want %+v", pattern, left, kept)
		}
		var se1, se2 *SyntaxError
		if errors.As(errBefore, &se1) != errors.As(errAfter, &se2) || se1 != nil && *se1 != *se2 {
			t.Fatalf("syntax error %v became %v", errBefore, errAfter)
		}
		in, outLines := strings.Split(string(content), "\n"), strings.Split(string(out), "\n")
		if len(in) != len(outLines) {
			t.Fatalf("Remove changed the number of lines")
		}
		for i := range in {
			if in[i] != outLines[i] && outLines[i] != RemovedPrefix+in[i] {
				t.Fatalf("line %d %q became %q", i+1, in[i], outLines[i])
			}
		}
		if again, changed := Remove(out, []string{pattern}); changed || !bytes.Equal(again, out) {
			t.Fatalf("a second Remove changed the file")
		}
	})
}

// FuzzParse: Parse, Get and Includes agree on the same lines; a syntax
// error names a line of the text and its text; ResetAuto's output reads
// back as the settings it kept.
func FuzzParse(f *testing.F) {
	seedFiles(f, "ssl")
	f.Add([]byte("a = 1\nA = 2\ninclude 'x'\nbad line\n"), "a")
	f.Fuzz(func(t *testing.T, content []byte, name string) {
		entries, err := Parse(content)
		lines := strings.Split(string(content), "\n")
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || se.Line < 1 || se.Line > len(lines) || se.Text != lines[se.Line-1]) {
			t.Fatalf("Parse error %v (line of %d: %+v)", err, len(lines), se)
		}
		var last *Entry
		for i, e := range entries {
			if e.Line < 1 || e.Line > len(lines) || isInclude(e.Name) {
				t.Fatalf("entry %+v", e)
			}
			if strings.EqualFold(e.Name, name) {
				last = &entries[i]
			}
		}
		v, line, ok := Get(content, name)
		if !isInclude(name) && (ok != (last != nil) || last != nil && (v != last.Value || line != last.Line)) {
			t.Fatalf("Get(%q) = %q %d %v; Parse's last entry %+v", name, v, line, ok, last)
		}
		for _, inc := range Includes(content) {
			if inc.Line < 1 || inc.Line > len(lines) || !isInclude(inc.Kind) {
				t.Fatalf("include %+v", inc)
			}
		}
		var want []Entry
		for _, e := range entries {
			if !strings.EqualFold(e.Name, name) {
				want = append(want, e)
			}
			if strings.ContainsAny(e.Value, "\r\n") {
				return // ALTER SYSTEM would write a broken file too
			}
		}
		got, err := Parse(ResetAuto(content, []string{name}))
		if err != nil || len(got) != len(want) {
			t.Fatalf("ResetAuto's output: %v, %d settings, want %d", err, len(got), len(want))
		}
		for i := range got {
			if got[i].Name != want[i].Name || got[i].Value != want[i].Value {
				t.Fatalf("ResetAuto wrote %+v for %+v", got[i], want[i])
			}
		}
	})
}
