package conntest

// The contract of Conn.Run: exit status, output, stdin, live writers, and
// what a done or cancelled context does.

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

func runTests() []contractTest {
	return []contractTest{
		{"Run/zero exit gives the output and no error", 0, runZeroExit},
		{"Run/non-zero exit gives the result and an ExitError", 0, runNonZeroExit},
		{"Run/unknown command exits 127", 0, runUnknownCommand},
		{"Run/stdin reaches the command", 0, runStdin},
		{"Run/output also streams to the RunOptions writers", 0, runLiveWriters},
		{"Run/done context runs nothing", 0, runDoneContext},
		{"Run/line goes to /bin/sh -c", needShell, runShellLine},
		{"Run/cancel kills the command's process group", needShell, func(t *testing.T, f *fixture) { runCancel(t, f, f.Conn) }},
		{"Run/cancel under Become kills the process group", needShell | needBecome, func(t *testing.T, f *fixture) { runCancel(t, f, f.root()) }},
	}
}

func runZeroExit(t *testing.T, f *fixture) {
	res, err := f.Conn.Run(f.ctx, "echo hello", transport.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "hello\n" || len(res.Stderr) != 0 || res.ExitCode != 0 {
		t.Errorf("result = stdout %q stderr %q exit %d, want \"hello\\n\", nothing, 0", res.Stdout, res.Stderr, res.ExitCode)
	}
}

func runNonZeroExit(t *testing.T, f *fixture) {
	missing := f.path("missing")
	cmd := "cat " + shellescape.Quote(missing)
	res, err := f.Conn.Run(f.ctx, cmd, transport.RunOptions{})
	var ee *transport.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("want an *ExitError, got %v", err)
	}
	if res == nil || res.ExitCode != 1 || !strings.Contains(string(res.Stderr), "No such file") {
		t.Fatalf("want the result with exit 1 and cat's complaint, got %+v", res)
	}
	if ee.Host != f.Conn.Host() || ee.Cmd != cmd || ee.Code != 1 || ee.Stderr != string(res.Stderr) {
		t.Errorf("ExitError = %+v, want host %s, the command, code 1 and the stderr", ee, f.Conn.Host())
	}
	f.namesHost("exit error", err)
	if _, err := f.Conn.Run(f.ctx, "false", transport.RunOptions{}); !errors.As(err, &ee) || ee.Code != 1 {
		t.Errorf("false: want exit 1, got %v", err)
	}
}

func runUnknownCommand(t *testing.T, f *fixture) {
	res, err := f.Conn.Run(f.ctx, "sshplay-no-such-command", transport.RunOptions{})
	var ee *transport.ExitError
	if !errors.As(err, &ee) || ee.Code != 127 || res == nil || res.ExitCode != 127 {
		t.Errorf("want exit 127, got %+v %v", res, err)
	}
}

func runStdin(t *testing.T, f *fixture) {
	in := "line one\nline two, no newline"
	res, err := f.Conn.Run(f.ctx, "cat", transport.RunOptions{Stdin: strings.NewReader(in)})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != in {
		t.Errorf("cat of stdin = %q, want %q", res.Stdout, in)
	}
	// Without Stdin the command reads end of file at once.
	res, err = f.Conn.Run(f.ctx, "cat", transport.RunOptions{})
	if err != nil || len(res.Stdout) != 0 {
		t.Errorf("cat without stdin = %+v, %v, want nothing", res, err)
	}
}

