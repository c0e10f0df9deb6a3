package transport

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTracedWithMasksAndHidesNoLog(t *testing.T) {
	var buf bytes.Buffer
	mask := func(s string) string { return strings.ReplaceAll(s, "hunter22", "********") }
	long := "echo " + strings.Repeat("x", 150) + " hunter22"
	c := TracedWith(Local(), &buf, TraceOptions{Mask: mask})
	if _, err := c.Run(context.Background(), long, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "echo hunter22", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	nl := TracedWith(Local(), &buf, TraceOptions{NoLog: true})
	if _, err := nl.Run(context.Background(), "echo nolog-secret", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"hunter", "nolog-secret"} {
		if strings.Contains(out, bad) {
			t.Errorf("trace shows %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "run (no_log)") || !strings.Contains(out, "echo ********") {
		t.Errorf("trace:\n%s", out)
	}
}
