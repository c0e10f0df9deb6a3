package template

// Ansible filters and tests that gonja lacks, and the lookup() function.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/internal/yamlx"
)

var ansibleFilters = map[string]exec.FilterFunction{
	"bool":          filterBool,
	"to_json":       filterToJSON,
	"to_nice_json":  filterToNiceJSON,
	"from_json":     filterFromJSON,
	"to_yaml":       filterToPyYAML,
	"to_nice_yaml":  filterToNiceYAML,
	"regex_escape":  strFilter(regexEscape),
	"realpath":      strFilter(realpath),
	"strftime":      filterStrftime,
	"to_uuid":       filterToUUID,
	"password_hash": filterPasswordHash,
	"from_yaml":     filterFromYAML,
	"regex_replace": filterRegexReplace,
	"regex_search":  filterRegexSearch,
	"regex_findall": filterRegexFindall,
	"basename":      strFilter(path.Base),
	"dirname":       strFilter(path.Dir),
	"b64encode":     strFilter(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
	"b64decode":     filterB64Decode,
	"mandatory":     filterMandatory,
	"ternary":       filterTernary,
	"combine":       filterCombine,
	"dict2items":    filterDict2Items,
	"items2dict":    filterItems2Dict,
	"flatten":       filterFlatten,
	"unique":        filterUnique,
	"quote":         strFilter(shellQuote),
	"split":         filterSplit,
	"difference":    setFilter(func(in, other map[string]bool, k string) bool { return !other[k] }),
	"intersect":     setFilter(func(in, other map[string]bool, k string) bool { return other[k] }),
	"type_debug":    filterTypeDebug,
	"extract":       filterExtract,
	"string":        filterString,
	"int":           filterInt,
	"random":        filterRandom,
}

var ansibleTests = map[string]exec.TestFunction{
	"defined":         testDefined,
	"undefined":       testUndefined,
	"changed":         resultTest("changed"),
	"failed":          resultTest("failed"),
	"skipped":         resultTest("skipped"),
	"succeeded":       testSucceeded,
	"success":         testSucceeded,
	"version":         testVersion,
	"version_compare": testVersion,
	"match":           regexTest(true),
	"search":          regexTest(false),
	"regex":           regexTest(false),
}

func errValue(format string, args ...any) *exec.Value {
	return exec.AsValue(fmt.Errorf(format, args...))
}

func goValue(v *exec.Value) any {
	if v.IsNil() {
		return nil
	}
	g := v.ToGoSimpleType(false)
	if _, isErr := g.(error); isErr {
		return v.Interface()
	}
	return g
}

func strFilter(f func(string) string) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		return exec.AsValue(f(in.String()))
	}
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// ParseBool reads a value as Ansible's `bool` filter (to_bool) does:
// boolean.Filter, the one rule for it. Keywords are not read so: see
// boolean.Parse.
func ParseBool(v any) bool { return boolean.Filter(v) }

func filterBool(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	return exec.AsValue(ParseBool(goValue(in)))
}

func filterInt(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	def := 0
	if len(params.Args) > 0 {
		def = params.Args[0].Integer()
	}
	switch x := goValue(in).(type) {
	case int:
		return exec.AsValue(x)
	case float64:
		return exec.AsValue(int(x))
	case bool:
		if x {
			return exec.AsValue(1)
		}
		return exec.AsValue(0)
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 0, 64); err == nil {
			return exec.AsValue(int(n))
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return exec.AsValue(int(f))
		}
	}
	return exec.AsValue(def)
}

func filterString(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if in.IsNil() {
		return exec.AsValue("None") // Python's str(None), as Ansible's string filter gives
	}
	return exec.AsValue(in.String())
}

func toJSON(v any, indent bool) (string, error) {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(jsonable(v), "", "    ")
	} else {
		b, err = json.Marshal(jsonable(v))
	}
	return string(b), err
}

// jsonable turns map[any]any (from YAML) into JSON-encodable maps.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case *LazyVars:
		return jsonable(x.Map())
	}
	return v
}

func filterToJSON(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	indent := params.GetKeywordArgument("indent", nil)
	s, err := toJSON(goValue(in), !indent.IsNil())
	if err != nil {
		return errValue("to_json: %v", err)
	}
	return exec.AsValue(s)
}

func filterToNiceJSON(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	s, err := toJSON(goValue(in), true)
	if err != nil {
		return errValue("to_nice_json: %v", err)
	}
	return exec.AsValue(s)
}

func filterFromJSON(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var v any
	if err := json.Unmarshal([]byte(in.String()), &v); err != nil {
		return errValue("from_json: %v", err)
	}
	return exec.AsValue(normalizeJSON(v))
}

