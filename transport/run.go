package transport

// run.go is the command machinery shared by SSHConn and LocalConn: running a
// shell line with stdin/stdout/stderr and context cancellation, and wrapping
// it in sudo for become. Become uses a random success marker echoed before
// the command (like Ansible's BECOME-SUCCESS) and a random password prompt,
// so the code can tell "sudo wants a password" from "the command is
// running". The become password is written to sudo's stdin only when the
// prompt appears; it never goes on a command line, into a log or an error.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"al.essio.dev/pkg/shellescape"
	"github.com/pkg/sftp"
)

// process is one started command.
type process interface {
	// wait waits for the command to end. code is its exit status when err
	// is nil; err means no exit status is known (connection lost, killed).
	wait() (code int, err error)
	// kill stops the command; wait then returns.
	kill()
}

// starter starts a shell command line (run by /bin/sh -c) whose output goes
// to stdout and stderr, and returns the write end of its standard input.
// Starting may wait (for a free session slot) until ctx is done.
type starter func(ctx context.Context, line string, stdout, stderr io.Writer) (io.WriteCloser, process, error)

// sudoCall is one sudo invocation's settings.
type sudoCall struct {
	user     string
	password string
	marker   string
	prompt   string
}

func newSudoCall(b Become) *sudoCall {
	u := b.User
	if u == "" {
		u = "root"
	}
	tok := randomHex(12)
	return &sudoCall{
		user:     u,
		password: b.Password,
		marker:   "SSHPLAY-BECOME-SUCCESS-" + tok,
		prompt:   "[sshplay-sudo-" + tok + "] password: ",
	}
}

// wrap returns the shell line running cmd as the become user:
// exec sudo -H -S -p PROMPT -u USER -- /bin/sh -c 'echo MARKER PGID; CMD'
// with a password, sudo -H -n -u USER -- ... without one. exec: the shell
// the session started becomes sudo instead of waiting for it.
//
// The marker line also carries the command's process group id, read from
// /proc with shell builtins (groupProbe: no process of its own), so that
// a cancelled run can stop the whole sudo'd group (see stopGroup): closing
// the SSH session does not reach processes that sudo runs as another
// user, on its own pty (use_pty) or not.
func (s *sudoCall) wrap(cmd string) string {
	inner := groupProbe + `; echo "` + s.marker + ` $g"; unset s g; set --` + "\n" + cmd
	args := []string{"sudo", "-H"}
	if s.password != "" {
		args = append(args, "-S", "-p", s.prompt)
	} else {
		args = append(args, "-n")
	}
	args = append(args, "-u", s.user, "--", "/bin/sh", "-c", inner)
	return "exec " + shellescape.QuoteCommand(args)
}

// sudoWatch sits between a sudo'd command and the caller's writers. Until
// the marker line shows on stdout it holds the output back, spots password
// prompts on stderr and signals them; after it, output flows through.
type sudoWatch struct {
	call   *sudoCall
	out    io.Writer
	errw   io.Writer
	mu     sync.Mutex
	outBuf []byte
	errBuf []byte
	seen   bool
	// pgid is the process group the marker line reported (0: unknown).
	pgid int
	// promptEnd is where in errBuf the last password prompt ended.
	promptEnd int
	ready     chan struct{}
	prompt    chan struct{}
	badPass   bool
}

func newSudoWatch(c *sudoCall, out, errw io.Writer) *sudoWatch {
	return &sudoWatch{call: c, out: out, errw: errw, ready: make(chan struct{}), prompt: make(chan struct{}, 8)}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (w *sudoWatch) stdout() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		w.mu.Lock()
		if w.seen {
			w.mu.Unlock()
			return w.out.Write(p)
		}
		w.outBuf = append(w.outBuf, p...)
		i := bytes.Index(w.outBuf, []byte(w.call.marker))
		if i < 0 {
			w.mu.Unlock()
			return len(p), nil
		}
		nl := bytes.IndexByte(w.outBuf[i:], '\n')
		if nl < 0 {
			w.mu.Unlock()
			return len(p), nil
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(w.outBuf[i+len(w.call.marker) : i+nl]))); err == nil && n > 1 {
			w.pgid = n
		}
		rest := append([]byte(nil), w.outBuf[i+nl+1:]...)
		w.outBuf = nil
		w.seen = true
		close(w.ready)
		// stderr the command wrote before the marker was noticed here:
		// everything after sudo's last prompt is the command's.
		pending := w.errBuf[w.promptEnd:]
		w.errBuf = nil
		if len(pending) > 0 {
			w.errw.Write(pending)
		}
		w.mu.Unlock()
		if len(rest) > 0 {
			if _, err := w.out.Write(rest); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	})
}

