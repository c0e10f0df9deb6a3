package core

import (
	"strings"
	"testing"
)

// FuzzParseMode: any mode text is accepted or refused without a panic; an
// accepted mode applied to any current mode gives permission and special
// bits only; an octal mode gives exactly its bits whatever the current mode.
func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"0644", "u=rw,g=r,o=r", "a+X", "u+s,g-w", "=", "o=u", "0o7777", "preserve", "ug+rwx,o-rwx", "+t"} {
		f.Add(s, uint32(0o755), true)
	}
	f.Fuzz(func(t *testing.T, s string, cur uint32, isDir bool) {
		m, err := parseMode(s, true)
		if err != nil || m.preserve {
			return
		}
		got := m.apply(cur&0o7777, isDir)
		if got&^0o7777 != 0 {
			t.Fatalf("mode %q on %o: %o has bits beyond 07777", s, cur, got)
		}
		if m.octal && got != m.bits {
			t.Fatalf("octal mode %q on %o: %o, want %o", s, cur, got, m.bits)
		}
		if m.octal && !strings.ContainsAny(s, "ugoarwxXst+-=,") {
			if again, err := parseMode(octalString(got), false); err != nil || again.bits != got {
				t.Fatalf("mode %q: %04o does not read back: %v", s, got, err)
			}
		}
	})
}
