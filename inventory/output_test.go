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
	t.Parallel()
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

// TestListWritesFloatsAsAnsible: floats print as Python's json.dumps
// prints them, as recorded from ansible-inventory 2.14.18 --list for
// "h a=1.0 b=1e16 c=0.00001 d=-0.0 e=123.456 f=1e15 g=0.0001 h=1.5e300
// i=[1.0,2] j=5e-324 k=1e22 l=.5".
func TestListWritesFloatsAsAnsible(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, writeINI(t, "h a=1.0 b=1e16 c=0.00001 d=-0.0 e=123.456 f=1e15 g=0.0001 h=1.5e300 i=[1.0,2] j=5e-324 k=1e22 l=.5\n"))
	var b bytes.Buffer
	if err := inv.HostJSON(&b, "h", false); err != nil {
		t.Fatal(err)
	}
	want := `{
    "a": 1.0,
    "b": 1e+16,
    "c": 1e-05,
    "d": -0.0,
    "e": 123.456,
    "f": 1000000000000000.0,
    "g": 0.0001,
    "h": 1.5e+300,
    "i": [
        1.0,
        2
    ],
    "j": 5e-324,
    "k": 1e+22,
    "l": 0.5
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
