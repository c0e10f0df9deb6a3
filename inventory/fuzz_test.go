package inventory

// Fuzz targets for the hand-written parsers of this package: INI and YAML
// inventories, Python literals, host patterns and host ranges. Seeds are
// the f.Add calls below plus testdata/fuzz/FuzzName/, where every input
// that once broke a property is kept.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// loadText reads one inventory text as Load reads a file of that format,
// without the file system.
func loadText(format Format, name string, data []byte) (*Inventory, error) {
	inv := newInventory()
	inv.sources = []string{name}
	var err error
	if format == FormatYAML {
		err = inv.parseYAMLInventory(context.Background(), name, data)
	} else {
		err = inv.parseINI(name, data)
	}
	if err != nil {
		return nil, err
	}
	inv.reconcile()
	return inv, nil
}

// printed is everything the inventory command prints for inv: --list with
// secrets shown and --graph.
func printed(t *testing.T, inv *Inventory) string {
	t.Helper()
	var b bytes.Buffer
	if err := inv.ListJSON(&b, true); err != nil {
		t.Fatalf("the inventory loads but --list fails: %v", err)
	}
	if err := inv.Graph(&b, ""); err != nil {
		t.Fatalf("the inventory loads but --graph fails: %v", err)
	}
	return b.String()
}

// lineCount is how many lines data has as format's reader counts them:
// Python's str.splitlines for INI, "\n", "\r\n" and "\r" for YAML.
func lineCount(format Format, data []byte) int {
	if format == FormatINI {
		return max(len(pyLines(string(data))), 1)
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.Count(strings.ReplaceAll(s, "\r", "\n"), "\n") + 1
}

// checkLoadError: a text that does not load fails with an *Error that is
// bad input and names the file and a line of it.
func checkLoadError(t *testing.T, err error, format Format, name string, data []byte) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *inventory.Error", err, err)
	}
	if !e.BadInput() || e.File != name {
		t.Fatalf("error %v: BadInput %v, file %q", err, e.BadInput(), e.File)
	}
	if n := lineCount(format, data); e.Line < 1 || e.Line > n {
		t.Fatalf("error %v: line %d is not one of the text's %d lines", err, e.Line, n)
	}
}

var reRange = regexp.MustCompile(`\[([^\]:]*):([^\]:]*)`)

// manyHosts reports whether data may expand to more than a few thousand
// hosts: the product of every range's size, over-estimated. Such inputs
// are legal (a line may expand to 2^20 hosts) but would make each fuzz
// run slow.
func manyHosts(data []byte) bool {
	n := 1
	for _, m := range reRange.FindAllSubmatch(data, -1) {
		b, e := strings.TrimSpace(string(m[1])), strings.TrimSpace(string(m[2]))
		size := 52
		if x, err := strconv.Atoi(e); err == nil {
			y, _ := strconv.Atoi(b)
			if x > 1e6 || y < -1e6 {
				return true
			}
			size = max(x-y+1, 1)
		}
		if n *= size; n > 2000 {
			return true
		}
	}
	return false
}

// checkLoads holds for every inventory text that loads: it prints, a second
// load prints the same, and written back as a YAML inventory it loads into
// an inventory that prints the same again.
func checkLoads(t *testing.T, format Format, name string, data []byte, inv *Inventory) {
	t.Helper()
	first := printed(t, inv)
	again, err := loadText(format, name, data)
	if err != nil {
		t.Fatalf("a second load fails: %v", err)
	}
	if second := printed(t, again); second != first {
		t.Fatalf("a second load prints differently:\n%s\n---\n%s", first, second)
	}
	y, ok := inventoryYAML(inv)
	if !ok {
		return // a name or value YAML cannot carry (invalid UTF-8)
	}
	back, err := loadText(FormatYAML, "back.yml", []byte(y))
	if err != nil {
		t.Fatalf("written back as YAML it does not load: %v\n%s", err, y)
	}
	if got := printed(t, back); got != first {
		t.Fatalf("written back as YAML it prints differently:\n%s\n---\n%s\n--- YAML:\n%s", first, got, y)
	}
}

