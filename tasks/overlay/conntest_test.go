package overlay

// The planning view with nothing planned is a read-only Conn and must meet
// the whole read-only part of the Conn contract (transport/conntest), on
// the control machine and on the in-memory test host.

import (
	"os"
	"os/user"
	"testing"

	"github.com/sshplay/sshplay/tasks/tasktest"
	"github.com/sshplay/sshplay/transport"
	"github.com/sshplay/sshplay/transport/conntest"
)

func TestEmptyViewOfLocalMeetsConnContract(t *testing.T) {
	t.Parallel()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	conntest.Run(t, conntest.Harness{
		Open: func(t *testing.T) conntest.Env {
			c := transport.NewLocalConn("localhost")
			t.Cleanup(func() { c.Close() })
			return conntest.Env{Conn: View(c, NewOverlay()), Setup: c, Dir: t.TempDir()}
		},
		ReadOnly: true,
		Become:   os.Geteuid() == 0,
		Shell:    true,
		User:     me.Username,
	})
}

func TestEmptyViewOfFakeMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, conntest.Harness{
		Open: func(t *testing.T) conntest.Env {
			c := tasktest.New("fakehost", "sshplay")
			c.AddDir("/srv/scratch", 0o755)
			return conntest.Env{Conn: View(c, NewOverlay()), Setup: c, Dir: "/srv/scratch"}
		},
		ReadOnly: true,
		Become:   true,
		User:     "sshplay",
	})
}
