package transport_test

// Transport tests against real OpenSSH sshd lab hosts (lab/labtest): they
// skip on a machine without root, sshd or postgres, and fail when CI is set.

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

func labVars(l *lab.Lab, h lab.Host, extraArgs string) map[string]any {
	return map[string]any{
		"ansible_host":                 h.Addr,
		"ansible_port":                 h.SSHPort,
		"ansible_user":                 "sshplay",
		"ansible_ssh_private_key_file": l.KeyFile(),
		"ansible_ssh_common_args":      "-o UserKnownHostsFile=" + l.KnownHostsFile() + " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
		"ansible_ssh_extra_args":       extraArgs,
	}
}

func labDial(t testing.TB, l *lab.Lab, h lab.Host, extraArgs string) *transport.SSHConn {
	t.Helper()
	tg, warns, err := transport.TargetFromVars(h.Name, labVars(l, h, extraArgs), transport.Overrides{SSHConfigFile: "none"})
	if err != nil || len(warns) > 0 {
		t.Fatalf("target: %v %q", err, warns)
	}
	tg.AgentSocket = "/nonexistent"
	c, err := transport.Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("dial %s: %v", h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLabTransport(t *testing.T) {
	l := labtest.New(t, 2)
	db1, db2 := l.Hosts[0], l.Hosts[1]
	ctx := context.Background()

	t.Run("run exit codes and output", func(t *testing.T) {
		c := labDial(t, l, db1, "")
		res, err := c.Run(ctx, "id -un; echo oops >&2; exit 7", transport.RunOptions{})
		var ee *transport.ExitError
		if !errors.As(err, &ee) || ee.Code != 7 || ee.Host != db1.Name || ee.Stderr != "oops\n" {
			t.Fatalf("want exit 7, got %v", err)
		}
		if string(res.Stdout) != "sshplay\n" {
			t.Errorf("stdout = %q", res.Stdout)
		}
		res, err = c.Run(ctx, "tr a-z A-Z", transport.RunOptions{Stdin: strings.NewReader("hello")})
		if err != nil || string(res.Stdout) != "HELLO" {
			t.Errorf("stdin: %q %v", res.Stdout, err)
		}
	})

	t.Run("become root and postgres", func(t *testing.T) {
		c := labDial(t, l, db1, "")
		for _, u := range []string{"", "root", "postgres"} {
			want := u
			if want == "" {
				want = "root"
			}
			v := c.Become(transport.Become{Enabled: true, User: u})
			res, err := v.Run(ctx, `id -un; echo "$HOME"; cat`, transport.RunOptions{Stdin: strings.NewReader("in")})
			if err != nil {
				t.Fatalf("become %q: %v", u, err)
			}
			lines := strings.Split(string(res.Stdout), "\n")
			if lines[0] != want || len(res.Stderr) != 0 || !strings.HasSuffix(string(res.Stdout), "\nin") || strings.Contains(string(res.Stdout), "BECOME") {
				t.Errorf("become %q: stdout %q stderr %q", u, res.Stdout, res.Stderr)
			}
			_, err = v.Run(ctx, "exit 3", transport.RunOptions{})
			var ee *transport.ExitError
			if !errors.As(err, &ee) || ee.Code != 3 {
				t.Errorf("become %q exit: %v", u, err)
			}
		}
	})

	t.Run("sftp atomic write as postgres into a 0700 dir", func(t *testing.T) {
		c := labDial(t, l, db1, "")
		root := c.Become(transport.Become{Enabled: true})
		pg := c.Become(transport.Become{Enabled: true, User: "postgres"})
		res, err := root.Run(ctx, "d=$(mktemp -d /tmp/sshplay-pgdir.XXXXXX) && chown postgres:postgres \"$d\" && chmod 0700 \"$d\" && echo \"$d\"", transport.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dir := strings.TrimSpace(string(res.Stdout))
		t.Cleanup(func() { root.Run(context.Background(), "rm -rf "+dir, transport.RunOptions{}) })
		p := dir + "/server.key"
		if err := pg.WriteFile(ctx, p, []byte("secret key\n"), transport.WriteOptions{Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		fi, err := pg.Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Owner != "postgres" || fi.Group != "postgres" || fi.Mode.Perm() != 0o600 || fi.Size != 11 {
			t.Errorf("stat = %+v", fi)
		}
		if b, err := pg.ReadFile(ctx, p); err != nil || string(b) != "secret key\n" {
			t.Errorf("read back %q %v", b, err)
		}
		// The login user cannot even look inside.
		if _, err := c.Stat(ctx, p); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("login user stat: %v", err)
		}
		// Rewrite with zero options keeps mode and owner; root writes
		// another file owned by postgres.
		if err := pg.WriteFile(ctx, p, []byte("v2\n"), transport.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := root.WriteFile(ctx, dir+"/server.crt", []byte("crt\n"), transport.WriteOptions{Owner: "postgres", Group: "postgres", Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		res, err = root.Run(ctx, "stat -c '%U:%G %a %n' "+dir+"/*; ls -a "+dir, transport.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := "postgres:postgres 644 " + dir + "/server.crt\npostgres:postgres 600 " + dir + "/server.key\n.\n..\nserver.crt\nserver.key\n"
		if string(res.Stdout) != want {
			t.Errorf("on the host:\n%s\nwant\n%s", res.Stdout, want)
		}
		if err := pg.Remove(ctx, p); err != nil {
			t.Error(err)
		}
		if err := pg.Remove(ctx, p); err != nil {
			t.Errorf("remove missing: %v", err)
		}
	})

	t.Run("host key unknown and changed refused", func(t *testing.T) {
		dir := t.TempDir()
		empty := filepath.Join(dir, "empty_known_hosts")
		os.WriteFile(empty, nil, 0o600)
		fp := hostKeyFingerprint(t, db1.HostKeyPub)
		_, err := dialVars(t, db1.Name, withKnownHosts(labVars(l, db1, ""), empty, "yes"))
		var hk *transport.HostKeyError
		var ue *transport.UnreachableError
		if !errors.As(err, &hk) || !errors.As(err, &ue) || !hk.Unknown || hk.Fingerprint != fp {
			t.Fatalf("unknown: %v", err)
		}
		want := fmt.Sprintf("host %s: unreachable: unknown host key %s for %s:22 (not in %s", db1.Name, fp, db1.Addr, empty)
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("message %q\nwant prefix %q", err.Error(), want)
		}

		_, other, _ := ed25519.GenerateKey(rand.Reader)
		otherPub, _ := ssh.NewPublicKey(other.Public())
		changed := filepath.Join(dir, "changed_known_hosts")
		os.WriteFile(changed, []byte(knownhosts.Line([]string{db1.Addr}, otherPub)+"\n"), 0o600)
		for _, policy := range []string{"yes", "accept-new"} {
			_, err = dialVars(t, db1.Name, withKnownHosts(labVars(l, db1, ""), changed, policy))
			if !errors.As(err, &hk) || hk.Unknown || hk.File != changed+":1" {
				t.Fatalf("changed (%s): %v", policy, err)
			}
			if !strings.Contains(err.Error(), "HOST KEY CHANGED for "+db1.Addr+":22: server offers "+fp+"; known_hosts "+changed+":1 has another key — possible man-in-the-middle") {
				t.Errorf("message %q", err.Error())
			}
		}
	})

	t.Run("accept-new appends", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		c, err := dialVars(t, db1.Name, withKnownHosts(labVars(l, db1, ""), kh, "accept-new"))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		b, _ := os.ReadFile(kh)
		if string(b) != db1.Addr+" "+strings.TrimSpace(db1.HostKeyPub)+"\n" {
			t.Errorf("known_hosts = %q", b)
		}
		c, err = dialVars(t, db1.Name, withKnownHosts(labVars(l, db1, ""), kh, "yes"))
		if err != nil {
			t.Fatalf("strict after accept-new: %v", err)
		}
		c.Close()
	})

	t.Run("accept-new hashes as HashKnownHosts says, and OpenSSH verifies it", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		vars := withKnownHosts(labVars(l, db1, ""), kh, "accept-new")
		vars["ansible_ssh_common_args"] = vars["ansible_ssh_common_args"].(string) + " -o HashKnownHosts=yes"
		c, err := dialVars(t, db1.Name, vars)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		b, _ := os.ReadFile(kh)
		if !strings.HasPrefix(string(b), "|1|") || strings.Count(string(b), "\n") != 1 || strings.Contains(string(b), db1.Addr) {
			t.Fatalf("known_hosts = %q, want one hashed line", b)
		}
		if out, err := exec.Command("ssh-keygen", "-F", db1.Addr, "-f", kh).CombinedOutput(); err != nil || !strings.Contains(string(out), "found: line 1") {
			t.Errorf("ssh-keygen -F %s: %v: %s", db1.Addr, err, out)
		}
		// OpenSSH's own client connects on the strength of that entry.
		ssh := exec.Command("ssh", "-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+kh,
			"-o", "IdentitiesOnly=yes", "-i", l.KeyFile(), "-p", strconv.Itoa(db1.SSHPort), "sshplay@"+db1.Addr, "true")
		if out, err := ssh.CombinedOutput(); err != nil {
			t.Errorf("ssh against the hashed entry: %v: %s", err, out)
		}
		c, err = dialVars(t, db1.Name, withKnownHosts(labVars(l, db1, ""), kh, "yes"))
		if err != nil {
			t.Fatalf("strict after a hashed accept-new: %v", err)
		}
		c.Close()
	})

	t.Run("wrong private key", func(t *testing.T) {
		dir := t.TempDir()
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		blk, _ := ssh.MarshalPrivateKey(priv, "")
		key := filepath.Join(dir, "id_wrong")
		os.WriteFile(key, pem.EncodeToMemory(blk), 0o600)
		vars := labVars(l, db1, "")
		vars["ansible_ssh_private_key_file"] = key
		_, err := dialVars(t, db1.Name, vars)
		var ue *transport.UnreachableError
		var ae *transport.AuthError
		if !errors.As(err, &ue) || !errors.As(err, &ae) {
			t.Fatalf("want unreachable auth error, got %v", err)
		}
		want := fmt.Sprintf("host %s: unreachable: authentication failed for sshplay@%s (tried: publickey id_wrong)", db1.Name, db1.Addr)
		if err.Error() != want {
			t.Errorf("message %q\nwant    %q", err.Error(), want)
		}
	})

	t.Run("proxyjump through db01 to db02", func(t *testing.T) {
		c := labDial(t, l, db2, "-J sshplay@"+db1.Addr)
		res, err := c.Run(ctx, `echo "$SSH_CONNECTION"`, transport.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// db02 sees a client connection that is not one of ours: db01's
		// sshd made it.
		f := strings.Fields(string(res.Stdout))
		if len(f) != 4 || f[2] != db2.Addr {
			t.Fatalf("SSH_CONNECTION = %q", res.Stdout)
		}
		if n := ourTCPConns(t, db2.Addr+":22"); n != 0 {
			t.Errorf("%d direct connections to %s, want 0", n, db2.Name)
		}
		if n := ourTCPConns(t, db1.Addr+":22"); n != 1 {
			t.Errorf("%d connections to the jump host, want 1", n)
		}
		if err := c.Become(transport.Become{Enabled: true, User: "postgres"}).WriteFile(ctx, "/tmp/sshplay-jump-test", []byte("x"), transport.WriteOptions{}); err != nil {
			t.Error(err)
		}
		c.Become(transport.Become{Enabled: true}).Remove(ctx, "/tmp/sshplay-jump-test")
	})

	t.Run("one connection per host", func(t *testing.T) {
		before := ourTCPConns(t, db1.Addr+":22")
		pool := transport.NewPool(transport.PoolOptions{Overrides: transport.Overrides{SSHConfigFile: "none"}})
		defer pool.Close()
		failed := pool.DialAll(ctx, []transport.HostVars{{Name: db1.Name, Vars: labVars(l, db1, "")}, {Name: db2.Name, Vars: labVars(l, db2, "")}}, 5)
		if len(failed) != 0 {
			t.Fatal(failed)
		}
		c, err := pool.Conn(ctx, db1.Name, labVars(l, db1, ""))
		if err != nil {
			t.Fatal(err)
		}
		pg := c.Become(transport.Become{Enabled: true, User: "postgres"})
		for i := 0; i < 10; i++ {
			if _, err := c.Run(ctx, "true", transport.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.Run(ctx, "true", transport.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Stat(ctx, "/etc/hostname"); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.Stat(ctx, "/tmp"); err != nil {
				t.Fatal(err)
			}
		}
		// Many concurrent commands, as login user and through sudo, share
		// the one connection.
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			go func() {
				v := c
				if i%2 == 1 {
					v = pg
				}
				_, err := v.Run(ctx, "sleep 0.2", transport.RunOptions{})
				errs <- err
			}()
		}
		for i := 0; i < 20; i++ {
			if err := <-errs; err != nil {
				t.Errorf("concurrent run: %v", err)
			}
		}
		if n := ourTCPConns(t, db1.Addr+":22") - before; n != 1 {
			t.Errorf("%d TCP connections to %s, want 1", n, db1.Name)
		}
	})

	t.Run("context cancel kills the command", func(t *testing.T) {
		c := labDial(t, l, db1, "")
		tag := strconv.Itoa(int(time.Now().UnixNano() % 1000000))
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := c.Run(cctx, "sleep 3"+tag, transport.RunOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want deadline exceeded, got %v", err)
		}
		// pgrep finds such a process while it runs...
		if _, err := c.Run(ctx, "nohup sleep 4"+tag+" >/dev/null 2>&1 & sleep 0.2; pgrep -x -f 'sleep 4"+tag+"' && pkill -x -f 'sleep 4"+tag+"'", transport.RunOptions{}); err != nil {
			t.Fatalf("pgrep check: %v", err)
		}
		// ...and no longer finds the cancelled one.
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := c.Run(ctx, "pgrep -x -f 'sleep 3"+tag+"'", transport.RunOptions{})
			var ee *transport.ExitError
			if errors.As(err, &ee) && ee.Code == 1 {
				break // gone
			}
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("remote command still running after cancel")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// A sudo'd command is not a child of the SSH session's shell in a way a
	// session signal reaches (sudo runs it as root, possibly on its own
	// pty): cancelling must still leave nothing running. The command
	// ignores SIGHUP, as nohup'd or daemon-like commands do, so a closed
	// pty alone does not end it.
	t.Run("context cancel kills a become command", func(t *testing.T) {
		c := labDial(t, l, db1, "")
		root := c.Become(transport.Become{Enabled: true})
		tag := strconv.Itoa(int(time.Now().UnixNano()%1000000) + 1000000)
		cctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		defer cancel()
		_, err := root.Run(cctx, "trap '' HUP; sleep 3"+tag+"; echo done", transport.RunOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want deadline exceeded, got %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := c.Run(ctx, "pgrep -x -f 'sleep 3"+tag+"'", transport.RunOptions{})
			var ee *transport.ExitError
			if errors.As(err, &ee) && ee.Code == 1 {
				break // gone
			}
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				// Do not leave it behind for the next test.
				_, _ = root.Run(ctx, "pkill -x -f 'sleep 3"+tag+"'", transport.RunOptions{})
				t.Fatal("sudo'd remote command still running after cancel")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func withKnownHosts(vars map[string]any, file, policy string) map[string]any {
	vars["ansible_ssh_common_args"] = "-o UserKnownHostsFile=" + file + " -o StrictHostKeyChecking=" + policy + " -o IdentitiesOnly=yes"
	return vars
}

func dialVars(t *testing.T, name string, vars map[string]any) (*transport.SSHConn, error) {
	t.Helper()
	tg, _, err := transport.TargetFromVars(name, vars, transport.Overrides{SSHConfigFile: "none"})
	if err != nil {
		t.Fatal(err)
	}
	tg.AgentSocket = "/nonexistent"
	// Only the file under test: not the user's ~/.ssh/known_hosts.
	tg.KnownHostsFiles = tg.KnownHostsFiles[:1]
	return transport.Dial(context.Background(), tg)
}

func hostKeyFingerprint(t *testing.T, pub string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(k)
}

// ourTCPConns counts this process's established TCP connections to remote
// (an IPv4 "a.b.c.d:port"), from /proc/net/tcp and /proc/self/fd.
func ourTCPConns(t testing.TB, remote string) int {
	t.Helper()
	mine := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	host, port, _ := net.SplitHostPort(remote)
	ip := net.ParseIP(host).To4()
	p, _ := strconv.Atoi(port)
	want := fmt.Sprintf("%08X:%04X", binary.LittleEndian.Uint32(ip), p)
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[2] != want || fields[3] != "01" {
			continue
		}
		if mine[fields[9]] {
			n++
		}
	}
	return n
}

func BenchmarkDialRun(b *testing.B) {
	l := labtest.New(b, 1)
	h := l.Hosts[0]
	tg, _, err := transport.TargetFromVars(h.Name, labVars(l, h, ""), transport.Overrides{SSHConfigFile: "none"})
	if err != nil {
		b.Fatal(err)
	}
	tg.AgentSocket = "/nonexistent"
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := transport.Dial(ctx, tg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Run(ctx, "true", transport.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// TestLocalBecome runs the local connection's become path for real: sudo to
// postgres, files through a sudo'd local sftp-server.
func TestLocalBecome(t *testing.T) {
	labtest.Require(t)
	ctx := context.Background()
	local := transport.NewLocalConn("ctl")
	defer local.Close()
	pg := local.Become(transport.Become{Enabled: true, User: "postgres"})
	res, err := pg.Run(ctx, "id -un", transport.RunOptions{})
	if err != nil || string(res.Stdout) != "postgres\n" {
		t.Fatalf("id as postgres: %q %v", res.Stdout, err)
	}
	dir, err := os.MkdirTemp("", "sshplay-local-pg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "private")
	if _, err := local.Become(transport.Become{Enabled: true}).Run(ctx, "mkdir -m 0700 "+sub+" && chown postgres:postgres "+sub, transport.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(sub, "server.key")
	if err := pg.WriteFile(ctx, p, []byte("k"), transport.WriteOptions{Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	fi, err := pg.Stat(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Owner != "postgres" || fi.Group != "postgres" || fi.Mode.Perm() != 0o600 {
		t.Errorf("stat = %+v", fi)
	}
}