// normalizeJSON turns whole float64 numbers from encoding/json into ints.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
	}
	return v
}

func filterFromYAML(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	// A filter has no context to honour; the alias rule still bounds what
	// the text may expand to.
	doc, err := yamlx.Parse(context.Background(), "input", []byte(in.String()))
	if err != nil {
		return errValue("from_yaml: %v", err)
	}
	var v any
	if doc != nil {
		if v, err = yamlx.Value(context.Background(), "input", doc); err != nil {
			return errValue("from_yaml: %v", err)
		}
	}
	return exec.AsValue(jsonable(v))
}

// pyRegexp accepts Python's (?P<name>) and \g<1> forms.
func pyRegexp(expr string, ignoreCase bool) (*regexp.Regexp, error) {
	if ignoreCase {
		expr = "(?i)" + expr
	}
	return regexp.Compile(expr)
}

func filterRegexReplace(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 1 {
		return errValue("regex_replace: needs a pattern")
	}
	repl := ""
	if len(params.Args) > 1 {
		repl = params.Args[1].String()
	}
	re, err := pyRegexp(params.Args[0].String(), params.GetKeywordArgument("ignorecase", false).IsTrue())
	if err != nil {
		return errValue("regex_replace: %v", err)
	}
	repl = pyReplacement(repl)
	return exec.AsValue(re.ReplaceAllString(in.String(), repl))
}

func filterRegexSearch(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 1 {
		return errValue("regex_search: needs a pattern")
	}
	re, err := pyRegexp(params.Args[0].String(), params.GetKeywordArgument("ignorecase", false).IsTrue())
	if err != nil {
		return errValue("regex_search: %v", err)
	}
	m := re.FindStringSubmatch(in.String())
	if m == nil {
		return exec.AsValue(nil)
	}
	if len(params.Args) > 1 {
		// regex_search('(x)(y)', '\\1') returns the listed groups.
		var groups []any
		for _, a := range params.Args[1:] {
			ref := strings.TrimPrefix(a.String(), "\\")
			if n, err := strconv.Atoi(ref); err == nil && n < len(m) {
				groups = append(groups, m[n])
			} else if i := re.SubexpIndex(strings.TrimSuffix(strings.TrimPrefix(ref, "g<"), ">")); i > 0 {
				groups = append(groups, m[i])
			}
		}
		return exec.AsValue(groups)
	}
	return exec.AsValue(m[0])
}

func filterRegexFindall(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 1 {
		return errValue("regex_findall: needs a pattern")
	}
	re, err := pyRegexp(params.Args[0].String(), params.GetKeywordArgument("ignorecase", false).IsTrue())
	if err != nil {
		return errValue("regex_findall: %v", err)
	}
	out := []any{}
	for _, m := range re.FindAllString(in.String(), -1) {
		out = append(out, m)
	}
	return exec.AsValue(out)
}

func filterB64Decode(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(in.String()))
	if err != nil {
		return errValue("b64decode: %v", err)
	}
	return exec.AsValue(string(b))
}

func filterMandatory(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() || in.IsNil() {
		if len(params.Args) > 0 {
			return exec.AsValue(errors.New(params.Args[0].String()))
		}
		if in.IsError() {
			return in
		}
		return errValue("mandatory variable not defined")
	}
	return in
}

func filterTernary(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 2 {
		return errValue("ternary: needs a true and a false value")
	}
	if in.IsNil() && len(params.Args) > 2 {
		return params.Args[2]
	}
	if Truthy(goValue(in)) {
		return params.Args[0]
	}
	return params.Args[1]
}

func toMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case *LazyVars:
		return x.Map(), true
	}
	return nil, false
}

func mergeMaps(dst, src map[string]any, recursive bool) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if recursive {
			a, aok := out[k].(map[string]any)
			b, bok := v.(map[string]any)
			if aok && bok {
				out[k] = mergeMaps(a, b, true)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func filterCombine(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	base, ok := toMap(goValue(in))
	if !ok {
		return errValue("combine: input is not a dictionary")
	}
	recursive := params.GetKeywordArgument("recursive", false).IsTrue()
	for _, a := range params.Args {
		var others []any
		if l, isList := goValue(a).([]any); isList {
			others = l
		} else {
			others = []any{goValue(a)}
		}
		for _, o := range others {
			m, ok := toMap(o)
			if !ok {
				return errValue("combine: argument is not a dictionary")
			}
			base = mergeMaps(base, m, recursive)
		}
	}
	return exec.AsValue(base)
}

func filterDict2Items(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	m, ok := toMap(goValue(in))
	if !ok {
		return errValue("dict2items: input is not a dictionary")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(m))
	for _, k := range keys {
		out = append(out, map[string]any{"key": k, "value": m[k]})
	}
	return exec.AsValue(out)
}

func filterItems2Dict(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	l, ok := goValue(in).([]any)
	if !ok {
		return errValue("items2dict: input is not a list")
	}
	kn := params.GetKeywordArgument("key_name", "key").String()
	vn := params.GetKeywordArgument("value_name", "value").String()
	out := map[string]any{}
	for _, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			return errValue("items2dict: element is not a dictionary")
		}
		out[fmt.Sprint(m[kn])] = m[vn]
	}
	return exec.AsValue(out)
}

