package inventory

import (
	"fmt"
	"strings"
)

// Error is a problem in an inventory source or a vars file, or an invalid
// host pattern. File is empty for a pattern; Line and Col are 0 when unknown.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line <= 0:
		return e.File + ": " + e.Msg
	case e.Col <= 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// BadInput marks the error as the user's input (sshplay exits 5).
func (e *Error) BadInput() bool { return true }

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// NoMatchError says a host pattern (or one term of it) selected no host.
// Groups lists the inventory's groups, sorted, without all and ungrouped,
// so the user can spot a typo.
type NoMatchError struct {
	Pattern string
	Groups  []string
}

func (e *NoMatchError) Error() string {
	if len(e.Groups) == 0 {
		return fmt.Sprintf("no hosts matched %q; the inventory has no groups", e.Pattern)
	}
	return fmt.Sprintf("no hosts matched %q; groups: %s", e.Pattern, strings.Join(e.Groups, ", "))
}

// BadInput marks the error as the user's input (sshplay exits 5).
func (e *NoMatchError) BadInput() bool { return true }

// Pos is where something was defined: file and 1-based line (and column for
// YAML, 0 when unknown). A host from a comma-separated -i list has the list
// itself as File and Line 0.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	switch {
	case p.Line <= 0:
		return p.File
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}
