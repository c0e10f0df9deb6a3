package transport

import "testing"

func TestZZDefaultConfig(t *testing.T) {
	tg, w, err := TargetFromVars("db1", map[string]any{"ansible_host": "127.0.0.5"}, Overrides{})
	t.Logf("%+v %q %v", tg, w, err)
	c, err := decodeSSHConfig([]byte("Match host foo\n  User x\nHost *\n  User y\n"))
	t.Logf("%v %v", c, err)
	if c != nil {
		v, err := c.Get("foo", "User")
		t.Logf("%q %v", v, err)
	}
}
