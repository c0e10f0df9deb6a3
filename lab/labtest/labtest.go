// Package labtest gives tests real lab hosts (OpenSSH sshd + PostgreSQL 15
// on 127.0.0.X) through package lab, and the skip-or-fail rule for tests that
// need them: skip on a machine without root, sshd or postgres, but fail when
// the environment variable CI is set, so a CI run never passes by skipping.
//
// labtest must never leave processes running after a test: every lab it
// brings up is taken down in t.Cleanup.
package labtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
)

// Require skips the test (or fails it when CI is set) unless lab hosts can
// run on this machine.
func Require(t testing.TB) {
	t.Helper()
	if err := lab.Check(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set, so lab hosts are required: %v", err)
		}
		t.Skipf("skipping, no lab hosts on this machine: %v", err)
	}
}

// New brings up n lab hosts in a fresh directory under /tmp and takes them
// down (and removes the directory) when the test ends.
func New(t testing.TB, n int) *lab.Lab {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("/tmp", "sshplay-lab-test-")
	if err != nil {
		t.Fatalf("lab dir: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if l, err := lab.Open(dir); err == nil {
			if err := l.Down(ctx); err != nil {
				t.Errorf("lab down %s: %v", dir, err)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove lab dir: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Config{Dir: dir, N: n})
	if err != nil {
		t.Fatalf("lab up %d hosts in %s: %v", n, dir, err)
	}
	return l
}
