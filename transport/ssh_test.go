package transport

// Fast tests of SSHConn against an in-process SSH server (gliderlabs/ssh)
// that runs the commands it gets with the local /bin/sh and serves SFTP
// from the local file system.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
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

	gssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

type testServer struct {
	addr     string
	hostKey  ssh.Signer
	conns    atomic.Int32
	sessions atomic.Int32
	// open and maxOpen count concurrent command sessions.
	open, maxOpen atomic.Int32
}

type serverOpts struct {
	authorized  ssh.PublicKey
	password    string
	kbdPassword string
}

func newTestServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{hostKey: hk}
	srv := &gssh.Server{
		Handler: func(s gssh.Session) {
			ts.sessions.Add(1)
			n := ts.open.Add(1)
			// Count the session closed before its exit status goes out:
			// the client frees its slot on receiving it, so a deferred
			// decrement could briefly count one session too many.
			closed := sync.OnceFunc(func() { ts.open.Add(-1) })
			defer closed()
			for {
				m := ts.maxOpen.Load()
				if n <= m || ts.maxOpen.CompareAndSwap(m, n) {
					break
				}
			}
			cmd := exec.Command("/bin/sh", "-c", s.RawCommand())
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Stdout, cmd.Stderr = s, s.Stderr()
			stdin, _ := cmd.StdinPipe()
			if err := cmd.Start(); err != nil {
				s.Exit(127)
				return
			}
			go func() { io.Copy(stdin, s); stdin.Close() }()
			sigs := make(chan gssh.Signal, 1)
			s.Signals(sigs)
			go func() {
				for range sigs {
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				}
			}()
			err := cmd.Wait()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
				if code < 0 {
					code = 137
				}
			}
			closed()
			s.Exit(code)
		},
		SubsystemHandlers: map[string]gssh.SubsystemHandler{
			"sftp": func(s gssh.Session) {
				srv, err := sftp.NewServer(s)
				if err != nil {
					return
				}
				srv.Serve()
				srv.Close()
			},
		},
		ConnCallback: func(ctx gssh.Context, c net.Conn) net.Conn {
			ts.conns.Add(1)
			return c
		},
	}
	if o.authorized != nil {
		srv.PublicKeyHandler = func(_ gssh.Context, k gssh.PublicKey) bool {
			return bytes.Equal(k.Marshal(), o.authorized.Marshal())
		}
	}
	if o.password != "" {
		srv.PasswordHandler = func(_ gssh.Context, pw string) bool { return pw == o.password }
	}
	if o.kbdPassword != "" {
		srv.KeyboardInteractiveHandler = func(_ gssh.Context, ch ssh.KeyboardInteractiveChallenge) bool {
			ans, err := ch("", "", []string{"Password: "}, []bool{false})
			return err == nil && len(ans) == 1 && ans[0] == o.kbdPassword
		}
	}
	srv.AddHostKey(hk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ts
}