func runLiveWriters(t *testing.T, f *fixture) {
	var out, errw bytes.Buffer
	res, err := f.Conn.Run(f.ctx, "echo streamed", transport.RunOptions{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "streamed\n" || string(res.Stdout) != "streamed\n" {
		t.Errorf("stdout writer %q, result %q: want both \"streamed\\n\"", out.String(), res.Stdout)
	}
	res, err = f.Conn.Run(f.ctx, "cat "+shellescape.Quote(f.path("missing")), transport.RunOptions{Stderr: &errw})
	if err == nil || res == nil || errw.Len() == 0 || errw.String() != string(res.Stderr) {
		t.Errorf("stderr writer %q, result %+v, %v: want the same complaint in both", errw.String(), res, err)
	}
}

func runDoneContext(t *testing.T, f *fixture) {
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	p := f.path("made")
	_, err := f.Conn.Run(ctx, "mkdir -- "+shellescape.Quote(p), transport.RunOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want an error wrapping context.Canceled, got %v", err)
	}
	f.namesHost("done context", err)
	f.onlyEntries()
}

func runShellLine(t *testing.T, f *fixture) {
	res, err := f.Conn.Run(f.ctx, `echo "$0"; echo out | tr a-z A-Z; echo err >&2; exit 3`, transport.RunOptions{})
	var ee *transport.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("want exit 3, got %v", err)
	}
	if string(res.Stdout) != "/bin/sh\nOUT\n" || string(res.Stderr) != "err\n" {
		t.Errorf("stdout %q stderr %q, want \"/bin/sh\\nOUT\\n\" and \"err\\n\"", res.Stdout, res.Stderr)
	}
}

// runCancel starts a command with a background child through c, cancels
// it once it runs, and checks that Run returns an error naming the host
// and wrapping context.Canceled, and that the command's whole process
// group is gone from the host.
func runCancel(t *testing.T, f *fixture, c transport.Conn) {
	pidFile := f.path("pgid")
	tmp := pidFile + ".tmp"
	// The group id goes to a temporary file first, so the file is never
	// seen half-written.
	line := "echo started; cut -d' ' -f5 /proc/$$/stat > " + shellescape.Quote(tmp) + " && mv " + shellescape.Quote(tmp) + " " + shellescape.Quote(pidFile) +
		"; sleep 300 & sleep 300; wait"
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan runOutcome, 1)
	go func() {
		res, err := c.Run(ctx, line, transport.RunOptions{})
		done <- runOutcome{res, err}
	}()
	pgid := waitForNumber(t, c, pidFile, done)
	cancel()
	select {
	case o := <-done:
		if !errors.Is(o.err, context.Canceled) {
			t.Fatalf("want an error wrapping context.Canceled, got %v", o.err)
		}
		f.namesHost("cancelled run", o.err)
		if o.res == nil || string(o.res.Stdout) != "started\n" {
			t.Errorf("result %+v, want the output so far, \"started\\n\"", o.res)
		}
	case <-time.After(deadlockGuard):
		t.Fatal("Run did not return after cancel")
	}
	waitGroupGone(t, f.Setup, pgid)
}

// runOutcome is what a Run started in a goroutine returned.
type runOutcome struct {
	res *transport.Result
	err error
}

// waitForNumber waits for a running command to write a number into file
// (read through c) and returns it; ended reports the command ending first.
func waitForNumber(t *testing.T, c transport.Conn, file string, ended <-chan runOutcome) int {
	t.Helper()
	deadline := time.Now().Add(deadlockGuard)
	for {
		b, err := c.ReadFile(context.Background(), file)
		if err == nil {
			n, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || n <= 1 {
				t.Fatalf("%s holds %q, want a process group id", file, b)
			}
			return n
		}
		select {
		case o := <-ended:
			t.Fatalf("command ended before it was cancelled: %v", o.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("command never wrote %s", file)
		}
	}
}

// liveMembers is a shell loop that prints the /proc entries of the live
// (not zombie) processes of the process group in $g; a zombie has exited
// and only waits for whoever adopted it to reap it.
const liveMembers = `for f in /proc/[0-9]*/stat; do { read -r s < "$f"; } 2>/dev/null || continue; ` +
	`s=${s##*") "}; set -- $s; if [ "$1" != Z ] && [ "$1" != X ] && [ "$3" = "$g" ]; then echo "${f%/stat}"; fi; done`

// waitGroupGone fails the test unless process group pgid has no live
// member on c's host within deadlockGuard.
func waitGroupGone(t *testing.T, c transport.Conn, pgid int) {
	t.Helper()
	probe := "g=" + strconv.Itoa(pgid) + "; " + liveMembers
	deadline := time.Now().Add(deadlockGuard)
	for {
		res, err := c.Run(context.Background(), probe, transport.RunOptions{})
		if err != nil {
			t.Fatalf("look for process group %d: %v", pgid, err)
		}
		left := strings.Fields(string(res.Stdout))
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live processes %v", pgid, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