func (w *sudoWatch) stderr() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.seen {
			return w.errw.Write(p)
		}
		w.errBuf = append(w.errBuf, p...)
		for {
			tail := w.errBuf[w.promptEnd:]
			if i := bytes.Index(tail, []byte(w.call.prompt)); i >= 0 {
				w.promptEnd += i + len(w.call.prompt)
			} else if isForeignPrompt(tail) {
				// sudo configured to ignore -p (passprompt_override)
				// still asks, in its own words.
				w.promptEnd = len(w.errBuf)
			} else {
				break
			}
			select {
			case w.prompt <- struct{}{}:
			default:
			}
		}
		return len(p), nil
	})
}

// isForeignPrompt reports whether b ends in a password prompt that is not
// ours: a last line without newline like "[sudo] password for bob: ".
func isForeignPrompt(b []byte) bool {
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return false
	}
	last := b[bytes.LastIndexByte(b, '\n')+1:]
	t := bytes.TrimRight(last, " ")
	return bytes.HasSuffix(t, []byte(":")) && bytes.Contains(bytes.ToLower(last), []byte("password"))
}

// awaitReady answers sudo's password prompt on stdin and returns true once
// the marker was seen, false if done closed first or the password was
// refused (stdin is then closed so that sudo gives up).
func (w *sudoWatch) awaitReady(stdin io.WriteCloser, done <-chan struct{}) bool {
	answered := 0
	for {
		select {
		case <-w.ready:
			return true
		case <-done:
			return false
		case <-w.prompt:
			if w.call.password == "" || answered > 0 {
				w.mu.Lock()
				w.badPass = true
				w.mu.Unlock()
				stdin.Close()
				return false
			}
			answered++
			if _, err := io.WriteString(stdin, w.call.password+"\n"); err != nil {
				return false
			}
		}
	}
}

// BecomeReason says why sudo did not run a command.
type BecomeReason int

const (
	// BecomeFailed is any other sudo failure; Detail has sudo's words or
	// its exit code.
	BecomeFailed BecomeReason = iota
	// BecomeWrongPassword: sudo refused the become password.
	BecomeWrongPassword
	// BecomePasswordRequired: sudo asked for a password and none was set.
	BecomePasswordRequired
	// BecomeSudoMissing: there is no sudo on the host.
	BecomeSudoMissing
	// BecomeNotAllowed: sudoers does not let the login user run commands
	// as the become user.
	BecomeNotAllowed
)

func (r BecomeReason) String() string {
	switch r {
	case BecomeWrongPassword:
		return "wrong password"
	case BecomePasswordRequired:
		return "password required"
	case BecomeSudoMissing:
		return "sudo missing"
	case BecomeNotAllowed:
		return "not allowed"
	default:
		return "failed"
	}
}

// BecomeError is a command that sudo did not run as the become user (the
// command itself never started). It never holds the become password.
type BecomeError struct {
	Host string
	// User is the become user.
	User   string
	Reason BecomeReason
	// Detail is the first line of what sudo printed (password redacted),
	// for BecomeNotAllowed and BecomeFailed.
	Detail string
	// Code is sudo's exit status.
	Code int
}

func (e *BecomeError) Error() string {
	var why string
	switch {
	case e.Reason == BecomeWrongPassword:
		why = "incorrect sudo password"
	case e.Reason == BecomePasswordRequired:
		why = "sudo needs a password: set ansible_become_password (or allow NOPASSWD for this user)"
	case e.Reason == BecomeSudoMissing:
		why = "sudo is not installed"
	case e.Detail != "":
		why = "sudo failed: " + e.Detail
	default:
		why = fmt.Sprintf("sudo exited %d before running the command", e.Code)
	}
	return fmt.Sprintf("host %s: become %s: %s", e.Host, e.User, why)
}

