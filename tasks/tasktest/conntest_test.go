package tasktest

import (
	"io"
	"testing"

	"github.com/sshplay/sshplay/transport"
	"github.com/sshplay/sshplay/transport/conntest"
)

// fakeHarness opens a fresh fake host per contract test, with its login
// user's scratch directory; wrap turns the fake into the Conn under test.
func fakeHarness(readOnly bool, wrap func(transport.Conn) transport.Conn) conntest.Harness {
	return conntest.Harness{
		Open: func(t *testing.T) conntest.Env {
			c := New("fakehost", "sshplay")
			c.AddDir("/srv/scratch", 0o755)
			return conntest.Env{Conn: wrap(c), Setup: c, Dir: "/srv/scratch"}
		},
		ReadOnly: readOnly,
		Become:   true,
		User:     "sshplay",
		Other:    "postgres",
	}
}

func TestFakeMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, fakeHarness(false, func(c transport.Conn) transport.Conn { return c }))
}

func TestReadOnlyFakeMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, fakeHarness(true, transport.ReadOnly))
}

func TestTracedFakeMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, fakeHarness(false, func(c transport.Conn) transport.Conn { return transport.Traced(c, io.Discard) }))
}
