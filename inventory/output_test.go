package inventory

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputMasksBySecretName: --host masks by the one shared rule
// (secret.IsSecretName), so a name that only contains "pass" (compass,
// passive, pg_passfile) prints its value while db_pass is masked.
func TestOutputMasksBySecretName(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"inv.ini": "[db]\ndb1 compass=north passive=yes pg_passfile=/etc/pgpass db_pass=hunter2\n[db:vars]\nnested={'PGPASSWORD': 'x1', 'bypass': 'y'}\n",
	})
	inv := mustLoad(t, filepath.Join(dir, "inv.ini"))
	var host bytes.Buffer
	if err := inv.HostJSON(&host, "db1", false); err != nil {
		t.Fatal(err)
	}
	out := host.String()
	for _, want := range []string{
		`"compass": "north"`, `"passive": "yes"`, `"pg_passfile": "/etc/pgpass"`, `"bypass": "y"`,
		`"db_pass": "********"`, `"PGPASSWORD": "********"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--host lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{"hunter2", "x1"} {
		if strings.Contains(out, secret) {
			t.Errorf("--host shows secret %s:\n%s", secret, out)
		}
	}
}
