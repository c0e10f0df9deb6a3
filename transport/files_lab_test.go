package transport

// A write's content must never sit in a file that another local user of
// the host could open: checked against a real OpenSSH sftp-server (lab
// host, umask 022) after every single file system call a write makes, and
// by a concurrent poller during a large write. Skips without a lab, fails
// when CI is set.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

func dialLabHost(t *testing.T, l *lab.Lab, h lab.Host) *SSHConn {
	t.Helper()
	return dialLabAt(t, l, h, h.Addr, h.SSHPort, l.KnownHostsFile())
}

// dialLabAt dials lab host h at addr:port (the host itself, or a proxy in
// front of it), checking its host key against knownHosts.
func dialLabAt(t *testing.T, l *lab.Lab, h lab.Host, addr string, port int, knownHosts string) *SSHConn {
	t.Helper()
	vars := map[string]any{
		"ansible_host": addr, "ansible_port": port, "ansible_user": "sshplay",
		"ansible_ssh_private_key_file": l.KeyFile(),
		"ansible_ssh_common_args":      "-o UserKnownHostsFile=" + knownHosts + " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
	}
	tg, warns, err := TargetFromVars(h.Name, vars, Overrides{SSHConfigFile: "none"})
	if err != nil || len(warns) > 0 {
		t.Fatalf("target: %v %q", err, warns)
	}
	tg.AgentSocket = "/nonexistent"
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("dial %s at %s:%d: %v", h.Name, addr, port, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exposure lists, through the SFTP client of another connection, what in
// dir another local user could read: a regular file with group or other
// read bits, directly in dir or in a subdirectory that group or other may
// traverse. A subdirectory's mode is read after its contents, so a
// private directory seen at its umask mode just before its chmod 0700 is
// not taken for one that holds a file at that mode.
func exposure(obs sftpFS, dir string) ([]string, error) {
	ents, err := obs.c.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, e := range ents {
		p := dir + "/" + e.Name()
		switch {
		case e.Mode().IsRegular() && e.Mode().Perm()&0o044 != 0:
			bad = append(bad, fmt.Sprintf("file %s %04o", p, e.Mode().Perm()))
		case e.IsDir():
			in, err := obs.c.ReadDir(p)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				continue
			}
			if err != nil {
				return nil, err
			}
			st, err := obs.c.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if st.Mode().Perm()&0o011 == 0 {
				continue
			}
			for _, f := range in {
				if f.Mode().IsRegular() && f.Mode().Perm()&0o044 != 0 {
					bad = append(bad, fmt.Sprintf("file %s/%s %04o in dir %04o", p, f.Name(), f.Mode().Perm(), st.Mode().Perm()))
				}
			}
		}
	}
	return bad, nil
}

// stepCheckedFS runs check after every call that changes the file system.
type stepCheckedFS struct {
	fileSystem
	check func(op string)
	mu    sync.Mutex // steps may run together (fsync, fchown, fchmod)
	ops   []string
}

func (a *stepCheckedFS) did(op string, err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ops = append(a.ops, op)
	a.check(op)
	return err
}

func (a *stepCheckedFS) mkdir(name string) error { return a.did("mkdir", a.fileSystem.mkdir(name)) }
func (a *stepCheckedFS) rmdir(name string) error { return a.did("rmdir", a.fileSystem.rmdir(name)) }
func (a *stepCheckedFS) chmod(name string, m fs.FileMode) error {
	return a.did(fmt.Sprintf("chmod %04o", m), a.fileSystem.chmod(name, m))
}
func (a *stepCheckedFS) rename(o, n string) error { return a.did("rename", a.fileSystem.rename(o, n)) }
func (a *stepCheckedFS) remove(name string) error { return a.did("remove", a.fileSystem.remove(name)) }
func (a *stepCheckedFS) createExcl(name string) (tempFile, error) {
	f, err := a.fileSystem.createExcl(name)
	a.did("create", err)
	if err != nil {
		return nil, err
	}
	return &stepCheckedFile{tempFile: f, a: a}, nil
}

type stepCheckedFile struct {
	tempFile
	a *stepCheckedFS
}

func (f *stepCheckedFile) Write(p []byte) (int, error) {
	n, err := f.tempFile.Write(p)
	return n, f.a.did("write", err)
}
func (f *stepCheckedFile) chmod(m fs.FileMode) error {
	return f.a.did(fmt.Sprintf("fchmod %04o", m), f.tempFile.chmod(m))
}
func (f *stepCheckedFile) chown(uid, gid int) error {
	return f.a.did("fchown", f.tempFile.chown(uid, gid))
}
func (f *stepCheckedFile) Close() error { return f.a.did("close", f.tempFile.Close()) }

func TestLabWriteNeverExposesContent(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	ctx := context.Background()
	c := dialLabHost(t, l, h)
	observer := dialLabHost(t, l, h)
	obsFS, err := observer.fs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obs := obsFS.(sftpFS)
	root := c.Become(Become{Enabled: true}).(*SSHConn)

	// An ordinary 0755 directory of the login user, and one of postgres
	// for a write through sudo's sftp-server.
	res, err := root.Run(ctx, `d=$(mktemp -d /tmp/sshplay-expose.XXXXXX) && chmod 0755 "$d" && chown sshplay "$d" && `+
		`mkdir -m 0755 "$d/pg" && chown postgres:postgres "$d/pg" && echo "$d"`, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(string(res.Stdout))
	t.Cleanup(func() { root.Run(context.Background(), "rm -rf "+base, RunOptions{}) })

	// The premise: this sftp-server creates files readable by others, so
	// a temp file made straight in the destination directory would leak.
	loginFS, err := c.fs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := loginFS.createExcl(base + "/probe")
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()
	if fi, err := loginFS.lstat(base + "/probe"); err != nil || fi.Mode.Perm()&0o044 == 0 {
		t.Fatalf("premise: sftp-server should create files readable by others (umask 022), got %v %v", fi, err)
	}
	loginFS.remove(base + "/probe")

	pg := c.Become(Become{Enabled: true, User: "postgres"}).(*SSHConn)
	for _, v := range []struct {
		name string
		conn *SSHConn
		dir  string
	}{{"login user", c, base}, {"become postgres", pg, base + "/pg"}} {
		t.Run(v.name+" every step", func(t *testing.T) {
			fsys, err := v.conn.fs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p := v.dir + "/server.key"
			for round, data := range [][]byte{bytes.Repeat([]byte("secret-1 "), 100000), []byte("secret-2\n")} {
				a := &stepCheckedFS{fileSystem: fsys}
				a.check = func(op string) {
					bad, err := exposure(obs, v.dir)
					if err != nil {
						t.Fatalf("after %s: list %s: %v", op, v.dir, err)
					}
					if len(bad) > 0 {
						t.Errorf("round %d, after %s: readable by others: %v", round, op, bad)
					}
				}
				if err := writeFileOp(ctx, h.Name, a, v.conn.ids(), p, data, WriteOptions{Mode: 0o600}); err != nil {
					t.Fatal(err)
				}
				// The login user's sftp-server creates files at its
				// umask (022): a private directory first. The sudo'd one
				// runs with umask 077: the temp file is private from birth.
				prefix, suffix := "mkdir,chmod 0700,create,", "close,rename,rmdir"
				if v.conn.sudo != nil {
					prefix, suffix = "create,write,", "close,rename"
				}
				if got := strings.Join(a.ops, ","); !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) {
					t.Errorf("round %d: calls %s", round, got)
				}
				b, err := v.conn.ReadFile(ctx, p)
				if err != nil || !bytes.Equal(b, data) {
					t.Fatalf("round %d: read back %d bytes, %v", round, len(b), err)
				}
			}
			ents, err := obs.c.ReadDir(v.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if e.Name() != "server.key" && e.Name() != "pg" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}

	t.Run("concurrent poller during a large write", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB
		var stop atomic.Bool
		var polls atomic.Int32
		var wg sync.WaitGroup
		var mu sync.Mutex
		var seen []string
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				bad, err := exposure(obs, base)
				polls.Add(1)
				mu.Lock()
				if err != nil {
					seen = append(seen, "list: "+err.Error())
				}
				seen = append(seen, bad...)
				mu.Unlock()
			}
		}()
		err := c.WriteFile(ctx, base+"/big.key", data, WriteOptions{Mode: 0o600})
		stop.Store(true)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) > 0 {
			t.Errorf("readable by others during the write: %v", seen[:min(len(seen), 5)])
		}
		if polls.Load() < 3 {
			t.Errorf("only %d polls during the write", polls.Load())
		}
		fi, err := c.Stat(ctx, base+"/big.key")
		if err != nil || fi.Size != int64(len(data)) || fi.Mode.Perm() != 0o600 {
			t.Errorf("stat %+v %v", fi, err)
		}
	})

	t.Run("failed write leaves nothing behind", func(t *testing.T) {
		before, _ := obs.c.ReadDir(base)
		// The login user may not give a file to root: chown fails after
		// the content is written.
		err := c.WriteFile(ctx, base+"/owned", []byte("x"), WriteOptions{Owner: "root", Mode: 0o600})
		if err == nil || !strings.HasPrefix(err.Error(), "host "+h.Name+": write "+base+"/owned: chown to root:") {
			t.Fatalf("want chown error, got %v", err)
		}
		// A directory the login user cannot write into: mkdir fails.
		err = c.WriteFile(ctx, base+"/pg/x", []byte("x"), WriteOptions{})
		if err == nil || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "create temporary directory") {
			t.Fatalf("want permission error, got %v", err)
		}
		after, _ := obs.c.ReadDir(base)
		if len(after) != len(before) {
			var names []string
			for _, e := range after {
				names = append(names, e.Name())
			}
			t.Errorf("directory now holds %v, had %d entries", names, len(before))
		}
	})
}
