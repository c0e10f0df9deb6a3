package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/playbooks"
)

// badInput is an error of a package below cmd that says it is bad input.
type badInput struct{}

func (badInput) Error() string  { return "bad" }
func (badInput) BadInput() bool { return true }

// TestExitCode: exitCode is the one place errors become exit codes, for
// every typed outcome a command returns, wrapped or not.
func TestExitCode(t *testing.T) {
	bg := context.Background()
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"ok", bg, nil, exitOK},
		{"plain error", bg, errors.New("boom"), exitError},
		{"usage", bg, usageError{errors.New("bad flag")}, exitUsage},
		{"bad input wrapped", bg, fmt.Errorf("inventory: %w", badInput{}), exitUsage},
		{"no match", bg, &inventory.NoMatchError{Pattern: "x"}, exitUsage},
		{"host failed", bg, &hostsError{Failed: 1}, exitHostFailed},
		{"failed beats unreachable", bg, &hostsError{Failed: 1, Unreachable: 3}, exitHostFailed},
		{"unreachable", bg, &hostsError{Unreachable: 2}, exitUnreachable},
		{"interrupted run", bg, &hostsError{Failed: 1, Interrupted: true}, exitInterrupted},
		{"hosts wrapped", bg, fmt.Errorf("play: %w", &hostsError{Unreachable: 1}), exitUnreachable},
		{"context cancelled", cancelled, &hostsError{Failed: 1}, exitInterrupted},
		{"canceled error", bg, fmt.Errorf("dial: %w", context.Canceled), exitInterrupted},
	} {
		if got := exitCode(c.ctx, c.err); got != c.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

// TestHostsOutcome: a run with every host fine is no error; otherwise the
// summary's counts become a *hostsError, which main does not print again.
func TestHostsOutcome(t *testing.T) {
	for _, c := range []struct {
		name string
		sum  *playbooks.Summary
		want *hostsError
	}{
		{"all ok", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {OK: 2}, "b": {Rescued: 1, Ignored: 1}}}, nil},
		{"no hosts", &playbooks.Summary{}, nil},
		{"failed and unreachable", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {Failed: 2}, "b": {Unreachable: 1}, "c": {Failed: 1}}}, &hostsError{Failed: 2, Unreachable: 1}},
		{"interrupted", &playbooks.Summary{Stats: map[string]*playbooks.Stats{"a": {OK: 1}}, Interrupted: true}, &hostsError{Interrupted: true}},
	} {
		err := hostsOutcome(c.sum, false)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v, want nil", c.name, err)
			}
			continue
		}
		var he *hostsError
		if !errors.As(err, &he) || *he != *c.want {
			t.Errorf("%s: %#v, want %#v", c.name, err, c.want)
			continue
		}
		if !reported(err) {
			t.Errorf("%s: main would print %q again after the recap", c.name, err)
		}
	}
	if reported(errors.New("boom")) || reported(usageError{errors.New("x")}) {
		t.Error("ordinary errors must be printed by main")
	}
}
