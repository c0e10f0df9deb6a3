package transport

// shell.go runs an SSH connection's commands through one long-lived
// /bin/sh per user instead of one SSH session (and, under become, one sudo)
// per command. A run sends a host a few dozen commands; each session costs
// a channel round trip, a login shell and, under become, sudo and its
// child, while a command sent to a shell that is already there costs one
// write and the command's own processes. The shell reads commands on its
// standard input, one at a time:
//
//	( eval 'CMD'
//	) </dev/null          (or a here-document holding RunOptions.Stdin)
//	printf '%s %d\n' TOKEN "$?"; printf '%s\n' TOKEN >&2
//
// The subshell keeps the command's exit, cd, umask and variables to
// itself; eval keeps a command that does not parse from ending the shell
// (the subshell exits 2, as `sh -c` would). TOKEN is random per command:
// what comes before it on each stream is the command's output, the number
// after it on stdout its exit status.
//
// A shell serves one command at a time. A command that finds its user's
// shell busy, or whose stdin a here-document cannot carry (binary data, no
// final newline, over maxHeredoc), runs in a session of its own as before.
// Cancelling a command kills its whole process group, which is the
// shell's: the shell goes with it, and the next command starts a new one.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// maxHeredoc bounds the standard input a command may pass through its
// user's shell; larger input goes through a session of its own, where it
// streams.
const maxHeredoc = 1 << 20

// groupProbe prints the shell's process group id using builtins only (no
// fork): field 5 of /proc/$$/stat, after the command name, which may hold
// spaces and parentheses; ps where there is no /proc.
const groupProbe = `{ read -r s < /proc/$$/stat; } 2>/dev/null && s=${s##*") "} && set -- $s && g=$3 || g=$(ps -o pgid= -p $$ 2>/dev/null)`

// shells are the long-lived shells of one connection, one per user (""
// for the login user).
type shells struct {
	mu     sync.Mutex
	byUser map[string]*shell
	closed bool
}

// shell is one long-lived /bin/sh on the host.
type shell struct {
	stdin io.WriteCloser
	proc  process
	// pgid is the shell's process group (0: the login user's shell, which
	// the session's signal reaches).
	pgid   int
	sudo   *sudoCall
	out    *tokenStream
	errs   *tokenStream
	exited chan struct{}
	busy   bool // guarded by shells.mu
}

// take returns user's idle shell marked busy, or, with ok true and a nil
// shell, a reservation to start one (the caller then calls put or drop).
// ok is false when the shell is busy: the caller runs the command on its
// own session.
func (s *shells) take(user string) (sh *shell, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	if s.byUser == nil {
		s.byUser = map[string]*shell{}
	}
	cur, found := s.byUser[user]
	switch {
	case !found:
		s.byUser[user] = &shell{busy: true} // reserved while it starts
		return nil, true
	case cur.busy:
		return nil, false
	case cur.ended():
		cur.busy = true
		return nil, true // replaced by the caller
	}
	cur.busy = true
	return cur, true
}

// put makes sh user's idle shell.
func (s *shells) put(user string, sh *shell) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh.busy = false
	if s.closed {
		go sh.close()
		return
	}
	s.byUser[user] = sh
}

// drop forgets user's shell (it failed to start, or was killed).
func (s *shells) drop(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byUser, user)
}

// closeAll ends every shell (closing its stdin ends it) and refuses new ones.
func (s *shells) closeAll() {
	s.mu.Lock()
	s.closed = true
	all := s.byUser
	s.byUser = nil
	s.mu.Unlock()
	for _, sh := range all {
		if sh.stdin != nil {
			sh.close()
		}
	}
}

func (sh *shell) ended() bool {
	if sh.exited == nil {
		return false
	}
	select {
	case <-sh.exited:
		return true
	default:
		return false
	}
}

func (sh *shell) close() {
	sh.stdin.Close()
	select {
	case <-sh.exited:
	case <-time.After(2 * time.Second):
		sh.proc.kill()
	}
}