// failure explains why sudo did not run the command.
func (w *sudoWatch) failure(host string, code int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	msg := strings.ReplaceAll(string(w.errBuf), w.call.prompt, "")
	msg = strings.TrimSpace(redact(msg, w.call.password))
	lower := strings.ToLower(msg)
	e := &BecomeError{Host: host, User: w.call.user, Code: code}
	switch {
	case w.badPass || strings.Contains(lower, "incorrect password") || strings.Contains(lower, "sorry, try again"):
		e.Reason = BecomeWrongPassword
	case strings.Contains(lower, "a password is required") || strings.Contains(lower, "a terminal is required"):
		e.Reason = BecomePasswordRequired
	case code == 127 && strings.Contains(lower, "sudo"):
		e.Reason = BecomeSudoMissing
	case strings.Contains(lower, "not in the sudoers file") || strings.Contains(lower, "is not allowed to execute") ||
		strings.Contains(lower, "may not run sudo"):
		e.Reason = BecomeNotAllowed
		e.Detail = firstLine(msg)
	default:
		e.Reason = BecomeFailed
		e.Detail = firstLine(msg)
	}
	return e
}

// runCommand runs cmd through start, as sudo.user when sudo is set.
func runCommand(ctx context.Context, host string, start starter, cmd string, opts RunOptions, sudo *sudoCall) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, runError(host, cmd, err)
	}
	r := newCmdRun(opts, sudo)
	t0 := time.Now()
	stdin, p, err := start(ctx, r.line(cmd), r.outW, r.errW)
	if err != nil {
		return nil, runError(host, cmd, err)
	}
	done := make(chan struct{})
	go r.feed(stdin, opts.Stdin, done)
	stop := context.AfterFunc(ctx, p.kill)
	code, werr := p.wait()
	stop()
	close(done)
	res := &Result{Stdout: r.stdout.Bytes(), Stderr: r.stderr.Bytes(), ExitCode: code, Duration: time.Since(t0)}
	return res, r.verdict(ctx, host, start, cmd, res, werr)
}

// runError is a Run that failed for err, naming the host and the command.
func runError(host, cmd string, err error) error {
	return fmt.Errorf("host %s: run %q: %w", host, shortCmd(cmd), err)
}

// cmdRun is one command being run: where its output goes and, under
// sudo, the watch that holds the output back until sudo ran the command.
type cmdRun struct {
	stdout, stderr bytes.Buffer
	// outW and errW are what the command writes to: the buffers, the
	// caller's live writers, and the watch in front of them under sudo.
	outW, errW io.Writer
	sudo       *sudoCall
	watch      *sudoWatch
}

func newCmdRun(opts RunOptions, sudo *sudoCall) *cmdRun {
	r := &cmdRun{sudo: sudo}
	r.outW, r.errW = &r.stdout, &r.stderr
	if opts.Stdout != nil {
		r.outW = io.MultiWriter(&r.stdout, opts.Stdout)
	}
	if opts.Stderr != nil {
		r.errW = io.MultiWriter(&r.stderr, opts.Stderr)
	}
	if sudo != nil {
		r.watch = newSudoWatch(sudo, r.outW, r.errW)
		r.outW, r.errW = r.watch.stdout(), r.watch.stderr()
	}
	return r
}

// line is the shell line that runs cmd: cmd itself, or its sudo wrapping.
func (r *cmdRun) line(cmd string) string {
	if r.sudo == nil {
		return cmd
	}
	return r.sudo.wrap(cmd)
}

// feed answers sudo's password prompt, then copies in (when set) to the
// command's stdin, and closes it; it gives up when done is closed first.
func (r *cmdRun) feed(stdin io.WriteCloser, in io.Reader, done <-chan struct{}) {
	defer stdin.Close()
	if r.watch != nil && !r.watch.awaitReady(stdin, done) {
		return
	}
	if in != nil {
		io.Copy(stdin, in)
	}
}

