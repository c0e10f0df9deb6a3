package core

import (
	"strings"
	"testing"
)

const (
	mb = "# BEGIN ANSIBLE MANAGED BLOCK\n"
	me = "# END ANSIBLE MANAGED BLOCK\n"
)

// TestEditBlock pins blockinfile's semantics to Ansible's.
func TestEditBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		missing bool
		o       blockOpts
		want    string
	}{
		{name: "append at EOF", in: "a\n", o: blockOpts{block: "x\ny"}, want: "a\n" + mb + "x\ny\n" + me},
		{name: "append after line without newline", in: "a", o: blockOpts{block: "x\n"}, want: "a\n" + mb + "x\n" + me},
		{name: "new file", missing: true, o: blockOpts{block: "x"}, want: mb + "x\n" + me},
		{name: "update in place", in: "a\n" + mb + "old\n" + me + "z\n", o: blockOpts{block: "new"}, want: "a\n" + mb + "new\n" + me + "z\n"},
		{name: "unchanged", in: "a\n" + mb + "x\n" + me, o: blockOpts{block: "x"}, want: "a\n" + mb + "x\n" + me},
		{name: "state absent removes", in: "a\n" + mb + "x\n" + me + "z\n", o: blockOpts{block: "x", present: false}, want: "a\nz\n"},
		{name: "empty block removes", in: "a\n" + mb + "x\n" + me + "z\n", o: blockOpts{block: ""}, want: "a\nz\n"},
		{name: "absent without block is no-op", in: "a\n", o: blockOpts{present: false}, want: "a\n"},
		{name: "insertbefore BOF", in: "a\n", o: blockOpts{block: "x", insertBefore: sp("BOF")}, want: mb + "x\n" + me + "a\n"},
		{name: "insertafter last match", in: "h\nm\nh\nz\n", o: blockOpts{block: "x", insertAfter: sp("^h")}, want: "h\nm\nh\n" + mb + "x\n" + me + "z\n"},
		{name: "insertbefore last match", in: "h\nm\nh\nz\n", o: blockOpts{block: "x", insertBefore: sp("^h")}, want: "h\nm\n" + mb + "x\n" + me + "h\nz\n"},
		{name: "insertafter no match goes to EOF", in: "a\n", o: blockOpts{block: "x", insertAfter: sp("^q")}, want: "a\n" + mb + "x\n" + me},
		{name: "insertbefore no match goes to EOF", in: "a\n", o: blockOpts{block: "x", insertBefore: sp("^q")}, want: "a\n" + mb + "x\n" + me},
		{name: "existing block ignores insertbefore", in: "a\n" + mb + "old\n" + me, o: blockOpts{block: "x", insertBefore: sp("BOF")}, want: "a\n" + mb + "x\n" + me},
		{name: "custom marker", in: "a\n", o: blockOpts{block: "x", marker: "// {mark} pg", markerBegin: "start", markerEnd: "stop"}, want: "a\n// start pg\nx\n// stop pg\n"},
		{name: "markers reversed", in: "a\n" + me + "x\n" + mb + "z\n", o: blockOpts{block: "y"}, want: "a\n" + mb + "y\n" + me + "z\n"},
		{name: "only one marker appends", in: "a\n" + mb + "x\n", o: blockOpts{block: "y"}, want: "a\n" + mb + "x\n" + mb + "y\n" + me},
		{name: "prepend and append newline", in: "a\nz\n", o: blockOpts{block: "x", insertAfter: sp("^a"), prependNewline: true, appendNewline: true}, want: "a\n\n" + mb + "x\n" + me + "\nz\n"},
		{name: "multiline insertafter", in: "a\nb\nc\n", o: blockOpts{block: "x", insertAfter: sp(`(?m)^a\nb\n`)}, want: "a\nb\n" + mb + "x\n" + me + "c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			if o.marker == "" {
				o.marker, o.markerBegin, o.markerEnd = "# {mark} ANSIBLE MANAGED BLOCK", "BEGIN", "END"
			}
			if tt.name != "state absent removes" && tt.name != "absent without block is no-op" {
				o.present = true
			}
			var in []byte
			if !tt.missing {
				in = []byte(tt.in)
			}
			got, err := editBlock(in, !tt.missing, o)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestReplaceText pins replace's semantics (re.subn with MULTILINE, the
// after/before section with DOTALL) to Ansible's.
func TestReplaceText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, rx, repl string
		after, before      *string
		want               string
		n                  int
		notFound           bool
	}{
		{name: "all matches", in: "a=1\na=2\n", rx: `^a=(\d)`, repl: `b=\1`, want: "b=1\nb=2\n", n: 2},
		{name: "named group", in: "ssl = off\n", rx: `^(?P<k>ssl)\s*=\s*off$`, repl: `\g<k> = on`, want: "ssl = on\n", n: 1},
		{name: "default replace deletes", in: "keep\n#x\n", rx: `^#.*\n`, want: "keep\n", n: 1},
		{name: "no match", in: "a\n", rx: `^b`, repl: "c", want: "a\n"},
		{name: "same text counts but no change", in: "a\n", rx: `a`, repl: "a", want: "a\n", n: 1},
		{name: "after only", in: "x=1\n[s]\nx=1\n", rx: `x=1`, repl: "x=2", after: sp(`\[s\]`), want: "x=1\n[s]\nx=2\n", n: 1},
		{name: "before only", in: "x=1\n[s]\nx=1\n", rx: `x=1`, repl: "x=2", before: sp(`\[s\]`), want: "x=2\n[s]\nx=1\n", n: 1},
		{name: "after and before", in: "x\n<a>\nx\n</a>\nx\n", rx: `^x$`, repl: "y", after: sp("<a>"), before: sp("</a>"), want: "x\n<a>\ny\n</a>\nx\n", n: 1},
		{name: "section not found", in: "x\n", rx: "x", repl: "y", after: sp("nothere"), want: "x\n", notFound: true},
		{name: "escape in template", in: "a b\n", rx: ` `, repl: `\n`, want: "a\nb\n", n: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, found, err := replaceText(tt.in, tt.rx, tt.repl, tt.after, tt.before)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || n != tt.n || found == tt.notFound {
				t.Errorf("got %q n=%d found=%v, want %q n=%d found=%v", got, n, found, tt.want, tt.n, !tt.notFound)
			}
		})
	}
}

func TestPyExpandErrors(t *testing.T) {
	t.Parallel()
	re, _ := compilePy(`(a)(?P<n>b)?`, false)
	m := re.FindStringSubmatchIndex("a")
	for _, tmpl := range []string{`\3`, `\g<zz>`, `\q`, `\g<1`} {
		if _, err := pyExpand(re, tmpl, "a", m); err == nil {
			t.Errorf("%s: want error", tmpl)
		}
	}
	// An unmatched group expands to "" (Python 3.5+).
	if got, err := pyExpand(re, `[\g<n>]\1`, "a", m); err != nil || got != "[]a" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := compilePy(`(?<=x)y`, false); err == nil || !strings.Contains(err.Error(), "RE2") {
		t.Errorf("look-behind: want RE2 error, got %v", err)
	}
}