// startShell starts a long-lived shell, as sudo's user when sudo is set.
// A sudo that does not run the shell gives a *BecomeError, as Run would.
func startShell(ctx context.Context, host string, start starter, sudo *sudoCall) (*shell, error) {
	sh := &shell{sudo: sudo, out: &tokenStream{}, errs: &tokenStream{}, exited: make(chan struct{})}
	if sudo == nil {
		stdin, p, err := start(ctx, "exec /bin/sh -s", sh.out, sh.errs)
		if err != nil {
			return nil, runError(host, "/bin/sh", err)
		}
		sh.stdin, sh.proc = stdin, p
		go func() {
			p.wait()
			sh.out.end()
			sh.errs.end()
			close(sh.exited)
		}()
		return sh, nil
	}
	lp, err := startBecome(ctx, host, start, sudo, "exec /bin/sh -s", sh.out, sh.errs)
	if err != nil {
		return nil, err
	}
	sh.stdin, sh.proc, sh.pgid = lp.stdin, lp.proc, lp.pgid
	go func() {
		<-lp.exited
		sh.out.end()
		sh.errs.end()
		close(sh.exited)
	}()
	return sh, nil
}

// script is what the shell is sent to run cmd with stdin (nil: none) and
// report its end with token.
func script(cmd string, stdin []byte, token string) string {
	var b strings.Builder
	b.WriteString("( eval " + shellescape.Quote(cmd) + "\n)")
	if stdin == nil {
		b.WriteString(" </dev/null\n")
	} else {
		b.WriteString(" <<'" + token + "'\n")
		b.Write(stdin)
		b.WriteString(token + "\n")
	}
	b.WriteString(`printf '%s %d\n' ` + token + ` "$?"; printf '%s\n' ` + token + " >&2\n")
	return b.String()
}

// heredocSafe reports whether data can be a here-document's body ended by
// token: text without NUL, ending in a newline, no line equal to token.
func heredocSafe(data []byte, token string) bool {
	return len(data) <= maxHeredoc && (len(data) == 0 || data[len(data)-1] == '\n') &&
		bytes.IndexByte(data, 0) < 0 && !bytes.Contains(data, []byte(token))
}

// runIn runs cmd through sh, whose caller holds it busy. kept is false
// when the shell must not serve another command (it ended, or was killed).
func (sh *shell) runIn(ctx context.Context, host string, hs shellHost, cmd string, stdin []byte, token string, opts RunOptions) (res *Result, err error, kept bool) {
	r := newCmdRun(opts, nil)
	outDone, errDone := sh.out.begin(token, r.outW), sh.errs.begin(token, r.errW)
	t0 := time.Now()
	if stdin != nil && len(stdin) == 0 {
		stdin = nil // an empty here-document is /dev/null
	}
	if _, werr := io.WriteString(sh.stdin, script(cmd, stdin, token)); werr != nil {
		return nil, runError(host, cmd, werr), false
	}
	wait := func() (int, bool) {
		code, ok := <-outDone
		_, eok := <-errDone
		return code, ok && eok
	}
	ended := make(chan end, 1)
	go func() {
		c, ok := wait()
		ended <- end{c, ok}
	}()
	select {
	case e := <-ended:
		res = &Result{Stdout: r.stdout.Bytes(), Stderr: r.stderr.Bytes(), ExitCode: e.code, Duration: time.Since(t0)}
		if !e.ok {
			return res, runError(host, cmd, errNoExitStatus), false
		}
		if e.code != 0 {
			return res, &ExitError{Host: host, Cmd: cmd, Code: e.code, Stderr: string(res.Stderr)}, true
		}
		return res, nil, true
	case <-ctx.Done():
	}
	sh.kill(host, hs, ended)
	res = &Result{Stdout: r.stdout.Bytes(), Stderr: r.stderr.Bytes(), ExitCode: -1, Duration: time.Since(t0)}
	return res, runError(host, cmd, ctx.Err()), false
}

// end is how a command in a shell ended: its status, ok false when the
// shell's streams ended before the command's token.
type end struct {
	code int
	ok   bool
}

// shellHost is what a shell needs of its connection: start opens a
// command session (one that stops a cancelled become command's group),
// long a session outside the command slots (the shell's own), watch
// watches the host until done closes, giving it up when it answers
// nothing (sshHost.watchCancelled).
type shellHost struct {
	start, long starter
	watch       func(done <-chan struct{})
}

// kill ends the shell and the command it runs, and waits until ended
// (the command's streams ended, or the host was given up): the session's
// signal kills the shell's process group; under sudo, whose command that
// signal does not reach, stopGroup then kills the group as the become
// user from a new session.
func (sh *shell) kill(host string, hs shellHost, ended <-chan end) {
	sh.proc.kill()
	done := make(chan struct{})
	go hs.watch(done)
	<-ended
	close(done)
	if sh.sudo != nil && sh.pgid > 1 {
		stopGroup(host, hs.start, sh.sudo, sh.pgid)
	}
}

