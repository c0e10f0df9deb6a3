// Package testenv holds the one rule for tests that need something from
// the machine (root, sshd, PostgreSQL, openssl): skip where it is
// missing, but fail when the environment variable CI is set, so that a CI
// run never passes by skipping.
package testenv

import (
	"os"
	"testing"
)

// SkipOrFail skips the test, or fails it when CI is set.
func SkipOrFail(t testing.TB, format string, a ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set, so this is required: "+format, a...)
	}
	t.Skipf("skipping: "+format, a...)
}
