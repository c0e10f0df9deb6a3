package yamlx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// pyyamlRow is one shifted line of testdata/syntax/base.yml and where
// PyYAML placed the error (record.py): At its problem mark, Context its
// context mark, when it has one.
type pyyamlRow struct {
	Line, Shift int
	At, Context [2]int
	Problem     string
}

// shiftLine returns text with its 1-based line n moved right by d spaces
// (left when d is negative), as record.py does.
func shiftLine(text string, n, d int) string {
	lines := strings.Split(text, "\n")
	if d < 0 {
		lines[n-1] = lines[n-1][-d:]
	} else {
		lines[n-1] = strings.Repeat(" ", d) + lines[n-1]
	}
	return strings.Join(lines, "\n")
}

// syntaxAt parses text and returns the placed syntax error.
func syntaxAt(t *testing.T, text string) *Error {
	t.Helper()
	_, err := Parse(context.Background(), "f.yml", []byte(text))
	if err == nil {
		t.Fatalf("parsed, want a syntax error:\n%s", text)
	}
	return SyntaxError(context.Background(), "f.yml", []byte(text), err)
}

func TestSyntaxErrorsPlacedWherePyYAMLPlacesThem(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("testdata/syntax/base.yml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/syntax/pyyaml.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Rows []pyyamlRow }
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Rows) < 100 {
		t.Fatalf("%d recorded rows, want the full record", len(rec.Rows))
	}
	for _, r := range rec.Rows {
		e := syntaxAt(t, shiftLine(string(base), r.Line, r.Shift))
		want := r.At
		if r.Problem == "could not find expected ':'" {
			// PyYAML's problem mark is wherever its scanner gave up on
			// the key, often a later line; the key is where to look.
			want = r.Context
		}
		if e.Line != want[0] || e.Col != want[1] {
			t.Errorf("line %d shifted %+d: placed at %d:%d (%s), PyYAML at %d:%d (%s)",
				r.Line, r.Shift, e.Line, e.Col, e.Msg, want[0], want[1], r.Problem)
		}
	}
}

func TestSyntaxErrorNamesTheBadTokenNotTheBlockItBreaks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, at, msg string }{
		{"key indented one more", "- hosts: all\n  tasks:\n    - name: one\n      command: echo 1\n    - name: two\n       command: echo 2\n",
			"6:15", "mapping values are not allowed in this context"},
		{"key indented one less", "- hosts: all\n  tasks:\n    - name: one\n      command: echo 1\n    - name: two\n     command: echo 2\n",
			"6:6", "did not find expected '-' indicator"},
		{"block value at the wrong column", "- hosts: all\n  tasks:\n    - name: one\n      copy:\n        dest: /tmp/x\n       content: hi\n",
			"6:8", "did not find expected key"},
		{"task dash one less", "- hosts: all\n  tasks:\n    - name: one\n      command: echo 1\n   - name: two\n      command: echo 2\n",
			"5:4", "did not find expected key"},
		{"flow list broken by the next key", "- hosts: all\n  vars:\n    x: [1, 2\n  tasks:\n    - command: echo 1\n",
			"4:8", "did not find expected ',' or ']'"},
		{"quote never closed", "- hosts: all\n  tasks:\n    - name: \"one\n      command: echo 1\n",
			"3:13", "found unexpected end of stream"},
		{"tab in indentation", "a:\n  b: 1\n\tc: 2\n", "3:1", "found a tab character that violates indentation"},
		{"key with no colon", "a:\n  b: 1\n  c\n  d: 2\n", "3:3", "could not find expected ':'"},
		{"multi-byte text before the error", "- name: café ☕\n   x: 1\n", "2:5", "mapping values are not allowed in this context"},
	} {
		e := syntaxAt(t, tc.text)
		if got := fmt.Sprintf("%d:%d", e.Line, e.Col); got != tc.at || e.Msg != tc.msg {
			t.Errorf("%s: %s: %s, want %s: %s", tc.name, got, e.Msg, tc.at, tc.msg)
		}
	}
}

func TestSyntaxErrorStopsSearchingOnceCancelled(t *testing.T) {
	t.Parallel()
	text := "a:\n  b: 1\n" + strings.Repeat("  c: [1, 2]\n", 2000) + "   d: 3\n"
	_, err := Parse(context.Background(), "f.yml", []byte(text))
	if err == nil {
		t.Fatal("parsed, want a syntax error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := SyntaxError(ctx, "f.yml", []byte(text), err)
	if line, _ := syntaxMessage(err); e.Line != line || e.Col != 1 {
		t.Errorf("cancelled: placed at %d:%d, want yaml.v3's line %d, column 1", e.Line, e.Col, line)
	}
	if e2 := SyntaxError(context.Background(), "f.yml", []byte(text), err); e2.Line != 2003 || e2.Col != 4 {
		t.Errorf("placed at %d:%d, want 2003:4", e2.Line, e2.Col)
	}
}

// FuzzSyntaxErrorPointsIntoTheText: every syntax error is placed on a
// character of the text (or just past its end, for an error at the end),
// with yaml.v3's message.
func FuzzSyntaxErrorPointsIntoTheText(f *testing.F) {
	for _, s := range []string{
		"a: b: c\n", "- a\n b: 1\n", "a:\n  b: 1\n c: 2\n", "x: [1, 2\ny: 3\n", "k: \"open\n",
		"a:\n\tb: 1\n", "- name: x\n   y: 1\n", "{a: 1, b\n", "a: 1\n---\nb: 1\n  c: 2\n", "é: ☕: x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		dec := NewDecoder(context.Background(), "f.yml", []byte(src))
		var err error
		for err == nil {
			var doc yaml.Node
			err = dec.dec.Decode(&doc)
		}
		if err == io.EOF {
			return
		}
		e := SyntaxError(context.Background(), "f.yml", []byte(src), err)
		lines := strings.Split(src, "\n")
		if e.Line < 1 || e.Line > len(lines) || e.Col < 1 || e.Col > utf8.RuneCountInString(lines[e.Line-1])+1 {
			t.Fatalf("%v: outside the text", e)
		}
		if _, msg := syntaxMessage(err); e.Msg != msg {
			t.Fatalf("message %q, yaml.v3 said %q", e.Msg, msg)
		}
	})
}
