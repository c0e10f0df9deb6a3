package transport

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOverlayKinds: planned links, directories and recursive removals read
// back as a real run would leave them.
func TestOverlayKinds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	real := filepath.Join(dir, "real.conf")
	if err := os.WriteFile(real, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(dir, "data", "f")
	if err := os.WriteFile(child, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ov := NewOverlay()
	ro := ReadOnly(Local(), ov)
	link := filepath.Join(dir, "link.conf")
	newDir := filepath.Join(dir, "new")
	ov.Add(PlannedFile{Path: link, Kind: PlannedLink, LinkTarget: "real.conf"},
		PlannedFile{Path: newDir, Kind: PlannedDir, Mode: 0o750},
		PlannedFile{Path: filepath.Join(dir, "data"), Removed: true})

	fi, err := ro.Stat(ctx, link)
	if err != nil || fi.Mode&fs.ModeSymlink == 0 || fi.LinkTarget != "real.conf" {
		t.Fatalf("link: %+v %v", fi, err)
	}
	if data, err := ro.ReadFile(ctx, link); err != nil || string(data) != "a\n" {
		t.Fatalf("read through planned link: %q %v", data, err)
	}
	if fi, err := ro.Stat(ctx, newDir); err != nil || !fi.IsDir() || fi.Mode.Perm() != 0o750 {
		t.Fatalf("dir: %+v %v", fi, err)
	}
	if _, err := ro.Stat(ctx, filepath.Join(newDir, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("child of planned dir: %v", err)
	}
	if _, err := ro.Stat(ctx, child); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("child of removed dir: %v", err)
	}
	// Planned again after the removal: visible.
	ov.Add(PlannedFile{Path: filepath.Join(dir, "data"), Kind: PlannedDir}, PlannedFile{Path: child, Content: []byte("y")})
	if data, err := ro.ReadFile(ctx, child); err != nil || string(data) != "y" {
		t.Fatalf("re-planned child: %q %v", data, err)
	}
	if _, ok := PlannedState(ro, "service:pg"); ok || Planning(Local()) {
		t.Fatal("state before set / Planning on a writable conn")
	}
	ov.SetState("service:pg", "started")
	if v, ok := PlannedState(ro, "service:pg"); !ok || v != "started" || !Planning(ro) {
		t.Fatalf("state %q %v", v, ok)
	}
}
