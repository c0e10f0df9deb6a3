package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad variables of the TLS job are bad input: exit 5 with the reason,
// before any host is connected (the host here does not exist: reaching
// for it would end unreachable, exit 4).
func TestPlayBadJobVariablesExitFiveBeforeConnecting(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inventory.ini")
	if err := os.WriteFile(inv, []byte("[dbservers]\ndb1 ansible_host=127.0.0.254 ansible_port=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		extra, want string
	}{
		{"pg_port=abc", `pg_port: want an integer, got "abc"`},
		{"tls_cert_days=-5", "tls_cert_days -5: want 1 to 36500"},
		{"tls_key_type=ed25519", "tls_key_type ed25519 refused"},
	} {
		code, _, stderr := runCLI(t, "play", "postgres-tls", "-i", inv, "-e", tc.extra)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "db1") {
			t.Errorf("-e %s: exit %d, stderr %q; want 5 naming db1 and %q", tc.extra, code, stderr, tc.want)
		}
	}
}
