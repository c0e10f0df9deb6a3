package transport

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// collect is a tokenStream fed in the given chunks: what reached the
// command's writer and the status the token carried.
func collect(t *testing.T, token string, chunks ...string) (string, int, bool) {
	t.Helper()
	var ts tokenStream
	var got bytes.Buffer
	done := ts.begin(token, &got)
	for _, c := range chunks {
		ts.Write([]byte(c))
	}
	ts.end()
	code, ok := <-done
	return got.String(), code, ok
}

func TestTokenStreamSplitsOutputFromStatus(t *testing.T) {
	const tok = "SSHPLAY-END-abc"
	for _, tc := range []struct {
		name   string
		chunks []string
		out    string
		code   int
		ok     bool
	}{
		{"one write", []string{"hello\n" + tok + " 3\n"}, "hello\n", 3, true},
		{"token split across writes", []string{"hello\nSSHPLAY-", "END-a", "bc 0\n"}, "hello\n", 0, true},
		{"status split across writes", []string{"x" + tok + " 1", "27\n"}, "x", 127, true},
		{"output without final newline", []string{"no newline" + tok + " 0\n"}, "no newline", 0, true},
		{"text like the token's start", []string{"SSHPLAY-END-ab!\n", tok + " 2\n"}, "SSHPLAY-END-ab!\n", 2, true},
		{"stream ends first", []string{"partial SSHPLAY-EN"}, "partial SSHPLAY-EN", 0, false},
		{"bytes after the status are not the command's", []string{tok + " 0\nlate output"}, "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code, ok := collect(t, tok, tc.chunks...)
			if out != tc.out || code != tc.code || ok != tc.ok {
				t.Errorf("got %q, %d, %v; want %q, %d, %v", out, code, ok, tc.out, tc.code, tc.ok)
			}
		})
	}
}

func TestTokenStreamDropsOutputBetweenCommands(t *testing.T) {
	var ts tokenStream
	ts.Write([]byte("from a background process\n"))
	var got bytes.Buffer
	done := ts.begin("TOK", &got)
	ts.Write([]byte("mine\nTOK 0\n"))
	if <-done; got.String() != "mine\n" {
		t.Errorf("got %q", got.String())
	}
}

func TestHeredocSafe(t *testing.T) {
	const tok = "SSHPLAY-END-1"
	for _, tc := range []struct {
		data string
		want bool
	}{
		{"", true},
		{"select 1;\n", true},
		{"$HOME `x` \\ 'q'\n", true},
		{"no final newline", false},
		{"nul\x00byte\n", false},
		{"a\n" + tok + "\nb\n", false},
	} {
		if got := heredocSafe([]byte(tc.data), tok); got != tc.want {
			t.Errorf("heredocSafe(%q) = %v, want %v", tc.data, got, tc.want)
		}
	}
	if heredocSafe(bytes.Repeat([]byte("x\n"), maxHeredoc), tok) {
		t.Error("input over maxHeredoc accepted")
	}
}

// TestShellRunsCommandsInOneSession: many commands, one after the other,
// open one session (the login user's shell) and behave as `sh -c` would:
// exit codes, stdin, a command that does not parse, exit and cd kept to
// the command.
func TestShellRunsCommandsInOneSession(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := c.Run(ctx, "true", RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Run(ctx, "cd /; exit 4", RunOptions{}); !isExit(err, 4) {
		t.Fatalf("exit 4: got %v", err)
	}
	res, err := c.Run(ctx, `pwd; echo "$0"`, RunOptions{})
	if err != nil || strings.HasPrefix(string(res.Stdout), "/\n") || !strings.HasSuffix(string(res.Stdout), "/bin/sh\n") {
		t.Errorf("cd leaked or $0 wrong: %q %v", res.Stdout, err)
	}
	res, err = c.Run(ctx, "if then fi", RunOptions{})
	if !isExit(err, 2) || !strings.Contains(string(res.Stderr), "rror") {
		t.Errorf("a command that does not parse: want exit 2 with the shell's complaint, got %v %q", err, res.Stderr)
	}
	res, err = c.Run(ctx, "cat; echo; cat", RunOptions{Stdin: strings.NewReader("line 1\nline 2\n")})
	if err != nil || string(res.Stdout) != "line 1\nline 2\n\n" {
		t.Errorf("stdin: %q %v", res.Stdout, err)
	}
	if st := c.Stats(); st.Sessions != 1 || st.Commands != 9 {
		t.Errorf("stats %+v, want 1 session for 9 commands", st)
	}
	// A command through the shell that is already there is one round
	// trip: the command out, its output and status back.
	before := c.Stats().RoundTrips
	if _, err := c.Run(ctx, "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := c.Stats().RoundTrips - before; d < 1 || d > 2 {
		t.Errorf("one command took %d round trips, want 1 (2 when the status comes in two packets)", d)
	}
}

// TestShellFallsBackToSessions: input a here-document cannot carry, and
// commands run while the shell is busy, go to sessions of their own and
// still work.
func TestShellFallsBackToSessions(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	ctx := context.Background()
	for _, in := range []string{"no final newline", "nul\x00inside\n"} {
		res, err := c.Run(ctx, "cat", RunOptions{Stdin: strings.NewReader(in)})
		if err != nil || string(res.Stdout) != in {
			t.Errorf("stdin %q: got %q %v", in, res.Stdout, err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Run(ctx, "sleep 0.2; echo ok", RunOptions{})
			if err != nil || string(res.Stdout) != "ok\n" {
				t.Errorf("concurrent run: %q %v", res.Stdout, err)
			}
		}()
	}
	wg.Wait()
	if st := c.Stats(); st.Sessions < 3 {
		t.Errorf("stats %+v: want the busy shell's commands on sessions of their own", st)
	}
}

// TestShellCancelledCommandEndsTheShell: a cancelled command's group is
// killed with its shell; the next command gets a new shell.
func TestShellCancelledCommandEndsTheShell(t *testing.T) {
	f := newFixture(t, serverOpts{})
	c := dialT(t, f.target)
	ctx, cancel := context.WithCancel(context.Background())
	var live bytes.Buffer
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		_, err := c.Run(ctx, "echo started; sleep 300", RunOptions{Stdout: writerFunc(func(p []byte) (int, error) {
			if bytes.Contains(p, []byte("started")) {
				close(started)
			}
			return live.Write(p)
		})})
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	res, err := c.Run(context.Background(), "echo again", RunOptions{})
	if err != nil || string(res.Stdout) != "again\n" {
		t.Errorf("after a cancel: %q %v", res.Stdout, err)
	}
}

func isExit(err error, code int) bool {
	var ee *ExitError
	return errors.As(err, &ee) && ee.Code == code
}
