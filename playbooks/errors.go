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

// TaskTemplateError is a template of a task that could not be rendered on
// a host, most often because it uses a variable not defined there
// (Err is then a *template.UndefinedError). It names what the user wrote,
// where: the module for its free-form text ("command"), an argument
// ("msg"), or a keyword with its expression (`when "x > 1"`, "loop"),
// so the message can be acted on without knowing the names sshplay uses
// inside (_raw_params). Like Ansible's "The task includes an option with
// an undefined variable", it fails the task on that host only: another
// host may define the variable, so it is no bad input.
type TaskTemplateError struct {
	Pos  Pos
	What string
	Err  error
}

func (e *TaskTemplateError) Error() string {
	if e.Pos.Line == 0 { // an ad-hoc task: no file to point into
		return fmt.Sprintf("%s: %v", e.What, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Pos, e.What, e.Err)
}

func (e *TaskTemplateError) Unwrap() error { return e.Err }

// argError is err from rendering t's argument name, named as the user
// wrote it: the module itself for its free-form text.
func (t *Task) argError(name string, err error) error {
	what := name
	if name == freeFormArg {
		what = t.moduleKey()
	}
	at, ok := t.ArgPos[name]
	if !ok {
		at = t.ModulePos
	}
	return &TaskTemplateError{Pos: at, What: what, Err: err}
}

// keyError is err from evaluating t's keyword key (when, loop, ...), with
// expr, the expression that failed, when there are several.
func (t *Task) keyError(key, expr string, err error) error {
	at, ok := t.KeyPos[key]
	if !ok {
		at = t.Pos
	}
	what := key
	if expr != "" {
		what = fmt.Sprintf("%s %q", key, expr)
	}
	return &TaskTemplateError{Pos: at, What: what, Err: err}
}

// moduleKey is the task's module as written.
func (t *Task) moduleKey() string {
	if t.ModuleKey != "" {
		return t.ModuleKey
	}
	return t.Module
}
