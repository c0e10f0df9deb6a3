// Package conntest is the one set of tests every transport.Conn must pass,
// as database/sql drivers share one test kit: the SSH connection, the local
// one, the read-only and traced views, the engine's planning view and the
// in-memory test host are all held to the contract documented on
// transport.Conn by the same tests, so a module that works on one works on
// all of them.
//
// An implementation's test calls Run with a Harness that opens a fresh Conn
// and a scratch directory on its host and says what the Conn can do. Run
// runs every contract test that applies, each as a parallel subtest.
//
// conntest never touches anything on a host outside the scratch directory
// the harness gives it (it only reads /proc, to see that a cancelled
// command's processes are gone), and it is for tests only.
package conntest

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// Harness opens the Conn under test and says what it can do.
type Harness struct {
	// Open returns a fresh Env for one contract test. It registers with t
	// (t.Cleanup) whatever ends it: closing the Conn (which the test may
	// already have closed) and removing the scratch directory. Open is
	// called from parallel subtests, so it must be safe for concurrent use.
	Open func(t *testing.T) Env
	// ReadOnly says every write through the Conn fails with
	// transport.ErrReadOnly; the tests then prepare their files through
	// Env.Setup and check that writes change nothing.
	ReadOnly bool
	// Become says Become{Enabled: true} reaches root on the host.
	Become bool
	// Shell says Run hands its line to a real /bin/sh (pipes,
	// redirections, $0, background jobs, processes that can be killed);
	// false for a stand-in host that interprets a few plain commands.
	Shell bool
	// User is the login user's name: the owner of a file Conn creates.
	User string
	// Other names another user of the host that has a group of the same
	// name, for the owner and group tests; "" leaves them out.
	Other string
}

// Env is one Conn under test and its scratch directory.
type Env struct {
	// Conn is the connection under test.
	Conn transport.Conn
	// Setup is a writable Conn to the same host, as the same login user,
	// through which the tests prepare files and look at the result; nil
	// means Conn, which must then be writable. Its writes need only
	// follow the contract's basics: WriteFile with a mode, and Run with
	// the plain commands mkdir, ln -s and find -printf.
	Setup transport.Conn
	// Dir is an absolute path on the host: an empty directory the login
	// user may write in.
	Dir string
}

// deadlockGuard bounds waits that should end promptly; a guard against
// hangs, not a speed check.
const deadlockGuard = 30 * time.Second

// need is what a contract test requires of the Conn under test.
type need uint8

const (
	needWrite        need = 1 << iota // writes succeed
	needReadOnly                      // writes fail with ErrReadOnly
	needBecome                        // Become reaches root
	needShell                         // Run is a real shell
	needOther                         // Harness.Other is set
	needUnprivileged                  // the login user is not root
)

// contractTest is one behaviour of the contract.
type contractTest struct {
	name  string
	needs need
	run   func(t *testing.T, f *fixture)
}

// contract lists every contract test, grouped by method; see the files
// run.go, read.go, write.go and views.go.
func contract() []contractTest {
	var all []contractTest
	for _, group := range [][]contractTest{runTests(), readTests(), writeTests(), removeTests(), viewTests()} {
		all = append(all, group...)
	}
	return all
}

// Run runs every contract test that applies to h as a parallel subtest of
// t, named after the behaviour it checks ("ReadFile/missing file is
// fs.ErrNotExist"). Tests the Conn cannot take (a write on a read-only
// view, Become without root) are left out, not skipped.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil || h.User == "" {
		t.Fatal("conntest: Harness needs Open and User")
	}
	for _, ct := range contract() {
		if !h.offers(ct.needs) {
			continue
		}
		t.Run(ct.name, func(t *testing.T) {
			t.Parallel()
			ct.run(t, open(t, h))
		})
	}
}

// offers reports whether h's Conn can take a test that needs n.
func (h Harness) offers(n need) bool {
	switch {
	case n&needWrite != 0 && h.ReadOnly,
		n&needReadOnly != 0 && !h.ReadOnly,
		n&needBecome != 0 && !h.Become,
		n&needShell != 0 && !h.Shell,
		n&needOther != 0 && h.Other == "",
		n&needUnprivileged != 0 && h.User == "root":
		return false
	}
	return true
}