// verdict is the error of a finished command: the context's when ctx
// ended it (after stopping a sudo'd command's process group), a lost
// exit status, a *BecomeError when sudo never ran the command, an
// *ExitError for a non-zero exit.
func (r *cmdRun) verdict(ctx context.Context, host string, start starter, cmd string, res *Result, werr error) error {
	switch {
	case ctx.Err() != nil:
		if r.watch != nil {
			if err := stopGroup(host, start, r.sudo, r.watch.reportedGroup()); err != nil {
				return fmt.Errorf("host %s: run %q: %w (and the remote command may still run: %v)", host, shortCmd(cmd), ctx.Err(), err)
			}
		}
		return runError(host, cmd, ctx.Err())
	case werr != nil:
		return runError(host, cmd, werr)
	case r.watch != nil && !r.watch.ran():
		return r.watch.failure(host, res.ExitCode)
	case res.ExitCode != 0:
		return &ExitError{Host: host, Cmd: cmd, Code: res.ExitCode, Stderr: string(res.Stderr)}
	}
	return nil
}

// reportedGroup is the process group the marker line reported (0: none).
func (w *sudoWatch) reportedGroup() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pgid
}

// ran reports whether the marker showed: sudo ran the command.
func (w *sudoWatch) ran() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// stopGroupGrace is how long a cancelled become command's process group
// gets between SIGTERM and SIGKILL.
const stopGroupGrace = 2 * time.Second

// stopGroupLimit bounds a whole stopGroup: opening the session, sudo,
// the grace, the SIGKILL. Every cancelled host stops its group at the same
// time, from its own goroutine, so Ctrl-C waits for the slowest host, at
// most this long, not for their sum.
const stopGroupLimit = stopGroupGrace + 5*time.Second

// stopGroup ends the process group pgid of a cancelled sudo'd command: a
// new session runs kill as the same become user (with the same password),
// SIGTERM first, SIGKILL for whatever is left after stopGroupGrace. It
// signals only the group the command's own shell reported, never by name.
// pgid 0 (not reported: sudo never ran the command) is a no-op. It gives
// up after stopGroupLimit, saying so in the error.
func stopGroup(host string, start starter, sudo *sudoCall, pgid int) error {
	if pgid <= 1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopGroupLimit)
	defer cancel()
	g := strconv.Itoa(pgid)
	tries := strconv.Itoa(int(stopGroupGrace / (100 * time.Millisecond)))
	line := "kill -TERM -" + g + " 2>/dev/null || exit 0\n" +
		"i=0; while [ $i -lt " + tries + " ] && kill -0 -" + g + " 2>/dev/null; do sleep 0.1; i=$((i+1)); done\n" +
		"kill -KILL -" + g + " 2>/dev/null; exit 0"
	kill := newSudoCall(Become{Enabled: true, User: sudo.user, Password: sudo.password})
	_, err := runCommand(ctx, host, start, line, RunOptions{}, kill)
	return err
}

// sudoSFTP is an SFTP server running as another user through sudo.
type sudoSFTP struct {
	client *sftp.Client
	proc   process
	exited chan struct{}
}

func (s *sudoSFTP) close() {
	s.client.Close()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.proc.kill()
		<-s.exited
	}
}

// becomeProc is a long-lived command sudo runs as another user (an
// sftp-server, a shell).
type becomeProc struct {
	stdin io.WriteCloser
	proc  process
	// pgid is the process group the command's shell reported.
	pgid   int
	exited chan struct{}
}

// startBecome starts inner (a shell line) as sudo.user and returns once
// sudo ran it: the marker showed, after the password prompt was answered
// when there was one. What inner writes after the marker goes to out and
// errw. A sudo that did not run it gives a *BecomeError.
func startBecome(ctx context.Context, host string, start starter, sudo *sudoCall, inner string, out, errw io.Writer) (*becomeProc, error) {
	watch := newSudoWatch(sudo, out, errw)
	stdin, p, err := start(ctx, sudo.wrap(inner), watch.stdout(), watch.stderr())
	if err != nil {
		return nil, fmt.Errorf("host %s: become %s: %w", host, sudo.user, err)
	}
	bp := &becomeProc{stdin: stdin, proc: p, exited: make(chan struct{})}
	var code int
	go func() {
		code, _ = p.wait()
		close(bp.exited)
	}()
	done := make(chan struct{})
	closeDone := sync.OnceFunc(func() { close(done) })
	stop := context.AfterFunc(ctx, closeDone)
	defer stop()
	go func() {
		<-bp.exited
		closeDone()
	}()
	if !watch.awaitReady(stdin, done) {
		p.kill()
		<-bp.exited
		if ctx.Err() != nil {
			return nil, fmt.Errorf("host %s: become %s: %w", host, sudo.user, ctx.Err())
		}
		return nil, watch.failure(host, code)
	}
	bp.pgid = watch.reportedGroup()
	return bp, nil
}

