// Package boolean is the one place sshplay reads a yes/no value the way
// Ansible does. Module arguments, play and task keywords and connection
// variables all go through Parse; the template `bool` filter goes through
// Filter. Nothing else in sshplay may decide what "yes" means.
//
// Parse is Ansible's boolean(value, strict=True)
// (ansible.module_utils.parsing.convert_bool): y, yes, on, 1, true, t and the
// numbers 1 and 1.0 are true; n, no, off, 0, false, f and 0, 0.0 are false;
// case and surrounding blanks do not matter; anything else is an error.
// Ansible reads connection variables (ansible_become and friends) with
// strict=False, which turns a typo into false; sshplay refuses it instead,
// since a silently dropped become is worse than a clear error.
//
// Filter is Ansible's `bool` Jinja filter (to_bool): only yes, on, 1, true
// (any case, no blanks trimmed) and the number 1 are true; everything else
// is false, never an error.
package boolean

import (
	"fmt"
	"strings"
)

// Error says why a value is not a boolean.
type Error struct {
	Value any
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s is not a valid boolean; use true or false", describe(e.Value))
}

// BadInput marks the error as the user's input (exit code 5).
func (e *Error) BadInput() bool { return true }

func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// Parse reads v as Ansible's strict boolean(): see the package doc.
func Parse(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "y", "yes", "on", "1", "true", "t":
			return true, nil
		case "n", "no", "off", "0", "false", "f":
			return false, nil
		}
	default:
		if f, ok := number(v); ok && (f == 0 || f == 1) {
			return f == 1, nil
		}
	}
	return false, &Error{Value: v}
}

// ParseString is Parse for text: a YAML scalar, an INI value, a flag.
func ParseString(s string) (bool, error) { return Parse(s) }

// Filter reads v as Ansible's `bool` template filter: see the package doc.
func Filter(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "yes", "on", "1", "true":
			return true
		}
		return false
	}
	f, ok := number(v)
	return ok && f == 1
}

// number returns v as a float64 when it is a Go number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
