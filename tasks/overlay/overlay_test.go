package overlay

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/transport"
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
	ro := View(transport.Local(), ov)
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
	if _, ok := PlannedState(ro, "service:pg"); ok || len(PendingStates(ro)) != 0 {
		t.Fatal("state before set")
	}
	ov.SetState("service:pg", "started")
	if v, ok := PlannedState(ro, "service:pg"); !ok || v != "started" {
		t.Fatalf("state %q %v", v, ok)
	}
	if got := PendingStates(ro.Become(transport.Become{Enabled: true})); len(got) != 1 || got[0] != "service:pg" {
		t.Fatalf("pending states through Become: %v", got)
	}
}

// TestPendingPath: a path is pending when it, a directory above it or an
// entry below it is planned; nothing is pending on a writable Conn, on a
// view without an overlay, or on a view whose overlay plans elsewhere (a
// real run), whatever else is planned.
func TestPendingPath(t *testing.T) {
	ov := NewOverlay()
	ov.Add(PlannedFile{Path: "/srv/new", Kind: PlannedDir},
		PlannedFile{Path: "/etc/app/app.conf", Pending: true},
		PlannedFile{Path: "/var/old", Removed: true})
	ov.SetState("service:pg", "started")
	ro := View(transport.Local(), ov)
	for p, want := range map[string]bool{
		"/srv/new":           true, // planned itself
		"/srv/new/sub/x":     true, // below a planned directory
		"/srv":               true, // a planned entry below it
		"/etc/app/":          true, // not clean: still the parent of a planned file
		"/etc/app/app.conf":  true,
		"/var/old/f":         true,  // below a planned removal
		"/srv/newer":         false, // a sibling sharing a prefix
		"/etc/app/other":     false,
		"/etc/postgresql/15": false,
	} {
		if got := PendingPath(ro, p); got != want {
			t.Errorf("PendingPath(%s) = %v, want %v", p, got, want)
		}
	}
	if !PendingPath(View(transport.Local(), ov).Become(transport.Become{Enabled: true}), "/srv/new/x") {
		t.Error("Become view lost the overlay")
	}
	for name, c := range map[string]transport.Conn{"writable": transport.Local(), "no overlay": View(transport.Local(), nil), "empty overlay": View(transport.Local(), NewOverlay())} {
		if PendingPath(c, "/srv/new") || PendingPath(c, "/") || len(PendingStates(c)) != 0 {
			t.Errorf("%s: something pending", name)
		}
	}
	root := NewOverlay()
	root.Add(PlannedFile{Path: "/", Kind: PlannedDir})
	if !PendingPath(View(transport.Local(), root), "/etc") {
		t.Error("below a planned /")
	}
}

// TestPlannedPathsAnswerAsTheHostWould: errors about planned paths name the
// host and wrap fs errors, and a planned link's size is its target's
// length, as every transport.Conn answers (see transport/conntest).
func TestPlannedPathsAnswerAsTheHostWould(t *testing.T) {
	ctx := context.Background()
	ov := NewOverlay()
	ov.Add(PlannedFile{Path: "/srv/gone", Removed: true},
		PlannedFile{Path: "/srv/key", Pending: true},
		PlannedFile{Path: "/srv/link", Kind: PlannedLink, LinkTarget: "target.conf"})
	v := View(transport.NewLocalConn("db7"), ov)
	for _, c := range []struct {
		err  error
		want error
	}{
		{err: second(v.ReadFile(ctx, "/srv/gone")), want: fs.ErrNotExist},
		{err: second(v.Stat(ctx, "/srv/gone")), want: fs.ErrNotExist},
		{err: second(v.ReadFile(ctx, "/srv/key")), want: ErrPending},
	} {
		var pe *fs.PathError
		if !errors.Is(c.err, c.want) || !errors.As(c.err, &pe) || !strings.HasPrefix(c.err.Error(), "host db7: ") {
			t.Errorf("error %v: want host db7, an *fs.PathError wrapping %v", c.err, c.want)
		}
	}
	fi, err := v.Stat(ctx, "/srv/link")
	if err != nil || fi.Size != int64(len("target.conf")) {
		t.Fatalf("planned link: %+v, %v; want size %d", fi, err, len("target.conf"))
	}
}

func second[T any](_ T, err error) error { return err }
