package template

// Python's str methods as Jinja calls them ('x'.find('y')): gonja's
// find gives 0 for a miss on an empty string, and it lacks index, rindex
// and replace without a count. These follow Python (rune offsets, -1 for
// a miss, optional start/end with negative values from the end).

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// gonjaStrMethods are the names gonja implements (its set cannot be listed).
var gonjaStrMethods = []string{"capitalize", "capwords", "casefold", "center", "count", "encode", "endswith",
	"expandtabs", "format", "format_map", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower",
	"isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
	"removeprefix", "removesuffix", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
	"startswith", "strip", "swapcase", "title", "upper", "zfill"}

// ansibleMethods is gonja's method sets with Python's str search methods.
func ansibleMethods() exec.Methods {
	str := map[string]exec.Method[string]{
		"find":    searchMethod(false, false),
		"rfind":   searchMethod(true, false),
		"index":   searchMethod(false, true),
		"rindex":  searchMethod(true, true),
		"replace": strReplace,
	}
	for _, name := range gonjaStrMethods {
		if m, ok := builtins.Methods.Str.Get(name); ok {
			str[name] = m
		}
	}
	m := builtins.Methods
	m.Str = exec.NewMethodSet(str)
	return m
}

// pySlice turns Python start/end arguments into rune offsets of s.
func pySlice(n int, args []*exec.Value) (int, int) {
	clamp := func(i int) int {
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	start, end := 0, n
	if len(args) > 0 && !args[0].IsNil() {
		start = clamp(args[0].Integer())
	}
	if len(args) > 1 && !args[1].IsNil() {
		end = clamp(args[1].Integer())
	}
	return start, end
}

func searchMethod(last, raise bool) exec.Method[string] {
	return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) < 1 || len(args.Args) > 3 {
			return nil, errors.New("want (sub[, start[, end]])")
		}
		runes := []rune(self)
		start, end := pySlice(len(runes), args.Args[1:])
		at := -1
		if start <= end {
			hay, sub := string(runes[start:end]), args.Args[0].String()
			i := strings.Index(hay, sub)
			if last {
				i = strings.LastIndex(hay, sub)
			}
			if i >= 0 {
				at = start + utf8.RuneCountInString(hay[:i])
			}
		}
		if at < 0 && raise {
			return nil, errors.New("substring not found")
		}
		return at, nil
	}
}

func strReplace(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
	if len(args.Args) < 2 || len(args.Args) > 3 {
		return nil, errors.New("want (old, new[, count])")
	}
	count := -1
	if len(args.Args) == 3 {
		count = args.Args[2].Integer()
	}
	return strings.Replace(self, args.Args[0].String(), args.Args[1].String(), count), nil
}

// pyReplacement turns a Python re.sub replacement (\1, \g<name>, \\, \n)
// into a Go regexp template.
func pyReplacement(repl string) string {
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c != '\\' || i+1 == len(repl):
			b.WriteByte(c)
		default:
			i++
			i += pyReplEscape(&b, repl[i:]) - 1
		}
	}
	return b.String()
}

// pyReplEscape writes the escape after a backslash and returns its length.
func pyReplEscape(b *strings.Builder, s string) int {
	if s[0] >= '0' && s[0] <= '9' {
		n := 1
		if len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
			n = 2
		}
		b.WriteString("${" + s[:n] + "}")
		return n
	}
	if s[0] == 'g' && strings.HasPrefix(s, "g<") {
		if end := strings.IndexByte(s, '>'); end > 0 {
			b.WriteString("${" + s[2:end] + "}")
			return end + 1
		}
	}
	simple := map[byte]string{'\\': `\`, 'n': "\n", 't': "\t", 'r': "\r", 'f': "\f", 'v': "\v", 'a': "\a", 'b': "\b"}
	if r, ok := simple[s[0]]; ok {
		b.WriteString(r)
		return 1
	}
	b.WriteByte('\\')
	b.WriteByte(s[0])
	return 1
}
