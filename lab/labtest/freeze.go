package labtest

import (
	"testing"

	"github.com/sshplay/sshplay/lab"
)

// FreezeSSH makes host look like a frozen VM (lab.Lab.FreezeSSH): its sshd
// and everything under it stop answering while connections stay open. The
// host is thawed when the test ends, before the lab is taken down, or
// earlier by calling thaw.
func FreezeSSH(t testing.TB, l *lab.Lab, host string) (thaw func()) {
	t.Helper()
	th, err := l.FreezeSSH(host)
	if err != nil {
		t.Fatalf("freeze %s: %v", host, err)
	}
	done := false
	thaw = func() {
		if done {
			return
		}
		done = true
		if err := th(); err != nil {
			t.Errorf("thaw %s: %v", host, err)
		}
	}
	t.Cleanup(thaw)
	return thaw
}
