package transport

// Faults a write meets on real hosts (OpenSSH sshd and sftp-server on a lab
// host): a connection dropped in the middle of a large write, and a full
// file system. Skips without a lab, fails when CI is set.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// cutProxy forwards TCP connections to addr and, once armed, closes a
// connection underneath both ends after it has carried after more bytes
// from the client: what a network drop looks like to ssh and sshd.
type cutProxy struct {
	ln    net.Listener
	addr  string
	after atomic.Int64 // 0: not armed
	sent  atomic.Int64
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, addr string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, addr: addr}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.addr)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(c, s); c.Close(); s.Close() }()
		go func() { defer p.wg.Done(); p.upstream(c, s); c.Close(); s.Close() }()
	}
}

// upstream copies client bytes to the server until the cut.
func (p *cutProxy) upstream(c, s net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if a := p.after.Load(); a > 0 && p.sent.Add(int64(n)) > a {
				return
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// dialThrough dials h through the proxy, checking h's real host key
// under the proxy's address.
func dialThrough(t *testing.T, l *lab.Lab, h lab.Host, p *cutProxy) *SSHConn {
	t.Helper()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte("[127.0.0.1]:"+strconv.Itoa(p.port())+" "+h.HostKeyPub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dialLabAt(t, l, h, "127.0.0.1", p.port(), kh)
}

// labDir makes a fresh directory on the lab host (this machine), owned by
// owner, removed when the test ends.
func labDir(t *testing.T, owner string) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "sshplay-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if out, err := exec.Command("chown", owner+":", d).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v %s", d, err, out)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// tempDirsIn lists the write private directories in dir.
func tempDirsIn(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if isTempDirName(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func TestLabWriteCutMidTransferIsSweptByALaterConnection(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	ctx := context.Background()
	dir := labDir(t, "sshplay")
	proxy := newCutProxy(t, net.JoinHostPort(h.Addr, "22"))
	c := dialThrough(t, l, h, proxy)
	if _, err := c.Run(ctx, "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	proxy.after.Store(4 << 20)
	start := time.Now()
	err := c.WriteFile(ctx, filepath.Join(dir, "big.bin"), bytes.Repeat([]byte("0123456789abcdef"), 2<<20), WriteOptions{})
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("write over a cut connection: %v, want the host unreachable", err)
	}
	t.Logf("cut after %s: %v", time.Since(start).Round(time.Millisecond), err)

	// The write could not clean up: its private directory and the partial
	// file are on the host.
	left := tempDirsIn(t, dir)
	if len(left) != 1 {
		t.Fatalf("want the cut write's private directory in %s, found %v", dir, left)
	}
	// Another user's old leftover is not ours to remove.
	foreign := filepath.Join(dir, ".sshplay-00000000beef")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}

	// A later connection writing there while the leftover is young keeps
	// it: it may be a write in progress.
	if err := dialLabHost(t, l, h).WriteFile(ctx, filepath.Join(dir, "a.conf"), []byte("a\n"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := tempDirsIn(t, dir); len(got) != 2 {
		t.Fatalf("a young leftover was removed: %v", got)
	}
	// An hour later, the next connection's first write there sweeps it.
	old := time.Now().Add(-leftoverAge - time.Minute)
	filepath.WalkDir(left[0], func(p string, _ fs.DirEntry, _ error) error { return os.Chtimes(p, old, old) })
	os.Chtimes(foreign, old, old)
	if err := dialLabHost(t, l, h).WriteFile(ctx, filepath.Join(dir, "a.conf"), []byte("b\n"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := tempDirsIn(t, dir); len(got) != 1 || got[0] != foreign {
		t.Errorf("after the sweep %s holds %v, want only root's %s", dir, got, foreign)
	}
}

// mountSmall mounts a tmpfs of size bytes on a fresh directory owned by
// owner and unmounts it when the test ends.
func mountSmall(t *testing.T, owner string, size int) string {
	t.Helper()
	d := labDir(t, owner)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+",mode=0755", "tmpfs", d).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", d).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", d, err, out)
		}
	})
	if out, err := exec.Command("chown", owner+":", d).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v %s", d, err, out)
	}
	return d
}

// fillTo leaves about free bytes free in dir with a root-owned filler.
func fillTo(t *testing.T, dir string, free uint64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := st.Bavail * uint64(st.Bsize)
	if avail <= free {
		t.Fatalf("%s has only %d bytes free", dir, avail)
	}
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, avail-free), 0o600); err != nil {
		t.Fatal(err)
	}
	return filler
}

func TestLabWriteToFullDiskSaysNoSpaceAndLeavesNothing(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	ctx := context.Background()
	dir := mountSmall(t, "sshplay", 256<<10)
	c := dialLabHost(t, l, h)
	live := filepath.Join(dir, "app.conf")
	if err := c.WriteFile(ctx, live, bytes.Repeat([]byte("live\n"), 1000), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	fillTo(t, dir, 16<<10)

	err := c.WriteFile(ctx, live, bytes.Repeat([]byte("new!\n"), 10000), WriteOptions{})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "host "+h.Name+": write "+live+": no space left on device: "+dir+" has ") {
		t.Fatalf("write to a full disk: %v, want no space left on device naming the file and %s", err, dir)
	}
	if got := tempDirsIn(t, dir); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if b, _ := os.ReadFile(live); !bytes.Equal(b, bytes.Repeat([]byte("live\n"), 1000)) {
		t.Errorf("the live file changed (%d bytes)", len(b))
	}

	// What OpenSSH's sftp-server says when a write meets ENOSPC, which
	// the check above spares the write: only SSH_FX_FAILURE. A write that
	// gets it anyway (the disk filled up meanwhile) is explained by
	// statvfs.
	fsys, err := c.fs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "raw.bin")
	f, err := fsys.(sftpFS).c.OpenFile(raw, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := f.Write(make([]byte, 64<<10))
	f.Close()
	fsys.remove(raw)
	var se *sftp.StatusError
	if !errors.As(werr, &se) || se.FxCode() != sftp.ErrSSHFxFailure {
		t.Fatalf("premise: sftp-server reports ENOSPC as SSH_FX_FAILURE, got %v", werr)
	}
	w := &atomicWrite{fsys: fsys, dst: live, data: make([]byte, 64<<10)}
	if err := w.explain(dir+"/", werr); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("explained as %v", err)
	}
}
