package syncio

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentLinesStayWhole: lines written from many goroutines at once
// come out whole, one per Write.
func TestConcurrentLinesStayWhole(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	line := strings.Repeat("x", 4096) + "\n"
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := w.Write([]byte(line)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for i, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if l+"\n" != line {
			t.Fatalf("line %d torn: %d bytes", i, len(l))
		}
	}
}
