package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLabUpRejectsBadStandbyAndClientCertValues: a bad --standby or
// --client-cert value exits 5 with one line saying what is wrong, before
// the lab directory is even made (so it needs no root).
func TestLabUpRejectsBadStandbyAndClientCertValues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--standby", "db02"}, `standby "db02": want STANDBY=PRIMARY[:SSLMODE]`},
		{[]string{"--standby", "db02=db01:off"}, `sslmode "off": want one of disable, allow, prefer, require, verify-ca, verify-full`},
		{[]string{"--standby", "db02=db02"}, "its own standby"},
		{[]string{"--standby", "db05=db01"}, "no host db05 (the lab has db01..db02)"},
		{[]string{"--client-cert", "db01"}, `client-cert "db01": want HOST=ROLE`},
		{[]string{"--client-cert", "db01=Alice"}, `role "Alice": want a lower-case name`},
		{[]string{"--client-cert", "db02=alice", "--standby", "db02=db01"}, "db02 is to be a standby (read-only)"},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"lab", "up", "2", "--dir", dir}, tc.flags...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("bad input made the lab directory %s", dir)
	}
}