func flatten(l []any, depth int) []any {
	var out []any
	for _, e := range l {
		if sub, ok := e.([]any); ok && depth != 0 {
			out = append(out, flatten(sub, depth-1)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

func filterFlatten(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	l, ok := goValue(in).([]any)
	if !ok {
		return errValue("flatten: input is not a list")
	}
	depth := -1
	if len(params.Args) > 0 {
		depth = params.Args[0].Integer()
	} else if lv := params.GetKeywordArgument("levels", nil); !lv.IsNil() {
		depth = lv.Integer()
	}
	out := flatten(l, depth)
	if out == nil {
		out = []any{}
	}
	return exec.AsValue(out)
}

func keyOf(v any) string {
	b, _ := json.Marshal(jsonable(v))
	return string(b)
}

func filterUnique(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	l, ok := goValue(in).([]any)
	if !ok {
		return errValue("unique: input is not a list")
	}
	seen := map[string]bool{}
	out := []any{}
	for _, e := range l {
		k := keyOf(e)
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return exec.AsValue(out)
}

func setFilter(keep func(in, other map[string]bool, k string) bool) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		l, ok := goValue(in).([]any)
		if !ok || len(params.Args) != 1 {
			return errValue("set filter: needs a list and one list argument")
		}
		o, ok := goValue(params.Args[0]).([]any)
		if !ok {
			return errValue("set filter: argument is not a list")
		}
		other := map[string]bool{}
		for _, x := range o {
			other[keyOf(x)] = true
		}
		seen := map[string]bool{}
		out := []any{}
		for _, x := range l {
			k := keyOf(x)
			if keep(nil, other, k) && !seen[k] {
				seen[k] = true
				out = append(out, x)
			}
		}
		return exec.AsValue(out)
	}
}

func filterSplit(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var parts []string
	if len(params.Args) > 0 {
		parts = strings.Split(in.String(), params.Args[0].String())
	} else {
		parts = strings.Fields(in.String())
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return exec.AsValue(out)
}

func filterTypeDebug(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	switch goValue(in).(type) {
	case nil:
		return exec.AsValue("NoneType")
	case bool:
		return exec.AsValue("bool")
	case int:
		return exec.AsValue("int")
	case float64:
		return exec.AsValue("float")
	case string:
		return exec.AsValue("str")
	case []any:
		return exec.AsValue("list")
	case map[string]any:
		return exec.AsValue("dict")
	}
	return exec.AsValue(fmt.Sprintf("%T", goValue(in)))
}

// Tests.

func testDefined(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	return !in.IsError(), nil
}

func testUndefined(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	return in.IsError(), nil
}

func resultField(in *exec.Value, key string) (bool, error) {
	if in.IsError() {
		return false, errors.New(in.Error())
	}
	m, ok := goValue(in).(map[string]any)
	if !ok {
		return false, fmt.Errorf("the %q test expects a registered task result (a dictionary)", key)
	}
	return ParseBool(m[key]), nil
}

func resultTest(key string) exec.TestFunction {
	return func(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		return resultField(in, key)
	}
}

func testSucceeded(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	f, err := resultField(in, "failed")
	return !f, err
}

func regexTest(anchored bool) exec.TestFunction {
	return func(_ *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
		if in.IsError() {
			return false, errors.New(in.Error())
		}
		params = &exec.VarArgs{Args: testArgs(params), KwArgs: params.KwArgs}
		if len(params.Args) < 1 {
			return false, errors.New("regex test needs a pattern")
		}
		expr := params.Args[0].String()
		if anchored {
			expr = "^(?:" + expr + ")"
		}
		re, err := pyRegexp(expr, params.GetKeywordArgument("ignorecase", false).IsTrue())
		if err != nil {
			return false, err
		}
		return re.MatchString(in.String()), nil
	}
}

// CompareVersions compares dotted versions numerically where both parts
// are numbers ("9.6" < "12", "15.2" > "15.10" is false).
func CompareVersions(a, b string) int {
	pa := strings.FieldsFunc(a, func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	pb := strings.FieldsFunc(b, func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		if x == "" {
			nx, ex = 0, nil
		}
		if y == "" {
			ny, ey = 0, nil
		}
		switch {
		case ex == nil && ey == nil:
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// testArgs unpacks gonja's parse of "is test('a', 'b')", which arrives as
// one tuple argument.
func testArgs(params *exec.VarArgs) []*exec.Value {
	if len(params.Args) == 1 && params.Args[0].IsList() {
		var out []*exec.Value
		params.Args[0].Iterate(func(_, _ int, v, _ *exec.Value) bool {
			out = append(out, v)
			return true
		}, func() {})
		return out
	}
	return params.Args
}

func testVersion(_ *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
	params = &exec.VarArgs{Args: testArgs(params), KwArgs: params.KwArgs}
	if in.IsError() {
		return false, errors.New(in.Error())
	}
	if len(params.Args) < 1 {
		return false, errors.New("version test needs a version to compare with")
	}
	op := "=="
	if len(params.Args) > 1 {
		op = params.Args[1].String()
	} else if o := params.GetKeywordArgument("operator", nil); !o.IsNil() {
		op = o.String()
	}
	c := CompareVersions(in.String(), params.Args[0].String())
	switch op {
	case "==", "=", "eq":
		return c == 0, nil
	case "!=", "<>", "ne":
		return c != 0, nil
	case "<", "lt":
		return c < 0, nil
	case "<=", "le":
		return c <= 0, nil
	case ">", "gt":
		return c > 0, nil
	case ">=", "ge":
		return c >= 0, nil
	}
	return false, fmt.Errorf("version test: unknown operator %q", op)
}

// lookupError is a failed lookup('file'|'env', ...).
type lookupError struct{ msg string }

func (e *lookupError) Error() string { return e.msg }

func lookupFunction(ev *exec.Evaluator, params *exec.VarArgs) (any, error) {
	vals, err := doLookup(ev, params)
	if err != nil {
		return nil, err
	}
	if len(vals) == 1 {
		return vals[0], nil
	}
	return strings.Join(func() []string {
		s := make([]string, len(vals))
		for i, v := range vals {
			s[i] = fmt.Sprint(v)
		}
		return s
	}(), ","), nil
}

func queryFunction(ev *exec.Evaluator, params *exec.VarArgs) (any, error) {
	return doLookup(ev, params)
}

// doLookup runs on the control machine, as Ansible's lookups do.
func doLookup(ev *exec.Evaluator, params *exec.VarArgs) ([]any, error) {
	if len(params.Args) < 1 {
		return nil, &lookupError{"lookup: needs a plugin name"}
	}
	kind := strings.TrimPrefix(strings.TrimPrefix(params.Args[0].String(), "ansible.builtin."), "ansible.legacy.")
	var out []any
	for _, a := range params.Args[1:] {
		term := a.String()
		switch kind {
		case "env":
			out = append(out, os.Getenv(term))
		case "file":
			v, err := lookupFile(ev, term)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case "unvault":
			v, err := lookupFileText(ev, "unvault", term)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case "pipe":
			v, err := lookupPipe(context.Background(), term)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case "template":
			v, err := lookupTemplate(ev, term)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case "password":
			v, err := lookupPassword(term)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			return nil, &lookupError{fmt.Sprintf("lookup plugin %q is not supported yet (env, file, pipe, password, template, unvault are)", kind)}
		}
	}
	return out, nil
}

// filterExtract is Ansible's extract: `key | extract(container[, morekeys])`
// looks key up in container, then each of morekeys (one key or a list) in
// the result. Used as `hosts | map('extract', hostvars, ['x', 'y'])`. A
// missing key gives an undefined error, as in Ansible.
func filterExtract(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 1 || len(params.Args) > 2 {
		return errValue("extract: want extract(container[, morekeys])")
	}
	keys := []*exec.Value{in}
	if len(params.Args) == 2 {
		more := params.Args[1]
		if more.IsList() {
			more.Iterate(func(_, _ int, k, _ *exec.Value) bool { keys = append(keys, k); return true }, func() {})
		} else {
			keys = append(keys, more)
		}
	}
	cur := params.Args[0]
	for _, k := range keys {
		var key any = k.String()
		if k.IsInteger() {
			key = k.Integer()
		}
		next, ok := cur.GetItem(key)
		if !ok {
			if next != nil && next.IsError() {
				return next
			}
			return errValue("extract: %v not found", key)
		}
		cur = next
	}
	return cur
}