// inventoryYAML writes inv as a YAML inventory: every group at the top
// level with its hosts, vars (ansible_group_priority among them) and
// children named by reference; each host's own vars where the host first
// appears. ok is false when a string is not valid UTF-8 or a host name
// cannot be a YAML host key.
func inventoryYAML(inv *Inventory) (string, bool) {
	var b strings.Builder
	ok := true
	str := func(s string) string {
		q, good := yamlQuote(s)
		ok = ok && good
		return q
	}
	// key writes a block mapping key, explicit ("? k\n:") when it is too
	// long for YAML's implicit keys (1024 characters).
	key := func(indent, s string) string {
		q := str(s)
		if len(q) > 1000 {
			return indent + "? " + q + "\n" + indent + ":"
		}
		return indent + q + ":"
	}
	val := func(v any) string {
		q, good := yamlFlow(v)
		ok = ok && good
		return q
	}
	// host writes a host key; a name that a YAML host key would read as
	// something else (a range's "0:0" reads as host 0, port 0, in Ansible
	// too) cannot be written.
	host := func(name string) string {
		if names, port, err := expandHostPattern(name); err != nil || port != 0 || len(names) != 1 || names[0] != name {
			ok = false
		}
		return key("    ", name)
	}
	written := map[*Host]bool{}
	for _, g := range inv.groups {
		fmt.Fprintf(&b, "%s\n", key("", g.Name))
		if len(g.hosts) > 0 {
			b.WriteString("  hosts:\n")
			for _, h := range g.hosts {
				vars := "null"
				if !written[h] {
					written[h] = true
					vars = val(h.vars)
				}
				fmt.Fprintf(&b, "%s %s\n", host(h.Name), vars)
			}
		}
		vars := map[string]any{}
		for k, v := range g.vars {
			vars[k] = v
		}
		if g.priority != 1 {
			vars["ansible_group_priority"] = g.priority
		}
		if len(vars) > 0 {
			fmt.Fprintf(&b, "  vars: %s\n", val(vars))
		}
		if len(g.children) > 0 {
			b.WriteString("  children:\n")
			for _, c := range g.children {
				fmt.Fprintf(&b, "%s null\n", key("    ", c.Name))
			}
		}
	}
	return b.String(), ok
}

// yamlQuote writes s as a double-quoted YAML scalar, escaping every
// character outside printable ASCII. ok is false for invalid UTF-8.
func yamlQuote(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String(), true
}

// yamlFlow writes a value in YAML flow style so that this package's YAML
// 1.1 reading gives it back with its type.
func yamlFlow(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return "!!float " + strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		return yamlQuote(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := yamlFlow(e)
			if !ok {
				return "", false
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			ks, ok1 := yamlQuote(k)
			vs, ok2 := yamlFlow(x[k])
			if !ok1 || !ok2 {
				return "", false
			}
			if len(ks) > 1000 {
				ks = "? " + ks // too long for an implicit key
			}
			parts[i] = ks + ": " + vs
		}
		return "{" + strings.Join(parts, ", ") + "}", true
	}
	panic(fmt.Sprintf("inventory value of type %T", v))
}

// checkInventoryText: an inventory text either loads, and then
// checkLoads holds, or fails as checkLoadError says.
func checkInventoryText(t *testing.T, format Format, name string, data []byte) {
	if manyHosts(data) {
		t.Skip("expands to too many hosts for a fuzz run")
	}
	inv, err := loadText(format, name, data)
	if err != nil {
		checkLoadError(t, err, format, name, data)
		return
	}
	checkLoads(t, format, name, data, inv)
}

