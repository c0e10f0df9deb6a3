package transport

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// readSizes is a reader that records the size of every buffer it is
// asked to fill.
type readSizes struct {
	r     io.Reader
	sizes []int
}

func (r *readSizes) Read(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	return r.r.Read(p)
}

// A session's output is copied with a small buffer (io.Copy would hold
// 32 KiB per stream for a long-lived session's whole life), and every
// byte still arrives.
func TestSessionOutputIsCopiedWithASmallBuffer(t *testing.T) {
	data := strings.Repeat("0123456789abcdef", 10000)
	src := &readSizes{r: strings.NewReader(data)}
	var dst bytes.Buffer
	n, err := io.Copy(smallCopy(&dst), src)
	if err != nil || n != int64(len(data)) || dst.String() != data {
		t.Fatalf("copied %d bytes, err %v, equal %v", n, err, dst.String() == data)
	}
	for _, s := range src.sizes {
		if s > 4<<10 {
			t.Fatalf("read with a %d-byte buffer, want at most 4 KiB", s)
		}
	}
	if smallCopy(nil) != nil {
		t.Fatal("a nil writer must stay nil, so that x/crypto discards the stream")
	}
}
