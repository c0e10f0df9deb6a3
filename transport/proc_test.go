package transport

// Helpers for tests that check a cancelled command leaves no process
// behind: they look for live members of a process group in /proc.

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deadlockGuard bounds waits that should end promptly; it is a guard
// against hangs, not a speed assertion (speed belongs in benchmarks).
const deadlockGuard = 30 * time.Second

// liveGroupMembers returns the pids of processes in group pgid that are
// not zombies (a zombie has exited; whoever adopted it reaps it later).
func liveGroupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGroupGone fails the test unless process group pgid has no live
// member within deadlockGuard. Whatever is left is killed at the end of
// the test (the test started it).
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	if pgid <= 1 {
		t.Fatalf("bad process group %d", pgid)
	}
	t.Cleanup(func() {
		if len(liveGroupMembers(t, pgid)) > 0 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
	deadline := time.Now().Add(deadlockGuard)
	for {
		left := liveGroupMembers(t, pgid)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live processes %v", pgid, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPIDFile waits for a command to write its $$ to file and returns it.
func waitPIDFile(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(deadlockGuard)
	for {
		b, err := os.ReadFile(file)
		if s := strings.TrimSpace(string(b)); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("pid file %s: %q", file, b)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("command never wrote %s", file)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertCancelKillsGroup runs a command on c that starts a background child,
// cancels it once it is running, and checks that Run returns an error
// naming host and wrapping context.Canceled, and that the whole process
// group is gone. Local and SSH connections must behave the same.
func assertCancelKillsGroup(t *testing.T, c Conn, host string) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "echo $$ > "+pidFile+"; sleep 300 & sleep 300; wait", RunOptions{})
		errc <- err
	}()
	pgid := waitPIDFile(t, pidFile)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "host "+host+": run ") {
			t.Fatalf("cancel: want a host error wrapping context.Canceled, got %v", err)
		}
	case <-time.After(deadlockGuard):
		t.Fatal("Run did not return after cancel")
	}
	waitGroupGone(t, pgid)
}

// muteListener accepts TCP connections on 127.0.0.1 and never speaks: a
// server that hangs an SSH handshake. It returns the port and the accepted
// connections.
func muteListener(t *testing.T) (port int, accepted <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			ch <- c
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, ch
}
