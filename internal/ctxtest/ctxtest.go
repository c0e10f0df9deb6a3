// Package ctxtest gives tests a context that is cancelled at a chosen
// point of the work that consults it, counted in looks at Err, so a test
// can prove that a long loop stops when cancelled without timing
// anything. Used by tests only.
package ctxtest

import (
	"context"
	"sync/atomic"
)

// Countdown is a context whose Err turns to context.Canceled at its At-th
// call (never, when At is 0), and counts every call. Done never closes:
// the code under test must look at Err, as its walk loops do.
type Countdown struct {
	context.Context
	At    int64
	calls atomic.Int64
}

// New returns a Countdown that cancels at look at (0: never).
func New(at int64) *Countdown {
	return &Countdown{Context: context.Background(), At: at}
}

// Err returns context.Canceled from the At-th call on.
func (c *Countdown) Err() error {
	if n := c.calls.Add(1); c.At > 0 && n >= c.At {
		return context.Canceled
	}
	return nil
}

// Looks is how many times Err has been called.
func (c *Countdown) Looks() int64 { return c.calls.Load() }

// CutPoints returns where to cancel a run that looks total times: at its
// first look, a third and two thirds in, and at its last look but one.
func CutPoints(total int64) []int64 {
	return []int64{1, total / 3, 2 * total / 3, total - 1}
}
