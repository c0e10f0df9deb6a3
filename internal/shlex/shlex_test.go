package shlex

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

// TestSplitMatchesPythonShlex pins Split and SplitComments to Python's
// shlex.split, recorded in testdata/python-shlex.json (regenerate with the
// script in testdata/README).
func TestSplitMatchesPythonShlex(t *testing.T) {
	raw, err := os.ReadFile("testdata/python-shlex.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Cases []struct {
			In       string `json:"in"`
			Split    any    `json:"split"`
			Comments any    `json:"comments"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Cases) < 30 {
		t.Fatalf("only %d recorded cases", len(rec.Cases))
	}
	for _, c := range rec.Cases {
		check(t, "Split", c.In, c.Split, Split)
		check(t, "SplitComments", c.In, c.Comments, SplitComments)
	}
}

func check(t *testing.T, name, in string, want any, split func(string) ([]string, error)) {
	t.Helper()
	got, err := split(in)
	if msg, isErr := want.(string); isErr {
		if err == nil || "error: "+capital(err.Error()) != msg {
			t.Errorf("%s(%q) = %q, %v; Python: %s", name, in, got, err, msg)
		}
		return
	}
	if err != nil {
		t.Errorf("%s(%q): %v; Python: %q", name, in, err, want)
		return
	}
	wantWords := []string{}
	for _, w := range want.([]any) {
		wantWords = append(wantWords, w.(string))
	}
	if got == nil {
		got = []string{}
	}
	if !reflect.DeepEqual(got, wantWords) {
		t.Errorf("%s(%q) = %q; Python: %q", name, in, got, wantWords)
	}
}

func capital(s string) string { return string(s[0]-'a'+'A') + s[1:] }

func TestSplitShellReadsPlainWordsOnly(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  error
	}{
		{in: `cat '/etc/a b' "x\$y" z\ w`, want: []string{"cat", "/etc/a b", "x$y", "z w"}},
		{in: "a \\\nb", want: []string{"a", "b"}},
		{in: `"a\qb"`, want: []string{`a\qb`}},
		{in: `'$HOME' '|'`, want: []string{"$HOME", "|"}},
		{in: "a; b", err: ErrShellSyntax},
		{in: "a | b", err: ErrShellSyntax},
		{in: "a > f", err: ErrShellSyntax},
		{in: "echo $HOME", err: ErrShellSyntax},
		{in: `echo "$HOME"`, err: ErrShellSyntax},
		{in: "echo `id`", err: ErrShellSyntax},
		{in: "(a)", err: ErrShellSyntax},
		{in: `"open`, err: ErrNoClosingQuote},
	} {
		got, err := SplitShell(c.in)
		if !errors.Is(err, c.err) || (c.err == nil && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("SplitShell(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}
