package playbooks

import (
	"context"
	"testing"
	"time"

	"github.com/sshplay/sshplay/transport"
)

// slowConnector holds one host's dial until released.
type slowConnector struct {
	*memFleet
	slow    string
	release chan struct{}
}

func (s *slowConnector) Conn(ctx context.Context, host string, vars map[string]any) (transport.Conn, error) {
	if host == s.slow {
		<-s.release
	}
	return s.memFleet.Conn(ctx, host, vars)
}

// TestHostStartsWithoutWaitingForOthersToConnect: a host whose connection is
// ready runs its first task while another host of the batch is still
// connecting (an unreachable host must not hold the fleet back for its
// whole connect timeout).
func TestHostStartsWithoutWaitingForOthersToConnect(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	sc := &slowConnector{memFleet: f, slow: "db02", release: make(chan struct{})}
	ranFirst := make(chan bool, 1)
	go func() {
		deadline := time.After(10 * time.Second) // deadlock guard, not a speed check
		for {
			select {
			case <-deadline:
				ranFirst <- false
				close(sc.release)
				return
			case <-time.After(5 * time.Millisecond):
			}
			if len(f.ran("db01")) > 0 {
				ranFirst <- true
				close(sc.release)
				return
			}
		}
	}()
	sum, out := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - trun: echo one
    - trun: echo two
`, func(o *Options) { o.Connector = sc })
	if !<-ranFirst {
		t.Fatalf("db01 did not start its first task while db02 was connecting:\n%s", out)
	}
	for _, h := range []string{"db01", "db02"} {
		if st := stats(t, sum, h); st.Changed != 2 || st.Failed != 0 || st.Unreachable != 0 {
			t.Errorf("%s: %+v", h, st)
		}
	}
}
