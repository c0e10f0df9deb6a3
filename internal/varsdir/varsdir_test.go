package varsdir

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A folder is read as Ansible's host_group_vars plugin reads it: sorted,
// hidden files, backups and other extensions left out, sub-folders without
// an extension walked.
func TestFilesListsAFolderAsAnsibleReadsIt(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.yml", "a.json", "c", ".hidden.yml", "d.yml~", "e.txt", "sub/x.yaml", "sub.d/y.yml"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("k: v\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, p := range got {
		r, _ := filepath.Rel(dir, p)
		rel = append(rel, r)
	}
	if want := []string{"a.json", "b.yml", "c", "sub/x.yaml"}; !reflect.DeepEqual(rel, want) {
		t.Errorf("got %v, want %v", rel, want)
	}
}
