package transport_test

// The Conn contract (transport/conntest) against a real OpenSSH sshd (a
// lab host). The views (read-only, traced) add nothing that depends on the
// connection under them; they meet the contract over the local connection
// (conntest_test.go). Skips without a lab, fails when CI is set.

import (
	"context"
	"strings"
	"testing"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
	"github.com/sshplay/sshplay/transport/conntest"
)

func TestLabSSHConnMeetsConnContract(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	// One connection makes and removes the scratch directories, so a test
	// that closes its own Conn leaves the cleanup working.
	admin := labDial(t, l, h, "")
	conntest.Run(t, labHarness(l, h, admin))
}

// labHarness dials lab host h afresh per contract test, as the login user
// sshplay, with a scratch directory under /tmp.
func labHarness(l *lab.Lab, h lab.Host, admin transport.Conn) conntest.Harness {
	return conntest.Harness{
		Open: func(t *testing.T) conntest.Env {
			ctx := context.Background()
			res, err := admin.Run(ctx, "mktemp -d /tmp/sshplay-conntest.XXXXXX", transport.RunOptions{})
			if err != nil {
				t.Fatalf("scratch directory: %v", err)
			}
			dir := strings.TrimSpace(string(res.Stdout))
			t.Cleanup(func() {
				root := admin.Become(transport.Become{Enabled: true})
				if _, err := root.Run(context.Background(), "rm -rf -- "+shellescape.Quote(dir), transport.RunOptions{}); err != nil {
					t.Errorf("remove scratch directory: %v", err)
				}
			})
			return conntest.Env{Conn: labDial(t, l, h, ""), Dir: dir}
		},
		Become: true,
		Shell:  true,
		User:   "sshplay",
		Other:  "postgres",
	}
}