// writeKey writes a new ed25519 private key (OpenSSH format, optionally
// encrypted) and its .pub, and returns the path and public key.
func writeKey(t *testing.T, dir, name, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var blk *pem.Block
	if passphrase != "" {
		blk, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	} else {
		blk, err = ssh.MarshalPrivateKey(priv, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	if err := os.WriteFile(p+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, pub
}

type fixture struct {
	srv    *testServer
	key    string
	known  string
	target Target
}

func newFixture(t *testing.T, o serverOpts) *fixture {
	t.Helper()
	dir := t.TempDir()
	key, pub := writeKey(t, dir, "id_test", "")
	o.authorized = pub
	srv := newTestServer(t, o)
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey.PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.addr)
	p, _ := parsePort(port)
	return &fixture{srv: srv, key: key, known: known, target: Target{
		Name: "db3", Addr: host, Port: p, User: "sshplay", KeyFiles: []string{key}, IdentitiesOnly: true,
		KnownHostsFiles: []string{known}, HostKeyChecking: HostKeyStrict, ConnectTimeout: 5 * time.Second,
		AgentSocket: "/nonexistent",
	}}
}

func dialT(t *testing.T, tg Target) *SSHConn {
	t.Helper()
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSSHRunExitCodeAndOutput(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	ctx := context.Background()

	res, err := c.Run(ctx, "echo out; echo err >&2; exit 3", RunOptions{})
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("want *ExitError, got %v", err)
	}
	if ee.Code != 3 || ee.Host != "db3" || ee.Stderr != "err\n" || !strings.Contains(ee.Cmd, "exit 3") {
		t.Errorf("ExitError = %+v", ee)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Errorf("result = %q %q %d", res.Stdout, res.Stderr, res.ExitCode)
	}
	if got := err.Error(); got != "host db3: command exited 3: err" {
		t.Errorf("message = %q", got)
	}

	res, err = c.Run(ctx, "printf '%s' \"$0\"; true", RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "/bin/sh" {
		t.Errorf("command not run by /bin/sh -c: $0 = %q", res.Stdout)
	}
}

func TestSSHRunStdinAndLiveOutput(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	var live bytes.Buffer
	in := strings.Repeat("line of input\n", 5000)
	res, err := c.Run(context.Background(), "cat; echo done >&2", RunOptions{Stdin: strings.NewReader(in), Stdout: &live})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != in || live.String() != in {
		t.Errorf("stdout: got %d bytes (live %d), want %d", len(res.Stdout), live.Len(), len(in))
	}
	if string(res.Stderr) != "done\n" {
		t.Errorf("stderr = %q", res.Stderr)
	}
	// No stdin: the command sees end of file at once.
	res, err = c.Run(context.Background(), "wc -c", RunOptions{})
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Errorf("wc -c without stdin = %q, %v", res.Stdout, err)
	}
}

// TestSSHRunContextCancel: cancelling ctx kills the remote command's
// process group, the error wraps context.Canceled, and the connection
// stays usable.
func TestSSHRunContextCancel(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	// The in-process server runs the command locally in its own group.
	assertCancelKillsGroup(t, c, "db3")
	if _, err := c.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

func TestSSHHostKeyUnknown(t *testing.T) {
	f := newFixture(t, serverOpts{})
	os.WriteFile(f.known, nil, 0o600)
	_, err := Dial(context.Background(), f.target)
	var ue *UnreachableError
	var hk *HostKeyError
	if !errors.As(err, &ue) || !errors.As(err, &hk) {
		t.Fatalf("want unreachable host key error, got %v", err)
	}
	fp := ssh.FingerprintSHA256(f.srv.hostKey.PublicKey())
	if !hk.Unknown || hk.Fingerprint != fp || hk.Addr != f.srv.addr || hk.Host != "db3" {
		t.Errorf("HostKeyError = %+v", hk)
	}
	want := "host db3: unreachable: unknown host key " + fp + " for " + f.srv.addr + " (not in " + f.known
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "use --host-key-checking accept-new to trust it") {
		t.Errorf("message = %q", err.Error())
	}
}

func TestSSHHostKeyChanged(t *testing.T) {
	f := newFixture(t, serverOpts{})
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _ := ssh.NewPublicKey(other.Public())
	os.WriteFile(f.known, []byte("# comment\n"+knownhosts.Line([]string{knownhosts.Normalize(f.srv.addr)}, otherPub)+"\n"), 0o600)
	for _, policy := range []HostKeyPolicy{HostKeyStrict, HostKeyAcceptNew} {
		tg := f.target
		tg.HostKeyChecking = policy
		_, err := Dial(context.Background(), tg)
		var hk *HostKeyError
		if !errors.As(err, &hk) {
			t.Fatalf("%s: want host key error, got %v", policy, err)
		}
		if hk.Unknown || hk.File != f.known+":2" {
			t.Errorf("%s: HostKeyError = %+v", policy, hk)
		}
		if !strings.Contains(err.Error(), "HOST KEY CHANGED for "+f.srv.addr+": server offers "+ssh.FingerprintSHA256(f.srv.hostKey.PublicKey())) ||
			!strings.Contains(err.Error(), "possible man-in-the-middle") {
			t.Errorf("message = %q", err.Error())
		}
	}
	// off connects anyway.
	tg := f.target
	tg.HostKeyChecking = HostKeyOff
	dialT(t, tg)
}

func TestSSHHostKeyAcceptNew(t *testing.T) {
	f := newFixture(t, serverOpts{})
	known := filepath.Join(t.TempDir(), "sub", "known_hosts")
	tg := f.target
	tg.KnownHostsFiles = []string{known}
	tg.HostKeyChecking = HostKeyAcceptNew
	dialT(t, tg)
	b, err := os.ReadFile(known)
	if err != nil {
		t.Fatal(err)
	}
	want := knownhosts.Line([]string{knownhosts.Normalize(f.srv.addr)}, f.srv.hostKey.PublicKey()) + "\n"
	if string(b) != want {
		t.Errorf("known_hosts = %q, want %q", b, want)
	}
	// Recorded: strict now accepts it, and a second accept-new adds nothing.
	tg.HostKeyChecking = HostKeyStrict
	dialT(t, tg)
	tg.HostKeyChecking = HostKeyAcceptNew
	dialT(t, tg)
	if b2, _ := os.ReadFile(known); string(b2) != want {
		t.Errorf("known_hosts after second dial = %q", b2)
	}
}

func TestSSHWrongKey(t *testing.T) {
	f := newFixture(t, serverOpts{})
	wrong, _ := writeKey(t, t.TempDir(), "id_wrong", "")
	tg := f.target
	tg.KeyFiles = []string{wrong, "/nonexistent/id_gone"}
	_, err := Dial(context.Background(), tg)
	var ae *AuthError
	var ue *UnreachableError
	if !errors.As(err, &ae) || !errors.As(err, &ue) {
		t.Fatalf("want unreachable auth error, got %v", err)
	}
	want := "host db3: unreachable: authentication failed for sshplay@127.0.0.1 (tried: publickey id_wrong, id_gone (missing))"
	if err.Error() != want {
		t.Errorf("message = %q\nwant      %q", err.Error(), want)
	}
}

func TestSSHPasswordAuth(t *testing.T) {
	for _, o := range []serverOpts{{password: "pw1"}, {kbdPassword: "pw1"}} {
		f := newFixture(t, o)
		tg := f.target
		tg.KeyFiles = nil
		tg.Password = "pw1"
		c := dialT(t, tg)
		if _, err := c.Run(context.Background(), "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
		tg.Password = "nope"
		_, err := Dial(context.Background(), tg)
		if err == nil || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), "nope") {
			t.Errorf("wrong password: %v", err)
		}
	}
}

func TestSSHEncryptedKey(t *testing.T) {
	f := newFixture(t, serverOpts{})
	dir := t.TempDir()
	key, pub := writeKey(t, dir, "id_locked", "open sesame")
	srv := newTestServer(t, serverOpts{authorized: pub})
	os.WriteFile(f.known, []byte(knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey.PublicKey())+"\n"), 0o600)
	tg := f.target
	_, port, _ := net.SplitHostPort(srv.addr)
	tg.Port, _ = parsePort(port)
	tg.KeyFiles = []string{key}

	// The prompt goes to the target's Stderr, not to os.Stderr.
	var promptOut bytes.Buffer
	tg.Stderr = &promptOut
	prompts := 0
	old := passphrasePrompt
	passphrasePrompt = func(w io.Writer, file string) ([]byte, error) {
		prompts++
		if w != io.Writer(&promptOut) {
			t.Errorf("passphrase prompt for %s written to %v, want Target.Stderr", file, w)
		}
		return nil, errors.New("no terminal")
	}
	defer func() { passphrasePrompt = old }()

	t.Setenv(PassphraseEnv, "")
	_, err := Dial(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "id_locked (encrypted, no passphrase") {
		t.Errorf("without passphrase: %v", err)
	}
	// Cached: a second dial does not ask again.
	Dial(context.Background(), tg)
	if prompts != 1 {
		t.Errorf("asked %d times, want once", prompts)
	}
	os.Chtimes(key, time.Now(), time.Now().Add(time.Second)) // invalidate the cache
	t.Setenv(PassphraseEnv, "open sesame")
	dialT(t, tg)
}

