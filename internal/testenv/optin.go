package testenv

import (
	"os"
	"testing"
)

// OptIn skips a test too costly for every local run (what it costs, in
// cost) unless the environment variable name is set; CI (CI set) always
// runs it.
func OptIn(t testing.TB, name, cost string) {
	t.Helper()
	if os.Getenv("CI") == "" && os.Getenv(name) == "" {
		t.Skipf("skipping: %s; set %s=1 to run it (CI always does)", cost, name)
	}
}
