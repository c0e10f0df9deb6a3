// Package golden holds the golden-file helpers every test shares: File
// compares output with a recorded file; Diff records the unified diff an
// edit makes, so a reviewer sees exactly what changed. `go test ./pkg
// -update` rewrites the files (the one -update flag of every package that
// imports this one). Used by tests only; it writes only the golden files.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Updating reports whether the run rewrites golden files (-update).
func Updating() bool { return *update }

// File compares got with the file at path, or writes got there (creating
// its directory) under -update.
func File(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if the change is meant):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

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
	File(t, filepath.Join("testdata", name+".golden"), []byte(diff))
}