func TestSSHOneConnectionForEverything(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	ctx := context.Background()
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		if _, err := c.Run(ctx, "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "f")
		if err := c.WriteFile(ctx, p, []byte("x"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadFile(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Stat(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.conns.Load(); n != 1 {
		t.Errorf("%d TCP connections, want 1", n)
	}
}

func TestSSHFileOps(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	testFileOps(t, c)
}

// TestSSHConnectTimeout: a server that accepts but never sends its SSH
// banner gives an error naming the limit, and the connection is closed.
func TestSSHConnectTimeout(t *testing.T) {
	p, accepted := muteListener(t)
	port := strconv.Itoa(p)
	var err error
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(context.Background(), Target{Name: "slow", Addr: "127.0.0.1", Port: p, User: "x", ConnectTimeout: 300 * time.Millisecond, AgentSocket: "/nonexistent"})
		errc <- err
	}()
	select {
	case err = <-errc:
	case <-time.After(deadlockGuard):
		t.Fatal("Dial did not give up")
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "host slow: unreachable: ssh handshake with 127.0.0.1:"+port+": no SSH banner from the server within 300ms") {
		t.Fatalf("want timeout, got %v", err)
	}
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(deadlockGuard):
		t.Fatal("the dial never connected")
	}
	defer sc.Close()
	sc.SetReadDeadline(time.Now().Add(deadlockGuard))
	if _, err := io.Copy(io.Discard, sc); err != nil {
		t.Errorf("client side of the timed-out connection not closed: %v", err)
	}
}

// TestSSHDialCancel: cancelling ctx during the handshake ends the dial with
// an error wrapping context.Canceled.
func TestSSHDialCancel(t *testing.T) {
	p, accepted := muteListener(t)
	var err error
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, Target{Name: "mute", Addr: "127.0.0.1", Port: p, User: "x", ConnectTimeout: time.Hour, AgentSocket: "/nonexistent"})
		errc <- err
	}()
	select {
	case sc := <-accepted:
		defer sc.Close()
	case <-time.After(deadlockGuard):
		t.Fatal("the dial never connected")
	}
	cancel()
	select {
	case err = <-errc:
	case <-time.After(deadlockGuard):
		t.Fatal("Dial did not return after cancel")
	}
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "host mute: ") {
		t.Errorf("want a host error wrapping context.Canceled, got %v", err)
	}
}