// startSudoSFTP runs the first sftp-server found (sftpServerPaths) as
// sudo.user, umask 077 so that a file is never readable by others before
// its final chmod, and speaks SFTP to it over the command's stdin and
// stdout. The search runs inside the sudo'd line: no session of its own.
func startSudoSFTP(ctx context.Context, host string, start starter, sudo *sudoCall, count *atomic.Int64) (*sudoSFTP, error) {
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	bp, err := startBecome(ctx, host, start, sudo, execSFTPServerCmd(), pw, &stderr)
	if err != nil {
		return nil, err
	}
	go func() {
		<-bp.exited
		pw.CloseWithError(io.EOF)
	}()
	client, err := sftp.NewClientPipe(pr, countRequests(bp.stdin, count))
	if err != nil {
		bp.proc.kill()
		<-bp.exited
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("host %s: become %s: %s", host, sudo.user, firstLine(msg))
		}
		return nil, fmt.Errorf("host %s: become %s: sftp-server: %w", host, sudo.user, err)
	}
	return &sudoSFTP{client: client, proc: bp.proc, exited: bp.exited}, nil
}

// sftpServerPaths are where OpenSSH's sftp-server lives on common systems.
var sftpServerPaths = []string{
	"/usr/lib/openssh/sftp-server",
	"/usr/libexec/openssh/sftp-server",
	"/usr/lib/ssh/sftp-server",
	"/usr/libexec/sftp-server",
}

// execSFTPServerCmd runs the first executable sftp-server path in place
// of the shell (umask 077), or says where it looked and exits 127.
func execSFTPServerCmd() string {
	q := make([]string, len(sftpServerPaths))
	for i, p := range sftpServerPaths {
		q[i] = shellescape.Quote(p)
	}
	return `for p in ` + strings.Join(q, " ") + `; do [ -x "$p" ] && exec "$p" -u 077; done; ` +
		`echo ` + shellescape.Quote("no sftp-server found (looked in "+strings.Join(sftpServerPaths, ", ")+")") + ` >&2; exit 127`
}

// countRequests counts the SFTP requests written to w (each packet is a
// 4-byte length and that many bytes) into n; nil n counts nothing.
func countRequests(w io.WriteCloser, n *atomic.Int64) io.WriteCloser {
	if n == nil {
		return w
	}
	return &requestCounter{WriteCloser: w, n: n}
}

type requestCounter struct {
	io.WriteCloser
	n *atomic.Int64
	// left is how many bytes of the current packet are still to come;
	// hdr collects a length split across writes.
	left int
	hdr  []byte
}

func (c *requestCounter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		if c.left > 0 {
			k := min(c.left, len(rest))
			c.left -= k
			rest = rest[k:]
			continue
		}
		k := min(4-len(c.hdr), len(rest))
		c.hdr = append(c.hdr, rest[:k]...)
		rest = rest[k:]
		if len(c.hdr) == 4 {
			c.left = int(c.hdr[0])<<24 | int(c.hdr[1])<<16 | int(c.hdr[2])<<8 | int(c.hdr[3])
			c.hdr = c.hdr[:0]
			c.n.Add(1)
		}
	}
	return c.WriteCloser.Write(p)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("transport: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// shortCmd is cmd cut to one short line, for error messages.
func shortCmd(cmd string) string {
	s := firstLine(strings.TrimSpace(cmd))
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	if s != strings.TrimSpace(cmd) && !strings.HasSuffix(s, "...") {
		s += " ..."
	}
	return s
}

// signalCodes maps signal names to the exit codes a shell reports (128+n).
var signalCodes = map[string]int{"HUP": 129, "INT": 130, "QUIT": 131, "ILL": 132, "ABRT": 134,
	"FPE": 136, "KILL": 137, "SEGV": 139, "PIPE": 141, "ALRM": 142, "TERM": 143, "USR1": 138, "USR2": 140}

var errNoExitStatus = errors.New("command ended without an exit status (connection lost?)")
