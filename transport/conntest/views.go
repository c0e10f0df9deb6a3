package conntest

// The contract of Host, Become, Close, read-only views and concurrent use.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sshplay/sshplay/transport"
)

func viewTests() []contractTest {
	return []contractTest{
		{"Host/is the same for every view", 0, hostSameForViews},
		{"Become/root runs commands as root", needBecome, becomeRootRuns},
		{"Become/zero value gives back the login user", needBecome, becomeZeroIsLogin},
		{"Become/root owns the files it creates", needWrite | needBecome, becomeRootWrites},
		{"Become/unknown user fails on first use with a BecomeError", needBecome, becomeUnknownUser},
		{"ReadOnly/every write fails with ErrReadOnly and changes nothing", needReadOnly, readOnlyRefusesWrites},
		{"Concurrency/one Conn serves many goroutines", 0, concurrentUse},
		{"Close/returns nil", 0, closeReturnsNil},
	}
}

func hostSameForViews(t *testing.T, f *fixture) {
	h := f.Conn.Host()
	if h == "" {
		t.Fatal("Host() is empty")
	}
	for _, b := range []transport.Become{{}, {Enabled: true}, {Enabled: true, User: f.User}} {
		if got := f.Conn.Become(b).Host(); got != h {
			t.Errorf("Become(%+v).Host() = %q, want %q", b, got, h)
		}
	}
}

// whoami is the user c runs commands as.
func (f *fixture) whoami(c transport.Conn) string {
	f.t.Helper()
	res, err := c.Run(f.ctx, "id -un", transport.RunOptions{})
	if err != nil {
		f.t.Fatalf("id -un: %v", err)
	}
	return strings.TrimSpace(string(res.Stdout))
}

func becomeRootRuns(t *testing.T, f *fixture) {
	if u := f.whoami(f.root()); u != "root" {
		t.Errorf("Become root runs as %q", u)
	}
	if u := f.whoami(f.Conn.Become(transport.Become{Enabled: true, User: "root"})); u != "root" {
		t.Errorf("Become User root runs as %q", u)
	}
	if u := f.whoami(f.Conn); u != f.User {
		t.Errorf("the Conn itself runs as %q after Become, want %s", u, f.User)
	}
}

func becomeZeroIsLogin(t *testing.T, f *fixture) {
	for _, b := range []transport.Become{{}, {User: "root"}} {
		if u := f.whoami(f.root().Become(b)); u != f.User {
			t.Errorf("Become root then Become(%+v) runs as %q, want the login user %s", b, u, f.User)
		}
	}
}

func becomeRootWrites(t *testing.T, f *fixture) {
	p := f.path("root.conf")
	if err := f.root().WriteFile(f.ctx, p, []byte("r"), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi := f.wantFile(p, "r", 0o644); fi.Owner != "root" || fi.UID != 0 {
		t.Errorf("owner %s (%d), want root (0)", fi.Owner, fi.UID)
	}
}

// becomeUnknownUser: Become itself runs nothing; sudo's refusal shows on
// the view's first Run as a *BecomeError, and on a file operation as one
// wrapped with the operation and path.
func becomeUnknownUser(t *testing.T, f *fixture) {
	p := f.put("app.conf", "x", 0o644)
	v := f.Conn.Become(transport.Become{Enabled: true, User: "sshplay-no-such-user"})
	var be *transport.BecomeError
	_, err := v.Run(f.ctx, "true", transport.RunOptions{})
	if !errors.As(err, &be) || be.Host != f.Conn.Host() || be.User != "sshplay-no-such-user" {
		t.Errorf("Run: want a *BecomeError for sshplay-no-such-user on %s, got %v", f.Conn.Host(), err)
	}
	_, err = v.ReadFile(f.ctx, p)
	if !errors.As(err, &be) || !strings.Contains(err.Error(), p) {
		t.Errorf("ReadFile: want a *BecomeError wrapped with the path, got %v", err)
	}
	f.namesHost("become an unknown user", err)
}

func readOnlyRefusesWrites(t *testing.T, f *fixture) {
	kept := f.put("kept.conf", "kept\n", 0o644)
	views := map[string]transport.Conn{"the Conn": f.Conn, "Become{}": f.Conn.Become(transport.Become{})}
	if f.Become {
		views["Become root"] = f.root()
	}
	for name, c := range views {
		for what, err := range map[string]error{
			"write a new file":    c.WriteFile(f.ctx, f.path("new.conf"), []byte("x"), transport.WriteOptions{}),
			"write over a file":   c.WriteFile(f.ctx, kept, []byte("x"), transport.WriteOptions{Mode: 0o600}),
			"remove a file":       c.Remove(f.ctx, kept),
			"remove missing path": c.Remove(f.ctx, f.path("missing")),
		} {
			if !errors.Is(err, transport.ErrReadOnly) {
				t.Errorf("%s: %s: want ErrReadOnly, got %v", name, what, err)
			}
			f.namesHost(what, err)
		}
	}
	f.wantFile(kept, "kept\n", 0o644)
	f.onlyEntries("kept.conf")
}

// concurrentUse: a Conn is safe for concurrent use; runs, reads and (when
// writable) writes from several goroutines all get their own answers.
func concurrentUse(t *testing.T, f *fixture) {
	shared := f.put("shared.conf", "shared\n", 0o644)
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.work(i, shared)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// work is one goroutine of concurrentUse.
func (f *fixture) work(i int, shared string) error {
	res, err := f.Conn.Run(f.ctx, fmt.Sprintf("echo %d", i), transport.RunOptions{})
	if err != nil || string(res.Stdout) != fmt.Sprintf("%d\n", i) {
		return fmt.Errorf("worker %d: run: %v", i, err)
	}
	if b, err := f.Conn.ReadFile(f.ctx, shared); err != nil || string(b) != "shared\n" {
		return fmt.Errorf("worker %d: read %q: %v", i, b, err)
	}
	if fi, err := f.Conn.Stat(f.ctx, shared); err != nil || fi.Size != 7 {
		return fmt.Errorf("worker %d: stat %+v: %v", i, fi, err)
	}
	if f.ReadOnly {
		return nil
	}
	own := f.path(fmt.Sprintf("own-%d", i))
	data := fmt.Sprintf("worker %d\n", i)
	if err := f.Conn.WriteFile(f.ctx, own, []byte(data), transport.WriteOptions{}); err != nil {
		return fmt.Errorf("worker %d: write: %v", i, err)
	}
	if b, err := f.Conn.ReadFile(f.ctx, own); err != nil || string(b) != data {
		return fmt.Errorf("worker %d: read own %q: %v", i, b, err)
	}
	return f.Conn.Remove(f.ctx, own)
}

func closeReturnsNil(t *testing.T, f *fixture) {
	if _, err := f.Conn.Run(f.ctx, "true", transport.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Conn.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
