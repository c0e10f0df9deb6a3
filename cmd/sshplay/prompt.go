package main

// Terminal prompts: -k/-K passwords and --step, asked on the controlling
// terminal as Ansible asks them. A run whose standard input is no terminal
// is refused (exit 5) rather than left waiting for an answer nobody gives.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// terminal is where prompts are read and written: standard input when it
// is a terminal (fd its descriptor), and the stream prompts go to.
type terminal struct {
	in  *os.File
	out io.Writer
	r   *bufio.Reader
}

// openTerminal is stdin as a terminal, or an error naming what needed one.
func openTerminal(in *os.File, out io.Writer, what string) (*terminal, error) {
	if in == nil || !term.IsTerminal(int(in.Fd())) {
		return nil, usageError{fmt.Errorf("%s: standard input is not a terminal to ask on", what)}
	}
	return &terminal{in: in, out: out, r: bufio.NewReader(in)}, nil
}

// password prints prompt and reads a line without echo.
func (t *terminal) password(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// line prints prompt and reads one line, echoed.
func (t *terminal) line(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	s, err := t.r.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(s), nil
}

// validateAnsibleFlags refuses --become-method and -c values sshplay
// cannot honour (exit 5).
func (g *globals) validateAnsibleFlags() error {
	if g.BecomeMethod != "" && g.BecomeMethod != "sudo" {
		return usageError{fmt.Errorf("%s: not supported yet: become_method %s", g.origin("become-method"), g.BecomeMethod)}
	}
	switch g.Connection {
	case "", "ssh", "local", "smart", "paramiko":
	default:
		return usageError{fmt.Errorf("%s: want ssh or local, got %q", g.origin("connection"), g.Connection)}
	}
	return nil
}

// promptPasswords asks, once per run and before anything connects, for
// the SSH password (-k) and the become password (-K), as ansible-playbook
// asks them: "SSH password: ", then "BECOME password[defaults to SSH
// password]: ", an empty answer meaning the SSH password.
func (g *globals) promptPasswords(in *os.File) error {
	if !g.AskPass && !g.AskBecomePass {
		return nil
	}
	flag := "--ask-pass"
	if !g.AskPass {
		flag = "--ask-become-pass"
	}
	t, err := openTerminal(in, g.Stderr, flag)
	if err != nil {
		return err
	}
	if g.AskPass {
		if g.password, err = t.password("SSH password: "); err != nil {
			return err
		}
	}
	if g.AskBecomePass {
		prompt := "BECOME password: "
		if g.AskPass {
			prompt = "BECOME password[defaults to SSH password]: "
		}
		if g.becomePassword, err = t.password(prompt); err != nil {
			return err
		}
		if g.becomePassword == "" {
			g.becomePassword = g.password
		}
	}
	return nil
}

// playStep is --step's question, asked on the terminal before each task as
// ansible-playbook asks it: y runs the task, c runs it and stops asking,
// anything else (N, the default) skips it. nil when --step is off.
func playStep(g *globals, on bool) (func(task string) bool, error) {
	if !on {
		return nil, nil
	}
	t, err := openTerminal(g.Stdin, g.Stderr, "--step")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	asking := true
	return func(task string) bool {
		mu.Lock()
		defer mu.Unlock()
		if !asking {
			return true
		}
		ans, err := t.line(fmt.Sprintf("Perform task: TASK: %s (N)o/(y)es/(c)ontinue: ", task))
		if err != nil {
			return false
		}
		switch strings.ToLower(ans) {
		case "y", "yes":
			return true
		case "c", "continue":
			asking = false
			return true
		}
		return false
	}, nil
}
