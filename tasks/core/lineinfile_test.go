package core

import (
	"strings"
	"testing"
)

func sp(s string) *string { return &s }

// TestLinePresent pins lineinfile's state=present semantics to Ansible's
// (lib/ansible/modules/lineinfile.py present()).
func TestLinePresent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		in              string
		regexp          string
		search          *string
		line            string
		after, before   *string
		backrefs, first bool
		want, wantMsg   string
	}{
		{name: "default appends at EOF", in: "a\nb\n", line: "c", want: "a\nb\nc\n", wantMsg: "line added"},
		{name: "present line unchanged", in: "a\nc\nb\n", line: "c", want: "a\nc\nb\n"},
		{name: "adds newline before appending", in: "a\nb", line: "c", want: "a\nb\nc\n", wantMsg: "line added"},
		{name: "empty file", in: "", line: "c", want: "c\n", wantMsg: "line added"},
		{name: "regexp replaces last match", in: "x=1\ny\nx=2\n", regexp: "^x=", line: "x=3", want: "x=1\ny\nx=3\n", wantMsg: "line replaced"},
		{name: "regexp firstmatch replaces first", in: "x=1\ny\nx=2\n", regexp: "^x=", line: "x=3", first: true, want: "x=3\ny\nx=2\n", wantMsg: "line replaced"},
		{name: "regexp no match appends", in: "a\n", regexp: "^x=", line: "x=3", want: "a\nx=3\n", wantMsg: "line added"},
		{name: "regexp already right", in: "x=3\n", regexp: "^x=", line: "x=3", want: "x=3\n"},
		{name: "regexp dollar before newline", in: "ssl\n", regexp: "^ssl$", line: "ssl = on", want: "ssl = on\n", wantMsg: "line replaced"},
		{name: "regexp replaces line without final newline", in: "a\nx=1", regexp: "^x=", line: "x=2", want: "a\nx=2\n", wantMsg: "line replaced"},
		{name: "exact line wins when regexp misses", in: "a\nb\n", regexp: "^nomatch", line: "a", want: "a\nb\n"},
		{name: "backrefs no match leaves file", in: "a\n", regexp: `^(port)=(\d+)`, line: `\1=5433`, backrefs: true, want: "a\n"},
		{name: "backrefs numbered", in: "port = 5432\n", regexp: `^(port\s*=\s*)\d+`, line: `\g<1>5433`, backrefs: true, want: "port = 5433\n", wantMsg: "line replaced"},
		{name: "backrefs short form", in: "port = 5432\n", regexp: `^(port\s*=\s*)\d+`, line: `\1 5433`, backrefs: true, want: "port =  5433\n", wantMsg: "line replaced"},
		{name: "backrefs named", in: "ssl = off # x\n", regexp: `^ssl = \w+(?P<rest>.*)$`, line: `ssl = on\g<rest>`, backrefs: true, want: "ssl = on # x\n", wantMsg: "line replaced"},
		{name: "backrefs idempotent", in: "port = 5433\n", regexp: `^(port\s*=\s*)\d+`, line: `\g<1>5433`, backrefs: true, want: "port = 5433\n"},
		{name: "insertafter last match", in: "x\n#m\ny\n#m\nz\n", after: sp("^#m"), line: "L", want: "x\n#m\ny\n#m\nL\nz\n", wantMsg: "line added"},
		{name: "insertafter firstmatch", in: "x\n#m\ny\n#m\nz\n", after: sp("^#m"), line: "L", first: true, want: "x\n#m\nL\ny\n#m\nz\n", wantMsg: "line added"},
		{name: "insertafter no match goes to EOF", in: "a\n", after: sp("^nomatch"), line: "L", want: "a\nL\n", wantMsg: "line added"},
		{name: "insertafter EOF", in: "a\n", after: sp("EOF"), line: "L", want: "a\nL\n", wantMsg: "line added"},
		{name: "insertafter BOF", in: "a\n", after: sp("BOF"), line: "L", want: "L\na\n", wantMsg: "line added"},
		{name: "insertafter last line", in: "a\nb\n", after: sp("^b"), line: "L", want: "a\nb\nL\n", wantMsg: "line added"},
		{name: "insertafter last line without newline", in: "a\nb", after: sp("^b"), line: "L", want: "a\nb\nL\n", wantMsg: "line added"},
		{name: "insertbefore last match", in: "x\n#m\ny\n#m\nz\n", before: sp("^#m"), line: "L", want: "x\n#m\ny\nL\n#m\nz\n", wantMsg: "line added"},
		{name: "insertbefore firstmatch", in: "x\n#m\ny\n#m\nz\n", before: sp("^#m"), line: "L", first: true, want: "x\nL\n#m\ny\n#m\nz\n", wantMsg: "line added"},
		{name: "insertbefore BOF", in: "a\n", before: sp("BOF"), line: "L", want: "L\na\n", wantMsg: "line added"},
		{name: "insertbefore no match goes to EOF", in: "a\n", before: sp("^zzz"), line: "L", want: "a\nL\n", wantMsg: "line added"},
		{name: "insertbefore line already there", in: "a\nL\nb\n", before: sp("^b"), line: "L", want: "a\nL\nb\n"},
		{name: "regexp wins over insertafter", in: "[s]\nk=1\n", regexp: "^k=", after: sp(`^\[s\]`), line: "k=2", want: "[s]\nk=2\n", wantMsg: "line replaced"},
		{name: "regexp miss then insertafter", in: "[s]\nj=1\n", regexp: "^k=", after: sp(`^\[s\]`), line: "k=2", want: "[s]\nk=2\nj=1\n", wantMsg: "line added"},
		{name: "search_string replaces", in: "foo bar\nbaz\n", search: sp("bar"), line: "qux", want: "qux\nbaz\n", wantMsg: "line replaced"},
		{name: "search_string is literal", in: "a.b\naxb\n", search: sp("a.b"), line: "L", want: "L\naxb\n", wantMsg: "line replaced"},
		// Ansible compares the whole line with its ending and rewrites it with "\n".
		{name: "crlf exact line is rewritten", in: "a\r\nb\r\n", line: "a", want: "a\nb\r\n", wantMsg: "line replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := lineOpts{line: sp(tt.line), searchString: tt.search, insertAfter: tt.after, insertBefore: tt.before, backrefs: tt.backrefs, firstMatch: tt.first}
			if tt.regexp != "" {
				re, err := compilePy(tt.regexp, false)
				if err != nil {
					t.Fatal(err)
				}
				o.regexp = re
			}
			if o.insertAfter == nil && o.insertBefore == nil {
				o.insertAfter = sp("EOF")
			}
			got, msg, err := linePresent(splitLinesKeep(tt.in), o)
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, ""); s != tt.want || msg != tt.wantMsg {
				t.Errorf("got %q (%q), want %q (%q)", s, msg, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestLineAbsent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, regexp string
		search, line     *string
		want             string
		found            int
	}{
		{name: "regexp removes all", in: "a1\nb\na2\n", regexp: "^a", want: "b\n", found: 2},
		{name: "exact line", in: "a\nab\na\n", line: sp("a"), want: "ab\n", found: 2},
		{name: "search string", in: "xay\nb\n", search: sp("a"), want: "b\n", found: 1},
		{name: "nothing matches", in: "b\n", line: sp("a"), want: "b\n"},
		{name: "crlf line", in: "a\r\nb\r\n", line: sp("a"), want: "b\r\n", found: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := lineOpts{searchString: tt.search, line: tt.line}
			if tt.regexp != "" {
				o.regexp, _ = compilePy(tt.regexp, false)
			}
			got, found := lineAbsent(splitLinesKeep(tt.in), o)
			if s := strings.Join(got, ""); s != tt.want || found != tt.found {
				t.Errorf("got %q (%d), want %q (%d)", s, found, tt.want, tt.found)
			}
		})
	}
}
