package playbooks

import (
	"context"
	"testing"
	"time"
)

func TestZZProf(t *testing.T) {
	registerAll()
	data := largePlaybook()
	s := time.Now()
	if _, err := ParseContext(context.Background(), "big.yml", data); err != nil {
		t.Fatal(err)
	}
	t.Logf("parse %v", time.Since(s))
}
