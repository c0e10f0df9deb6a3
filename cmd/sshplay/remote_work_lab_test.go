package main

import (
	"encoding/json"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// remoteWork is what the flagship may ask of one host, at most: a count
// above it means a change made the job chattier (more sessions, sudo,
// commands or round trips on a slow link). These are counts, not times.
type remoteWork struct {
	sessions, sudo, commands, sftpRequests, roundTrips int64
}

// TestFlagshipRemoteWorkPerHost runs postgres-tls on fresh lab hosts in
// check mode, for real, and again, and holds each host's transport counts
// (the JSON output's "transport") to the figures the job was built for:
// one long-lived shell and one sftp-server per host (plus the run lock's
// session), nothing written on the rerun.
func TestFlagshipRemoteWorkPerHost(t *testing.T) {
	l := labtest.New(t, 2)
	inv := l.InventoryINI()
	for _, step := range []struct {
		name string
		args []string
		max  remoteWork
	}{
		{"check on a fresh fleet", []string{"--check"}, remoteWork{sessions: 2, sudo: 2, commands: 4, sftpRequests: 12, roundTrips: 30}},
		{"fresh run", nil, remoteWork{sessions: 3, sudo: 3, commands: 8, sftpRequests: 140, roundTrips: 120}},
		{"no-change rerun", nil, remoteWork{sessions: 2, sudo: 2, commands: 2, sftpRequests: 0, roundTrips: 14}},
	} {
		args := append([]string{"play", "postgres-tls", "-i", inv, "--output", "json"}, step.args...)
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", step.name, code, errOut)
		}
		var doc struct {
			Transport map[string]transport.Stats `json:"transport"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		for _, h := range l.Hosts {
			st, ok := doc.Transport[h.Name]
			if !ok {
				t.Fatalf("%s: no transport counts for %s in %s", step.name, h.Name, out)
			}
			got := remoteWork{st.Sessions, st.Sudo, st.Commands, st.SFTPRequests, st.RoundTrips}
			if st.Connections != 1 || got.sessions > step.max.sessions || got.sudo > step.max.sudo || got.commands > step.max.commands ||
				got.sftpRequests > step.max.sftpRequests || got.roundTrips > step.max.roundTrips {
				t.Errorf("%s on %s: %+v (connections %d), want at most %+v and 1 connection", step.name, h.Name, got, st.Connections, step.max)
			}
		}
	}
}