func FuzzINIInventory(f *testing.F) {
	for _, p := range []string{"testdata/docs.ini", "testdata/prec/hosts.ini"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"db1 ansible_port=2222 x='a b' y=[1,2] z={'k': None}\n[web]\nw[1:3]:22 v=1.5\n[web:vars]\nansible_group_priority=3\np=True\n",
		"[a:children]\nb\n[b]\nh\n[c:children]\na\nb\n[all:vars]\nx=1\n",
		"[g]\n\"a b\" k=v # c\n; comment\n[g:vars]\nk = 'v' # c\n",
		"[x:vars]\na=1\n",
		"h\r\n[g]\r\nh k=\"v\r\n",
		"[fe80::1]:22\n10.0.0.[1:3]\ndb-[a:c].lan\n",
		"[a:children]\nb\n[b:children]\na\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkInventoryText(t, FormatINI, "hosts.ini", data) })
}

func FuzzYAMLInventory(f *testing.F) {
	data, err := os.ReadFile("testdata/docs.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, s := range []string{
		"all:\n  hosts:\n    db1: {ansible_port: 22, on: yes, n: 0755, t: 1:30, f: 1.5e3, s: '1e3'}\n  children:\n    web:\n      hosts:\n        w[1:3]:\n      vars: {ansible_group_priority: 2}\n",
		"web:\n  hosts: w1\n  children:\n    inner:\n      children:\n        web2: {}\n",
		"base: &b {vars: {x: 1}}\nother: *b\nthird:\n  <<: *b\n",
		"all:\n  vars:\n    m: !!binary aGk=\n    d: 2024-01-02\n    x: !!float 1\n    u: !unsafe '{{ x }}'\n",
		"{\"web\": {\"hosts\": {\"w1\": {\"a\": [1, 2.5, null, true]}}}}",
		"a:\n  hosts:\n    h: {x: .inf}\n",
		"- 1\n",
		"a: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkInventoryText(t, FormatYAML, "hosts.yml", data) })
}

// pyRepr writes an INI value as a Python literal that spells it.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case string:
		var b strings.Builder
		b.WriteByte('\'')
		for _, r := range x {
			switch {
			case r == '\\' || r == '\'':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('\'')
		return b.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic(fmt.Sprintf("python literal of type %T", v))
}

// checkPyValue: v has only the types INI values have, finite floats and,
// when the text was valid UTF-8, valid UTF-8 strings.
func checkPyValue(t *testing.T, in string, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil, bool, int:
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			t.Fatalf("%q gives %v, which JSON cannot carry", in, x)
		}
	case string:
		if utf8.ValidString(in) && !utf8.ValidString(x) {
			t.Fatalf("%q (valid UTF-8) gives the invalid UTF-8 string %q", in, x)
		}
	case []any:
		for _, e := range x {
			checkPyValue(t, in, e)
		}
	case map[string]any:
		for k, e := range x {
			checkPyValue(t, in, k)
			checkPyValue(t, in, e)
		}
	default:
		t.Fatalf("%q gives a %T", in, v)
	}
}

// FuzzPythonLiteral: an INI value is the literal the text spells, with
// INI's types, or the text itself; a literal written back as Python reads
// as the same value.
func FuzzPythonLiteral(f *testing.F) {
	for _, s := range []string{
		"5", "-5", "+5", "1_000", "0x1F", "0o17", "0b101", "0755", "1.5", "1e3", ".5", "1e999",
		"True", "None", "'q'", `"d"`, `'a' "b"`, `'tab\there'`, `r'raw\n'`, `b'bytes'`, `'''tri'''`,
		"[1, 'a', None]", "(1, 2)", "1, 2", "(1)", "()", "{'k': [1, {'n': True}], 2: 'x'}", "{1, 2}",
		"{}", "23 # c", "  7", "192.168.1.1", "5m", "hello world", "[1, 2", "'unterminated", "f'x'",
		"{[1]: 2}", `'\x41\101\u00e9\U0001F600\N{DASH}'`, `r'\é'`, `'\é'`, "[[[[[]]]]]", "-0.0", "{1: 2, 1: 3}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := iniValue(s)
		checkPyValue(t, s, v)
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("%q gives %#v, which JSON cannot carry: %v", s, v, err)
		}
		lit, ok := pyLiteral(s)
		if !ok {
			if v != s {
				t.Fatalf("%q is no literal but its value is %#v", s, v)
			}
			return
		}
		if !utf8.ValidString(s) {
			return // Python reads no invalid UTF-8; what we make of it is ours
		}
		r := pyRepr(lit)
		back, ok := pyLiteral(r)
		if !ok || !reflect.DeepEqual(back, lit) {
			t.Fatalf("%q gives %#v; written back as %s it gives %#v (%v)", s, lit, r, back, ok)
		}
	})
}

