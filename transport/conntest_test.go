package transport_test

// The Conn contract (transport/conntest) on the control machine: the local
// connection and the read-only and traced views of it.

import (
	"io"
	"os"
	"os/user"
	"testing"

	"github.com/sshplay/sshplay/transport"
	"github.com/sshplay/sshplay/transport/conntest"
)

// localHarness opens a LocalConn per contract test, with a fresh temporary
// directory; wrap turns it into the Conn under test.
func localHarness(t *testing.T, readOnly bool, wrap func(transport.Conn) transport.Conn) conntest.Harness {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return conntest.Harness{
		Open: func(t *testing.T) conntest.Env {
			c := transport.NewLocalConn("localhost")
			t.Cleanup(func() { c.Close() })
			return conntest.Env{Conn: wrap(c), Setup: c, Dir: t.TempDir()}
		},
		ReadOnly: readOnly,
		// Become needs no sudo rule when sshplay runs as root.
		Become: os.Geteuid() == 0,
		Shell:  true,
		User:   me.Username,
		Other:  otherLocalUser(me.Username),
	}
}

// otherLocalUser is a user of this machine other than me that has a group
// of its own name, or "".
func otherLocalUser(me string) string {
	for _, name := range []string{"postgres", "nobody", "daemon"} {
		if name == me {
			continue
		}
		if _, err := user.Lookup(name); err != nil {
			continue
		}
		if _, err := user.LookupGroup(name); err == nil {
			return name
		}
	}
	return ""
}

func TestLocalConnMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, localHarness(t, false, func(c transport.Conn) transport.Conn { return c }))
}

func TestReadOnlyMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, localHarness(t, true, transport.ReadOnly))
}

func TestTracedMeetsConnContract(t *testing.T) {
	t.Parallel()
	conntest.Run(t, localHarness(t, false, func(c transport.Conn) transport.Conn { return transport.Traced(c, io.Discard) }))
}
