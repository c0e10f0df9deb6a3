package main

// targets.go checks every selected host's connection settings before a
// command connects anywhere, so that a bad ansible_port or an unclosed quote
// in ansible_ssh_common_args is bad input (exit 5, nothing run) rather than
// an "unreachable" host while the others run. It never dials a host.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/transport"
)

// badTargetError is the first host whose connection variables are invalid,
// with where the host is defined and how many more hosts are wrong.
type badTargetError struct {
	pos  inventory.Pos
	err  *transport.TargetError
	more int
}

func (e *badTargetError) Error() string {
	msg := e.err.Error()
	if e.pos.File != "" && e.pos.Line > 0 {
		msg = e.pos.String() + ": " + msg
	}
	if e.more > 0 {
		msg += fmt.Sprintf(" (and %d more host(s) with bad connection settings)", e.more)
	}
	return msg
}

func (e *badTargetError) Unwrap() error  { return e.err }
func (e *badTargetError) BadInput() bool { return true }

// validateTargets builds the SSH target of every host (after -l) from its
// merged variables and the command-line overrides, as the connection pool
// will, and returns a one-line *badTargetError (exit 5) for the first host
// whose settings are invalid. Hosts whose connection variables hold a
// template ({{ ... }}) are left to the engine, which resolves them first.
// `sshplay exec` and `sshplay play` call it before running anything.
func validateTargets(inv *inventory.Inventory, hosts []*inventory.Host, g *globals) error {
	ov := g.transportOverrides()
	var first *badTargetError
	for _, h := range hosts {
		vars := inv.HostVars(h.Name)
		if templatedConnVars(vars) {
			continue
		}
		_, _, err := transport.TargetFromVars(h.Name, vars, ov)
		if err == nil {
			continue
		}
		var te *transport.TargetError
		if !errors.As(err, &te) {
			return err
		}
		if first == nil {
			first = &badTargetError{pos: h.Pos, err: te}
		} else {
			first.more++
		}
	}
	if first != nil {
		return first
	}
	return nil
}

// templatedConnVars reports whether a connection variable (ansible_* or
// sshplay_*) is a template the engine must render before it means anything.
func templatedConnVars(vars map[string]any) bool {
	for k, v := range vars {
		s, ok := v.(string)
		if !ok || !(strings.HasPrefix(k, "ansible_") || strings.HasPrefix(k, "sshplay_")) {
			continue
		}
		if strings.Contains(s, "{{") || strings.Contains(s, "{%") {
			return true
		}
	}
	return false
}