// FuzzHostRange: a host entry expands to host names without brackets and a
// port in range, or to an error; an entry without a range stays one host.
func FuzzHostRange(f *testing.F) {
	for _, s := range []string{
		"db[01:03].example.com", "db[1:3]", "db[:2]", "db-[a:c]", "db-[x:B]", "www[01:10:3]", "n[1:2]-[a:b]",
		"db[1:2]:2222", "db1:2222", "192.0.2.[1:2]", "fe80::1", "[fe80::1]:22", "db[1:20", "db[1:2:3:4]",
		"db[01:100]", "db[c:a]", "db[1:]", "db[1:5:0]", "db[a:5]", "---", "[a:22]:5", "a]:1", "x:99999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if manyHosts([]byte(s)) {
			t.Skip("expands to too many hosts for a fuzz run")
		}
		names, port, err := expandHostPattern(s)
		if err != nil {
			if names != nil || port != 0 {
				t.Fatalf("%q: error %v with names %q port %d", s, err, names, port)
			}
			return
		}
		if port < 0 || port > 65535 || len(names) == 0 {
			t.Fatalf("%q: port %d, %d names", s, port, len(names))
		}
		for _, n := range names {
			if strings.Contains(n, "[") {
				t.Fatalf("%q: name %q still holds a range", s, n)
			}
		}
		host, _, ok := parseAddress(s)
		if !ok {
			host = s
		}
		if !strings.Contains(host, "[") && !reflect.DeepEqual(names, []string{host}) {
			t.Fatalf("%q has no range but expands to %q", s, names)
		}
	})
}

// FuzzHostPattern: on a fixed inventory, a pattern selects distinct hosts
// of the inventory, the same set --limit selects, or fails with bad input;
// a term and "all:!term" split the inventory in two.
func FuzzHostPattern(f *testing.F) {
	for _, s := range []string{
		"webservers", "webservers:dbservers", "webservers,dbservers", " webservers , dbservers ", "usa",
		"southeast:&raleigh", "&raleigh:southeast", "usa:!atlanta", "!atlanta:usa", "east:west:&dbservers:!two.example.com",
		"h*", "db-*", "*.example.com:!webservers2:!databases", "www0[1-5].example.com", "www0[!1].example.com",
		"~host[12]", "~(foo|bar)\\.ex", "usa[0]", "usa[-1]", "usa[1:2]", "usa[1:]", "usa[:1]", "webservers2[23:99]",
		"&prod", "jumper:badwolf.example.com", "~db0[", "usa[", "[]", "!", "all", "*", "usa[99]", "fe80::1", "~(",
	} {
		f.Add(s)
	}
	inv, err := Load([]string{"testdata/docs.ini"})
	if err != nil {
		f.Fatal(err)
	}
	all := hostSet(inv.Hosts())
	f.Fuzz(func(t *testing.T, p string) {
		hosts, err := inv.Match(p)
		if err != nil {
			var e interface{ BadInput() bool }
			if !errors.As(err, &e) || !e.BadInput() {
				t.Fatalf("Match(%q): %T %v is not bad input", p, err, err)
			}
		} else {
			if len(hosts) == 0 || len(hostSet(hosts)) != len(hosts) {
				t.Fatalf("Match(%q) = %v: empty or with duplicates", p, hosts)
			}
			for _, h := range hosts {
				if !all[h] {
					t.Fatalf("Match(%q) returns a host the inventory does not have", p)
				}
			}
		}
		if !strings.Contains(p, "@") {
			limited, lerr := inv.Limit(inv.Hosts(), p)
			if strings.TrimSpace(p) == "" {
				limited, lerr = nil, err
			}
			if (err == nil) != (lerr == nil) || !reflect.DeepEqual(hostSet(hosts), hostSet(limited)) {
				t.Fatalf("pattern %q: Match %v (%v), --limit %v (%v)", p, hosts, err, limited, lerr)
			}
		}
		if p == "" || strings.ContainsAny(p, ":,&! \t\r\n") {
			return
		}
		rest, rerr := inv.Match("all:!" + p)
		if err != nil {
			var nm *NoMatchError
			if errors.As(err, &nm) {
				return
			}
			if rerr == nil {
				t.Fatalf("Match(%q) fails (%v) but Match(\"all:!%s\") does not", p, err, p)
			}
			return
		}
		if rerr != nil {
			var nm *NoMatchError
			if !errors.As(rerr, &nm) || len(hosts) != len(all) {
				t.Fatalf("Match(\"all:!%s\"): %v", p, rerr)
			}
			return
		}
		in := hostSet(hosts)
		for _, h := range rest {
			if in[h] {
				t.Fatalf("%s is in both %q and \"all:!%s\"", h.Name, p, p)
			}
		}
		if len(hosts)+len(rest) != len(all) {
			t.Fatalf("%q and \"all:!%s\" select %d + %d hosts of %d", p, p, len(hosts), len(rest), len(all))
		}
	})
}
