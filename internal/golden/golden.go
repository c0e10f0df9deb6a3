// Package golden holds the golden-file helpers the editor tests share: a
// golden file records the unified diff an edit makes, so a reviewer sees
// exactly what changed. `go test ./pkg -update` rewrites the files.
// Used by tests only; it never touches anything outside testdata/.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Read returns testdata/name.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Diff compares the unified diff from before to after with
// testdata/name.golden (or rewrites it under -update).
func Diff(t testing.TB, name string, before, after []byte) {
	t.Helper()
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(before)), B: difflib.SplitLines(string(after)),
		FromFile: "before", ToFile: "after", Context: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(diff), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff != string(want) {
		t.Errorf("%s: diff differs from golden file.\ngot:\n%s\nwant:\n%s", name, diff, want)
	}
}
