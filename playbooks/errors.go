package playbooks

import (
	"fmt"
)

// ParseError is a playbook that cannot be run as written: a syntax error,
// an unknown key or module, a wrong type, a template that does not parse.
// Nothing runs when a playbook has one (exit 5).
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// BadInput marks the error as the user's input (exit code 5).
func (e *ParseError) BadInput() bool { return true }