// tokenStream is one of a shell's output streams. Between begin and the
// token it copies what the shell writes to the current command's writer,
// holding back a tail that could be the start of the token; the token
// (and, on stdout, the exit status after it) ends the command.
type tokenStream struct {
	mu    sync.Mutex
	token []byte
	w     io.Writer
	held  []byte
	// status collects the line after the token; done receives its number.
	status   []byte
	inStatus bool
	done     chan int
	gone     bool
}

// begin routes the stream to w until token; the returned channel gets the
// number after the token (0 when there is none) and is closed, without a
// value, if the stream ends first.
func (t *tokenStream) begin(token string, w io.Writer) <-chan int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan int, 1)
	if t.gone {
		close(ch)
		return ch
	}
	t.token, t.w, t.held, t.status, t.inStatus, t.done = []byte(token), w, nil, nil, false, ch
	return ch
}

func (t *tokenStream) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		return len(p), nil // between commands: a background process's output
	}
	if t.inStatus {
		t.status = append(t.status, p...)
		t.finishStatus()
		return len(p), nil
	}
	buf := append(t.held, p...)
	t.held = nil
	if i := bytes.Index(buf, t.token); i >= 0 {
		t.w.Write(buf[:i])
		t.inStatus = true
		t.status = append([]byte(nil), buf[i+len(t.token):]...)
		t.finishStatus()
		return len(p), nil
	}
	keep := min(len(t.token)-1, len(buf))
	for keep > 0 && !bytes.HasPrefix(t.token, buf[len(buf)-keep:]) {
		keep--
	}
	t.w.Write(buf[:len(buf)-keep])
	t.held = append([]byte(nil), buf[len(buf)-keep:]...)
	return len(p), nil
}

// finishStatus ends the command once the token's line is complete.
func (t *tokenStream) finishStatus() {
	nl := bytes.IndexByte(t.status, '\n')
	if nl < 0 {
		return
	}
	code, _ := strconv.Atoi(strings.TrimSpace(string(t.status[:nl])))
	t.done <- code
	close(t.done)
	t.done = nil
}

// end marks the stream finished: a command still waiting gets no status.
func (t *tokenStream) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gone = true
	if t.done != nil {
		if len(t.held) > 0 {
			t.w.Write(t.held)
		}
		close(t.done)
		t.done = nil
	}
}

// run runs cmd through the user's long-lived shell, started with long
// (a session outside the command slots) when there is none; start opens
// the session that stops a cancelled command's group. handled is false
// when it could not (the shell busy, stdin not fit for a here-document):
// the caller then runs cmd on its own session with *opts, whose Stdin
// still yields all of its input.
func (s *shells) run(ctx context.Context, host string, hs shellHost, cmd string, opts *RunOptions, sudo *sudoCall) (res *Result, err error, handled bool) {
	token := "SSHPLAY-END-" + randomHex(12)
	var stdin []byte
	if opts.Stdin != nil {
		// Only input already in memory: a pipe may stream for as long as
		// the command lives (a lock held until its writer closes).
		sized, ok := opts.Stdin.(interface{ Len() int })
		if !ok || sized.Len() > maxHeredoc {
			return nil, nil, false
		}
		b, rerr := io.ReadAll(opts.Stdin)
		if rerr != nil {
			return nil, runError(host, cmd, fmt.Errorf("read stdin: %w", rerr)), true
		}
		opts.Stdin = bytes.NewReader(b) // whole again, for a session
		if !heredocSafe(b, token) {
			return nil, nil, false
		}
		stdin = b
	}
	// One shell per user and password: a view without the password must
	// not ride on a shell another view's password opened.
	user := ""
	if sudo != nil {
		user = sudo.user + "\x00" + sudo.password
	}
	sh, ok := s.take(user)
	if !ok {
		return nil, nil, false
	}
	if sh == nil {
		if sh, err = startShell(ctx, host, hs.long, sudo); err != nil {
			s.drop(user)
			return nil, err, true
		}
	}
	res, err, kept := sh.runIn(ctx, host, hs, cmd, stdin, token, *opts)
	if kept {
		s.put(user, sh)
	} else {
		s.drop(user)
		go sh.close()
	}
	return res, err, true
}