// fixture is one contract test's Env with helpers that prepare and inspect
// files in the scratch directory through Env.Setup.
type fixture struct {
	Env
	Harness
	t   *testing.T
	ctx context.Context
}

func open(t *testing.T, h Harness) *fixture {
	t.Helper()
	e := h.Open(t)
	if e.Setup == nil {
		e.Setup = e.Conn
	}
	if e.Conn == nil || !path.IsAbs(e.Dir) {
		t.Fatalf("conntest: Open returned Conn %v and Dir %q: want a Conn and an absolute Dir", e.Conn, e.Dir)
	}
	return &fixture{Env: e, Harness: h, t: t, ctx: context.Background()}
}

// path is name inside the scratch directory.
func (f *fixture) path(name string) string { return path.Join(f.Dir, name) }

// put writes a file through Setup and returns its path.
func (f *fixture) put(name, data string, mode fs.FileMode) string {
	f.t.Helper()
	p := f.path(name)
	if err := f.Setup.WriteFile(f.ctx, p, []byte(data), transport.WriteOptions{Mode: mode}); err != nil {
		f.t.Fatalf("prepare %s: %v", p, err)
	}
	return p
}

// mkdir makes a directory through Setup and returns its path.
func (f *fixture) mkdir(name string) string {
	f.t.Helper()
	p := f.path(name)
	f.sh("mkdir -- " + shellescape.Quote(p))
	return p
}

// symlink makes a symlink name pointing at target (kept as written)
// through Setup and returns its path.
func (f *fixture) symlink(target, name string) string {
	f.t.Helper()
	p := f.path(name)
	f.sh("ln -s -- " + shellescape.Quote(target) + " " + shellescape.Quote(p))
	return p
}

// sh runs a plain command through Setup and returns its output.
func (f *fixture) sh(cmd string) string {
	f.t.Helper()
	res, err := f.Setup.Run(f.ctx, cmd, transport.RunOptions{})
	if err != nil {
		f.t.Fatalf("prepare: %s: %v", cmd, err)
	}
	return string(res.Stdout)
}

// entries lists everything under the scratch directory, relative and
// sorted ("store", "store/app.conf"), as Setup sees it: what a test left
// there, temporary files included.
func (f *fixture) entries() []string {
	f.t.Helper()
	out := f.sh("find " + shellescape.Quote(f.Dir) + ` -printf '%p\n'`)
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if rel, ok := strings.CutPrefix(l, f.Dir+"/"); ok {
			names = append(names, rel)
		}
	}
	sort.Strings(names)
	return names
}

// onlyEntries fails the test unless the scratch directory holds exactly
// want (relative names, any order): no temporary file left behind.
func (f *fixture) onlyEntries(want ...string) {
	f.t.Helper()
	sort.Strings(want)
	if got := f.entries(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		f.t.Errorf("scratch directory holds %q, want %q", got, want)
	}
}

// content reads a file through Setup; ok is false when it is missing.
func (f *fixture) content(p string) (string, bool) {
	f.t.Helper()
	b, err := f.Setup.ReadFile(f.ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		f.t.Fatalf("read %s back: %v", p, err)
	}
	return string(b), true
}

// stat describes a path through Setup, failing the test when it is missing.
func (f *fixture) stat(p string) *transport.FileInfo {
	f.t.Helper()
	fi, err := f.Setup.Stat(f.ctx, p)
	if err != nil {
		f.t.Fatalf("stat %s: %v", p, err)
	}
	return fi
}

// namesHost fails the test unless err says which host it is about, as
// every error of a Conn must.
func (f *fixture) namesHost(what string, err error) {
	f.t.Helper()
	if err != nil && !strings.Contains(err.Error(), "host "+f.Conn.Host()) {
		f.t.Errorf("%s: error %q does not name host %s", what, err, f.Conn.Host())
	}
}

// root is the Conn under test become root.
func (f *fixture) root() transport.Conn {
	return f.Conn.Become(transport.Become{Enabled: true})
}