func TestSSHProxyJump(t *testing.T) {
	// The in-process server forwards direct-tcpip when allowed.
	f := newFixture(t, serverOpts{})
	jumpSrv := newJumpServer(t, f)
	tg := f.target
	jt := f.target
	jt.Name = "bastion"
	_, port, _ := net.SplitHostPort(jumpSrv.addr)
	jt.Port, _ = parsePort(port)
	os.WriteFile(f.known, append(mustRead(t, f.known),
		[]byte(knownhosts.Line([]string{knownhosts.Normalize(jumpSrv.addr)}, jumpSrv.hostKey.PublicKey())+"\n")...), 0o600)
	tg.ProxyJump = []Target{jt}
	c := dialT(t, tg)
	res, err := c.Run(context.Background(), "echo via", RunOptions{})
	if err != nil || string(res.Stdout) != "via\n" {
		t.Fatalf("run via jump: %q %v", res.Stdout, err)
	}
	if jumpSrv.conns.Load() != 1 || f.srv.conns.Load() != 1 {
		t.Errorf("connections: jump %d, target %d", jumpSrv.conns.Load(), f.srv.conns.Load())
	}
	// A jump host with an unknown key is reported as such.
	os.WriteFile(f.known, []byte(knownhosts.Line([]string{knownhosts.Normalize(f.srv.addr)}, f.srv.hostKey.PublicKey())+"\n"), 0o600)
	_, err = Dial(context.Background(), tg)
	var hk *HostKeyError
	if !errors.As(err, &hk) || !hk.Unknown || !strings.Contains(err.Error(), "host db3: unreachable: jump host bastion: unknown host key") {
		t.Errorf("unknown jump host key: %v", err)
	}
}

