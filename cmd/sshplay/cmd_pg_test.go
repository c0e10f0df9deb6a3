package main

import (
	"io"
	"testing"

	"github.com/sshplay/sshplay/pg"
)

// TestPGStatusExitCode: 2 when a reachable host is not ok, even with
// others unreachable; 4 only when every host not ok is unreachable.
func TestPGStatusExitCode(t *testing.T) {
	good := &pg.HostStatus{Host: "ok", SSL: true, Enforced: true, HasCert: true, Verify: []*pg.VerifyResult{{Addr: "a", OK: true}}}
	failed := &pg.HostStatus{Host: "bad", Err: "psql: boom"}
	down := &pg.HostStatus{Host: "down", Unreachable: true, Err: "dial: refused"}
	for _, c := range []struct {
		name  string
		hosts []*pg.HostStatus
		want  int
	}{
		{"all ok", []*pg.HostStatus{good}, 0},
		{"failed", []*pg.HostStatus{good, failed}, exitHostFailed},
		{"unreachable", []*pg.HostStatus{good, down}, exitUnreachable},
		{"unreachable then failed", []*pg.HostStatus{down, failed}, exitHostFailed},
		{"failed then unreachable", []*pg.HostStatus{failed, down}, exitHostFailed},
	} {
		if got := printPGStatus(io.Discard, c.hosts); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}
