// Package syncio holds the one writer that many goroutines may share: the
// progress lines of hosts handled in parallel, the -vvv trace of concurrent
// hosts, the standard error of several ProxyCommands.
package syncio

import (
	"io"
	"sync"
)

// Writer serialises writes to the writer it wraps, so lines written by
// concurrent goroutines never interleave within one Write.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes p to the wrapped writer while holding the lock.
func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
