package template

// A YAML writer laid out as PyYAML's yaml.dump, which Ansible's to_yaml
// and to_nice_yaml call: sorted keys, block sequences not indented under
// their key, an item's mapping or sequence starting on the dash's line at
// the next indent ("-   a: 2" with indent 4), and with flowLeaves (to_yaml's
// default_flow_style=None) collections of scalars written [a, b] / {k: v}.

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

type pyYAML struct {
	b          strings.Builder
	indent     int
	flowLeaves bool
}

// dumpPyYAML writes v as yaml.dump(v, indent=indent, default_flow_style=
// not flowLeaves and False or None) would.
func dumpPyYAML(v any, indent int, flowLeaves bool) string {
	w := &pyYAML{indent: max(indent, 2), flowLeaves: flowLeaves}
	v = jsonable(v)
	if s, plain, ok := w.leaf(v); ok {
		w.b.WriteString(s + "\n")
		if plain {
			w.b.WriteString("...\n")
		}
		return w.b.String()
	}
	w.node(v, 0, false)
	return w.b.String()
}

// leaf writes v on one line if it is a scalar, an empty collection or (with
// flowLeaves) a collection of scalars; plain says it is a plain scalar.
func (w *pyYAML) leaf(v any) (string, bool, bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return "{}", false, true
		}
		if !w.flowLeaves || !allScalars(mapValues(x)) {
			return "", false, false
		}
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, pyFlowScalar(k)+": "+pyFlowScalar(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}", false, true
	case []any:
		if len(x) == 0 {
			return "[]", false, true
		}
		if !w.flowLeaves || !allScalars(x) {
			return "", false, false
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyFlowScalar(e)
		}
		return "[" + strings.Join(parts, ", ") + "]", false, true
	}
	s := pyScalar(v)
	return s, !strings.HasPrefix(s, "'") && !strings.HasPrefix(s, `"`), true
}

// node writes a mapping or sequence whose first line continues the current
// one when inline (after "- "), else starts at column col.
func (w *pyYAML) node(v any, col int, inline bool) {
	pad := func(first bool) {
		if !first || !inline {
			w.b.WriteString(strings.Repeat(" ", col))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for i, k := range sortedKeys(x) {
			pad(i == 0)
			w.b.WriteString(pyScalar(k) + ":")
			w.value(x[k], col, true)
		}
	case []any:
		for i, e := range x {
			pad(i == 0)
			w.b.WriteString("-")
			w.value(e, col, false)
		}
	}
}

// value writes what follows "key:" or "-" at column col.
func (w *pyYAML) value(v any, col int, inMap bool) {
	if s, _, ok := w.leaf(v); ok {
		w.b.WriteString(" " + s + "\n")
		return
	}
	if !inMap {
		w.b.WriteString(strings.Repeat(" ", w.indent-1))
		w.node(v, col+w.indent, true)
		return
	}
	w.b.WriteString("\n")
	if _, isList := v.([]any); isList {
		w.node(v, col, false)
		return
	}
	w.node(v, col+w.indent, false)
}

func allScalars(l []any) bool {
	for _, e := range l {
		switch e.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func mapValues(m map[string]any) []any {
	out := make([]any, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// reYAML11Special are plain strings PyYAML would read back as another
// type (YAML 1.1 booleans, nulls, numbers, dates), so it quotes them.
var reYAML11Special = regexp.MustCompile(`^(?i:yes|no|true|false|on|off|null|~|` +
	`[-+]?(?:0|[1-9][0-9_]*|0[0-7_]+|0x[0-9a-f_]+|0b[01_]+)|` +
	`[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:e[-+][0-9]+)?|[-+]?\.(?:inf)|\.nan|` +
	`[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$`)

// pyScalar writes a scalar as PyYAML does: plain when it reads back the
// same, else single-quoted, or double-quoted with escapes for control
// characters and line breaks.
func pyScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int, int64, int32, uint64:
		return fmt.Sprint(x)
	case float64:
		return pyFloat(x)
	case string:
		return pyString(x)
	}
	return pyString(fmt.Sprint(v))
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	case math.IsNaN(f):
		return ".nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func pyString(s string) string {
	if s == "" {
		return "''"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(s)
	}
	if plainSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func plainSafe(s string) bool {
	if reYAML11Special.MatchString(s) || strings.TrimSpace(s) != s {
		return false
	}
	if strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") &&
		!(len(s) > 1 && strings.ContainsAny(s[:1], "-?:") && s[1] != ' ') {
		return false
	}
	return !strings.Contains(s, ": ") && !strings.Contains(s, " #") && !strings.HasSuffix(s, ":")
}

// pyFlowScalar is a scalar inside [ ] or { }, where , [ ] { } cannot be
// plain.
func pyFlowScalar(v any) string {
	if str, ok := v.(string); ok && strings.ContainsAny(str, ",[]{}") && !strings.HasPrefix(pyString(str), `"`) {
		return "'" + strings.ReplaceAll(str, "'", "''") + "'"
	}
	return pyScalar(v)
}

func yamlIndent(params *exec.VarArgs, def int) int {
	if v := params.GetKeywordArgument("indent", nil); !v.IsNil() {
		return v.Integer()
	}
	return def
}

func filterToNiceYAML(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	return exec.AsValue(dumpPyYAML(goValue(in), yamlIndent(params, 4), false))
}

func filterToPyYAML(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	return exec.AsValue(dumpPyYAML(goValue(in), yamlIndent(params, 2), true))
}
