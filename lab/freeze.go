package lab

// freeze.go makes a lab host look like a frozen VM, for tests of what
// sshplay does when a host stops answering: its sshd and everything under
// it are stopped with SIGSTOP, so TCP connections stay open (the kernel
// still accepts bytes and new connections) while nothing answers. Only the
// host's own sshd listener, found through its pid file, and its
// descendants are signalled, and only with SIGSTOP and SIGCONT.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// FreezeSSH stops the sshd listener of host name and every process under
// it (connections, sessions, the commands they run). thaw continues them
// all; call it before Down, which cannot stop a frozen sshd gently.
func (l *Lab) FreezeSSH(name string) (thaw func() error, err error) {
	h, err := l.Host(name)
	if err != nil {
		return nil, err
	}
	pid := readPidFile(pathsFor(l.Dir, h.Name).sshdPid)
	if !procAlive(pid, "sshd") {
		return nil, fmt.Errorf("lab: host %s: sshd is not running", name)
	}
	var stopped []int
	thaw = func() error {
		var errs []error
		for _, p := range stopped {
			if err := syscall.Kill(p, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("lab: host %s: continue %d: %w", name, p, err))
			}
		}
		return errors.Join(errs...)
	}
	// Stop the listener first (no new children), then whatever is under
	// it, until a pass finds nothing new (a child may fork meanwhile).
	seen := map[int]bool{}
	for todo := []int{pid}; len(todo) > 0; todo = descendants(pid, seen) {
		for _, p := range todo {
			seen[p] = true
			if err := syscall.Kill(p, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
				thaw()
				return nil, fmt.Errorf("lab: host %s: stop %d: %w", name, p, err)
			}
			stopped = append(stopped, p)
		}
	}
	return thaw, nil
}

// descendants lists the live processes under root not in seen.
func descendants(root int, seen map[int]bool) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		j := bytes.LastIndexByte(b, ')')
		if err != nil || j < 0 || j+2 >= len(b) {
			continue
		}
		f := strings.Fields(string(b[j+2:]))
		if len(f) > 1 && f[0] != "Z" && f[0] != "X" {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for pid := range parent {
		if seen[pid] {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}
