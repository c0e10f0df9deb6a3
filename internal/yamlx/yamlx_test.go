package yamlx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/ctxtest"
	"github.com/sshplay/sshplay/internal/yamlx/yamlxtest"
)

// firstAt returns the 1-based line and column of the first occurrence of
// s in text.
func firstAt(t *testing.T, text, s string) (line, col int) {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not in text", s)
	}
	line = strings.Count(text[:i], "\n") + 1
	return line, i - strings.LastIndex(text[:i], "\n")
}

func TestBillionLaughsRefusedAtTheAliasThatCrossesTheLimit(t *testing.T) {
	t.Parallel()
	text := yamlxtest.Laughs(9, "")
	_, err := Parse(context.Background(), "bomb.yml", []byte(text))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	// Levels 1-5 add 672,588 nodes; the first alias to l5 (597,871 nodes)
	// crosses the limit.
	line, col := firstAt(t, text, "*l5")
	if e.File != "bomb.yml" || e.Line != line || e.Col != col {
		t.Errorf("refused at %s:%d:%d, want bomb.yml:%d:%d", e.File, e.Line, e.Col, line, col)
	}
	want := fmt.Sprintf("bomb.yml:%d:%d: excessive aliasing: alias *l5 expands the document by more than 1000000 nodes", line, col)
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	if !e.BadInput() {
		t.Error("a refused document must be bad input")
	}
}

func TestLimitCountsOnlyNodesAddedByAliases(t *testing.T) {
	t.Parallel()
	// An anchored list of 999 scalars is 1,000 nodes; a thousand aliases
	// to it add exactly the limit, one more crosses it. The 5,000 nodes
	// written out in full do not count.
	base := "a: &a [" + strings.TrimSuffix(strings.Repeat("x,", 999), ",") + "]\n" +
		"c: [" + strings.TrimSuffix(strings.Repeat("y,", 5000), ",") + "]\n"
	at := func(n int) string {
		return base + "b: [" + strings.TrimSuffix(strings.Repeat("*a,", n), ",") + "]\n"
	}
	if _, err := Parse(context.Background(), "f.yml", []byte(at(1000))); err != nil {
		t.Errorf("aliases adding exactly %d nodes: %v", MaxAliasNodes, err)
	}
	var e *Error
	if _, err := Parse(context.Background(), "f.yml", []byte(at(1001))); !errors.As(err, &e) {
		t.Errorf("aliases adding %d nodes: want *Error, got %v", MaxAliasNodes+1000, err)
	}
}

func TestAliasInsideTheNodeItNamesRefused(t *testing.T) {
	t.Parallel()
	text := "a: &a [x, {y: *a}]\n"
	_, err := Parse(context.Background(), "loop.yml", []byte(text))
	var e *Error
	line, col := firstAt(t, text, "*a")
	if !errors.As(err, &e) || e.Line != line || e.Col != col || !strings.Contains(e.Msg, "inside the node it names") {
		t.Errorf("want an *Error at 1:%d, got %v", col, err)
	}
}

func TestAliasToAnEarlierDocumentIsFollowed(t *testing.T) {
	t.Parallel()
	text := "--- &a [" + strings.TrimSuffix(strings.Repeat("x,", 99), ",") + "]\n--- [*a, *a]\n"
	d := NewDecoder(context.Background(), "s.yml", []byte(text))
	for i := 0; i < 2; i++ {
		if _, err := d.Decode(); err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
	}
}

func TestSyntaxErrorsAreYAMLs(t *testing.T) {
	t.Parallel()
	_, err := Parse(context.Background(), "bad.yml", []byte("a: [1, 2\n"))
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.HasPrefix(err.Error(), "yaml: ") {
		t.Errorf("want yaml.v3's own syntax error, got %v", err)
	}
	if doc, err := Parse(context.Background(), "empty.yml", nil); doc != nil || err != nil {
		t.Errorf("empty input: %v, %v", doc, err)
	}
}

// largeDocument is legal YAML of about 400 KB: 20,000 short mappings.
func largeDocument() []byte {
	var b strings.Builder
	for i := 0; i < 20_000; i++ {
		fmt.Fprintf(&b, "- {name: host%d, port: %d}\n", i, 5000+i)
	}
	return []byte(b.String())
}

func TestCancelStopsTheParseOfALargeDocument(t *testing.T) {
	t.Parallel()
	data := largeDocument()
	full := ctxtest.New(0)
	if _, err := Parse(full, "big.yml", data); err != nil {
		t.Fatal(err)
	}
	// Cancelled while reading or while counting, the parse returns the
	// context's error after at most a couple more looks at it.
	for _, at := range ctxtest.CutPoints(full.Looks()) {
		ctx := ctxtest.New(at)
		_, err := Parse(ctx, "big.yml", data)
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "big.yml: ") {
			t.Errorf("cancelled at look %d of %d: got %v", at, full.Looks(), err)
		}
		if after := ctx.Looks() - at; after > 2 {
			t.Errorf("cancelled at look %d: the parse looked %d more times", at, after)
		}
	}
}