func newJumpServer(t *testing.T, f *fixture) *testServer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := ssh.NewSignerFromKey(priv)
	ts := &testServer{hostKey: hk}
	pub := readPubKey(t, f.key)
	srv := &gssh.Server{
		Handler: func(s gssh.Session) { s.Exit(1) },
		PublicKeyHandler: func(_ gssh.Context, k gssh.PublicKey) bool {
			return bytes.Equal(k.Marshal(), pub.Marshal())
		},
		LocalPortForwardingCallback: func(gssh.Context, string, uint32) bool { return true },
		ChannelHandlers: map[string]gssh.ChannelHandler{
			"session":      gssh.DefaultSessionHandler,
			"direct-tcpip": gssh.DirectTCPIPHandler,
		},
		ConnCallback: func(ctx gssh.Context, c net.Conn) net.Conn {
			ts.conns.Add(1)
			return c
		},
	}
	srv.AddHostKey(hk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ts
}

func readPubKey(t *testing.T, keyFile string) ssh.PublicKey {
	t.Helper()
	k := readPub(keyFile)
	if k == nil {
		t.Fatalf("no public key for %s", keyFile)
	}
	return k
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSSHConnCloseStopsViews(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c, err := Dial(context.Background(), f.target)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Become(Become{})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Run(context.Background(), "true", RunOptions{}); err == nil || !strings.Contains(err.Error(), "host db3: connection closed") {
		t.Errorf("run after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestMain lets the test binary act as a tiny netcat for the ProxyCommand
// test: with SSHPLAY_TEST_NETCAT set it connects to host port (its
// arguments) and copies stdin/stdout.
func TestMain(m *testing.M) {
	if os.Getenv("SSHPLAY_TEST_NETCAT") != "" && len(os.Args) == 3 {
		c, err := net.Dial("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		go func() { io.Copy(c, os.Stdin); c.(*net.TCPConn).CloseWrite() }()
		io.Copy(os.Stdout, c)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSSHProxyCommand(t *testing.T) {
	f := newFixture(t, serverOpts{})
	t.Setenv("SSHPLAY_TEST_NETCAT", "1")
	vars := map[string]any{
		"ansible_host": f.target.Addr, "ansible_port": f.target.Port, "ansible_user": "sshplay",
		"ansible_ssh_private_key_file": f.key,
		"ansible_ssh_common_args": "-o UserKnownHostsFile=" + f.known + " -o IdentitiesOnly=yes" +
			" -o 'ProxyCommand=exec " + os.Args[0] + " %h %p'",
	}
	tg, warns, err := TargetFromVars("db3", vars, Overrides{SSHConfigFile: "none"})
	if err != nil || len(warns) != 0 {
		t.Fatalf("%v %q", err, warns)
	}
	if want := "exec " + os.Args[0] + " " + f.target.Addr + " " + strconv.Itoa(f.target.Port); tg.ProxyCommand != want {
		t.Fatalf("ProxyCommand = %q, want %q", tg.ProxyCommand, want)
	}
	tg.AgentSocket = "/nonexistent"
	c, err := Dial(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(context.Background(), "echo through", RunOptions{})
	if err != nil || string(res.Stdout) != "through\n" {
		t.Errorf("run: %q %v", res.Stdout, err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if f.srv.conns.Load() != 1 {
		t.Errorf("%d connections", f.srv.conns.Load())
	}
}

func TestSSHKnownKeyTypePreferred(t *testing.T) {
	f := newFixture(t, serverOpts{})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	os.WriteFile(f.known, []byte(knownhosts.Line([]string{knownhosts.Normalize(f.srv.addr)}, rsaPub)+"\n"), 0o600)
	_, algos, err := hostKeyCallback(f.target)
	if err != nil {
		t.Fatal(err)
	}
	if len(algos) < 4 || algos[0] != ssh.KeyAlgoRSASHA512 || algos[2] != ssh.KeyAlgoRSA || !contains(algos, ssh.KeyAlgoED25519) {
		t.Errorf("algorithms = %q", algos)
	}
	// The server has only an ed25519 key: that is a changed key, reported
	// as such rather than as a failed negotiation.
	_, err = Dial(context.Background(), f.target)
	var hk *HostKeyError
	if !errors.As(err, &hk) || hk.Unknown {
		t.Errorf("want changed host key, got %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSSHAgentAndIdentitiesOnly(t *testing.T) {
	f := newFixture(t, serverOpts{})
	// An agent holding the authorized key, on a socket of our own.
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	keyring := agent.NewKeyring()
	raw, err := ssh.ParseRawPrivateKey(mustRead(t, f.key))
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw, Comment: "me@laptop"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()
	other, _ := writeKey(t, t.TempDir(), "id_other", "")

	tg := f.target
	tg.AgentSocket = sock
	tg.KeyFiles = []string{other}
	tg.IdentitiesOnly = false
	dialT(t, tg) // id_other refused, agent key accepted

	tg.IdentitiesOnly = true
	_, err = Dial(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "(tried: publickey id_other)") {
		t.Errorf("IdentitiesOnly still offered agent keys: %v", err)
	}

	// A key file whose key the agent holds is served by the agent, even
	// with IdentitiesOnly (no decryption needed).
	os.WriteFile(f.key, []byte("not a key any more"), 0o600)
	tg.KeyFiles = []string{f.key}
	dialT(t, tg)
}

func TestSSHConcurrentSessionsBounded(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	errs := make(chan error, 25)
	for i := 0; i < 25; i++ {
		go func() {
			_, err := c.Run(context.Background(), "sleep 0.05", RunOptions{})
			errs <- err
		}()
	}
	for i := 0; i < 25; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// The login user's long-lived shell (shell.go) is one more.
	if m := f.srv.maxOpen.Load(); m > maxSessionsPerHost+1 || m < 2 {
		t.Errorf("%d sessions at once, want 2..%d (below OpenSSH's MaxSessions 10)", m, maxSessionsPerHost+1)
	}
}

// TestSSHProxyCommandCancelledDial: cancelling a dial through a
// ProxyCommand kills the command's whole process group, a background
// child included (closing its stdin alone lets the leader exit and leaves
// the child running), and the command's stderr goes to Target.Stderr.
func TestSSHProxyCommandCancelledDial(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	var stderr lockedBuffer
	tg := Target{
		Name: "db3", Addr: "127.0.0.1", Port: 22, User: "x", AgentSocket: "/nonexistent",
		ConnectTimeout: time.Hour, Stderr: &stderr,
		// Never speaks SSH; the leader ends when its stdin closes, the
		// background sleep would not.
		ProxyCommand: "echo proxy-says-hi >&2; echo $$ > " + pidFile + "; sleep 300 & cat >/dev/null",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, tg)
		errc <- err
	}()
	pgid := waitPIDFile(t, pidFile)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "host db3: ") {
			t.Errorf("want a host error wrapping context.Canceled, got %v", err)
		}
	case <-time.After(deadlockGuard):
		t.Fatal("Dial did not return after cancel")
	}
	waitGroupGone(t, pgid)
	if !strings.Contains(stderr.String(), "proxy-says-hi") {
		t.Errorf("ProxyCommand stderr not in Target.Stderr: %q", stderr.String())
	}
}
