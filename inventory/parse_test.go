package inventory

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Expected values are what Python's ast.literal_eval / shlex.split give
// (and so Ansible's INI plugin).
func TestINIValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want any
	}{
		{"5", 5},
		{"-5", -5},
		{"+5", 5},
		{"1_000", 1000},
		{"0x1F", 31},
		{"0o17", 15},
		{"0b101", 5},
		{"0755", "0755"}, // SyntaxError in Python 3
		{"1.5", 1.5},
		{"1e3", 1000.0},
		{".5", 0.5},
		{"True", true},
		{"False", false},
		{"None", nil},
		{"true", "true"},
		{"FALSE", "FALSE"},
		{"'quoted'", "quoted"},
		{`"double"`, "double"},
		{`'a' "b"`, "ab"},
		{`'tab\there'`, "tab\there"},
		{`r'raw\n'`, `raw\n`},
		{`b'bytes'`, "bytes"},
		{`'''triple'''`, "triple"},
		{"[1, 'a', None]", []any{1, "a", nil}},
		{"(1, 2)", []any{1, 2}},
		{"1, 2", []any{1, 2}},
		{"(1)", 1},
		{"()", []any{}},
		{"{'k': [1, {'n': True}], 2: 'x'}", map[string]any{"k": []any{1, map[string]any{"n": true}}, "2": "x"}},
		{"{1, 2}", []any{1, 2}},
		{"{}", map[string]any{}},
		{"23 # comment", 23},
		{"  7", 7},
		{"192.168.1.1", "192.168.1.1"},
		{"10.0", 10.0},
		{"5m", "5m"},
		{"hello world", "hello world"},
		{"-o UserKnownHostsFile=/x", "-o UserKnownHostsFile=/x"},
		{"'-o UserKnownHostsFile=/x'", "-o UserKnownHostsFile=/x"},
		{"", ""},
		{"[1, 2", "[1, 2"},
		{"'unterminated", "'unterminated"},
		{"f'x'", "f'x'"},
		{"{[1]: 2}", "{[1]: 2}"},
		{"/usr/bin/python3", "/usr/bin/python3"},
		{"--1", "--1"},
		{`r'\é'`, `\é`},
		{`'\é'`, `\é`},
		{`b'\é'`, `b'\é'`},
		{"'\x00'", "'\x00'"}, // Python refuses source text with a NUL
	}
	for _, tt := range tests {
		if got := iniValue(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("iniValue(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// TestINIHostLineSplitsLikePythonShlexWithComments pins how a host line
// becomes words (Python's shlex.split(line, comments=True), as Ansible's
// INI plugin splits it) and each key=value word a host variable.
func TestINIHostLineSplitsLikePythonShlexWithComments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want map[string]any
		err  string
	}{
		{line: "host a=1 b=2", want: map[string]any{"a": 1, "b": 2}},
		{line: `host key="a b"`, want: map[string]any{"key": "a b"}},
		{line: `host key='a "b"'`, want: map[string]any{"key": `a "b"`}},
		{line: `host key="a \"b\" \n"`, want: map[string]any{"key": `a "b" \n`}},
		{line: `host key=a\ b`, want: map[string]any{"key": "a b"}},
		{line: "host a=1 # comment b=2", want: map[string]any{"a": 1}},
		{line: "host pw=ab#cd", want: map[string]any{"pw": "ab"}},
		{line: `host pw="'03#pa33w0rd'"`, want: map[string]any{"pw": "03#pa33w0rd"}},
		{line: `host e=''`, want: map[string]any{"e": ""}},
		{line: `host key="open`, err: "no closing quotation"},
		{line: `host key=\`, err: "no escaped character"},
	}
	for _, tt := range tests {
		inv, err := Load([]string{writeINI(t, tt.line+"\n")})
		if tt.err != "" {
			var e *Error
			if !errors.As(err, &e) || e.Line != 1 || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want an *Error on line 1 saying %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		h, _ := inv.Host("host")
		if got := h.Vars(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: host vars %#v, want %#v", tt.line, got, tt.want)
		}
	}
}

func TestExpandHostPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		port int
		err  string
	}{
		{"db[01:03].example.com", []string{"db01.example.com", "db02.example.com", "db03.example.com"}, 0, ""},
		{"db[1:3]", []string{"db1", "db2", "db3"}, 0, ""},
		{"db[08:10]", []string{"db08", "db09", "db10"}, 0, ""},
		{"db[:2]", []string{"db0", "db1", "db2"}, 0, ""},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, 0, ""},
		{"db-[x:B]", []string{"db-x", "db-y", "db-z", "db-A", "db-B"}, 0, ""},
		{"www[01:10:3]", []string{"www01", "www04", "www07", "www10"}, 0, ""},
		{"n[1:2]-[a:b]", []string{"n1-a", "n1-b", "n2-a", "n2-b"}, 0, ""},
		{"db[1:2]:2222", []string{"db1", "db2"}, 2222, ""},
		{"db1:2222", []string{"db1"}, 2222, ""},
		{"192.0.2.[1:2]", []string{"192.0.2.1", "192.0.2.2"}, 0, ""},
		{"fe80::1", []string{"fe80::1"}, 0, ""},
		{"[fe80::1]:22", []string{"fe80::1"}, 22, ""},
		{"db[1:20", nil, 0, "unbalanced brackets"},
		{"db[1:2:3:4]", nil, 0, "want [begin:end] or [begin:end:step]"},
		{"db[01:100]", nil, 0, "must have the same width"},
		{"db[c:a]", nil, 0, `begin "c" is after end "a"`},
		{"db[5:1]", nil, 0, "begin 5 is after end 1"},
		{"db[1:]", nil, 0, "must specify an end value"},
		{"db[1:5:0]", nil, 0, "not a positive integer"},
		{"db[a:5]", nil, 0, "neither a numeric nor a single-letter range"},
		{"db[0:99999999]", nil, 0, "more than"},
		{"---", nil, 0, "YAML"},
	}
	for _, tt := range tests {
		got, port, err := expandHostPattern(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expandHostPattern(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || port != tt.port {
			t.Errorf("expandHostPattern(%q) = %q, %d, %v; want %q, %d", tt.in, got, port, err, tt.want, tt.port)
		}
	}
}

func TestYAML11Scalars(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"v.yml": `
all:
  hosts:
    h:
      b1: yes
      b2: Off
      b3: "yes"
      i1: 0755
      i2: 0x1F
      i3: 1_000
      i4: 1:30
      f1: 1.5
      f2: 1e3
      n1: ~
      n2:
      s1: 2024-01-02
      s2: !!str 5
      s3: !unsafe '{{ x }}'
      l: [1, two, {three: 3}]
      m: &anchor {a: 1, b: 2}
      merged:
        <<: *anchor
        b: 3
      big: 99999999999999999999
`})
	inv := mustLoad(t, filepath.Join(dir, "v.yml"))
	hv := inv.HostVars("h")
	want := map[string]any{
		"b1": true, "b2": false, "b3": "yes", "i1": 493, "i2": 31, "i3": 1000, "i4": 90,
		"f1": 1.5, "f2": "1e3", "n1": nil, "n2": nil, "s1": "2024-01-02", "s2": "5", "s3": "{{ x }}",
		"l": []any{1, "two", map[string]any{"three": 3}}, "m": map[string]any{"a": 1, "b": 2},
		"merged": map[string]any{"a": 1, "b": 3}, "big": "99999999999999999999",
	}
	for k, w := range want {
		if got, ok := hv[k]; !ok || !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content, want string
	}{
		{"unknown section", "inventory.ini", "[db]\ndb1\n\n[db:child]\nweb\n", "inventory.ini:4: unknown section type \"[db:child]\""},
		{"bad section", "inventory.ini", "[db servers]\n", `inventory.ini:1: invalid section "[db servers]": a section is [name], [name:vars] or [name:children], with no spaces in the name`},
		{"bad range", "inventory.ini", "# hosts\n[db]\ndb[01:100]\n", `inventory.ini:3: host range "db[01:100]": begin "01" and end "100" must have the same width when zero-padded`},
		{"no key=value", "inventory.ini", "[db]\ndb1 ansible_port\n", `inventory.ini:2: expected key=value host variable, got "ansible_port"`},
		{"vars no =", "inventory.ini", "[db]\ndb1\n[db:vars]\nfoo\n", `inventory.ini:4: expected key=value, got "foo"`},
		{"vars of undefined group", "inventory.ini", "[db]\ndb1\n[dbx:vars]\na=1\n", `inventory.ini:3: section [dbx:vars] names undefined group "dbx"`},
		{"unclosed quote", "inventory.ini", "[db]\ndb1 a=\"x\n", `inventory.ini:2: host line "db1 a=\"x": no closing quotation`},
		{"trailing colon", "inventory.ini", "db1:\n", `inventory.ini:1: invalid host "db1:": a trailing ':' must be followed by a port`},
		{"bad child name", "inventory.ini", "[p:children]\na b\n", `inventory.ini:2: expected a group name, got "a b"`},
		{"loop", "inventory.ini", "[a:children]\nb\n[b:children]\na\n", `inventory.ini:4: adding group "a" as a child of "b" creates a loop`},
		{"priority", "inventory.ini", "[a]\nh\n[a:vars]\nansible_group_priority=high\n", `inventory.ini:4: group "a": ansible_group_priority must be an integer, got high`},
		{"yaml syntax", "inventory.yml", "all:\n  hosts:\n    db1:\n\t  x: 1\n", "inventory.yml:4:1: yaml: found character that cannot start any token"},
		{"yaml top list", "inventory.yml", "- db1\n- db2\n", "inventory.yml:1:1: expected a mapping of groups at the top, got a list"},
		{"yaml hosts list", "inventory.yml", "web:\n  hosts:\n    - w1\n", `inventory.yml:3:5: group "web": hosts must be a mapping, got a list`},
		{"yaml host not map", "inventory.yml", "web:\n  hosts:\n    w1: 22\n", `inventory.yml:3:9: host "w1" in group "web": want a mapping of host vars or nothing, got the scalar "22"`},
		{"yaml unknown key", "inventory.yml", "web:\n  host:\n    w1:\n", `inventory.yml:2:3: group "web": unknown key "host" (want hosts, vars or children)`},
		{"yaml group scalar", "inventory.yml", "web: w1\n", `inventory.yml:1:6: group "web": want a mapping with hosts, vars or children, got the scalar "w1"`},
		{"yaml bad range", "inventory.yml", "web:\n  hosts:\n    w[3:1]:\n", `inventory.yml:3:5: host range "w[3:1]": begin 3 is after end 1`},
		{"yaml empty group name", "inventory.yml", "\"\": {}\n", "inventory.yml:1:1: group name must not be empty"},
		{"yaml null group name", "inventory.yml", "~:\n  hosts:\n    h:\n", "inventory.yml:1:1: group name must be a string, got null"},
		{"yaml number group name", "inventory.yml", "web:\n  children:\n    2024:\n", `inventory.yml:3:5: group name must be a string, got the number "2024" (quote it: "2024")`},
		{"yaml boolean group name", "inventory.yml", "yes: {}\n", `inventory.yml:1:1: group name must be a string, got the boolean "yes" (quote it: "yes")`},
		{"yaml two docs", "inventory.yml", "a: {}\n---\nb: {}\n", "inventory.yml:2: expected a single YAML document, found several"},
		{"group_vars not a map", "group_vars/web.yml", "- 1\n", "group_vars/web.yml:1:1: vars file must be a mapping of variables, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{tt.file: tt.content}
			if strings.HasPrefix(tt.file, "group_vars/") {
				files["inventory.ini"] = "[web]\nw1\n"
			}
			dir := writeFiles(t, files)
			src := filepath.Join(dir, tt.file)
			if strings.HasPrefix(tt.file, "group_vars/") {
				src = filepath.Join(dir, "inventory.ini")
			}
			_, err := Load([]string{src})
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if !errors.As(err, &e) || !e.BadInput() {
				t.Errorf("%T is not an *inventory.Error", err)
			}
			if got, want := err.Error(), filepath.Join(dir, tt.want); got != want {
				t.Errorf("error\n got %s\nwant %s", got, want)
			}
		})
	}
}

// Ansible refuses a [x:children] entry that names a group never declared;
// we create the group (the documentation's own example does this).
func TestUndefinedChildGroupIsCreated(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, writeINI(t, "[usa:children]\nsoutheast\nnortheast\n[southeast]\nh1\n"))
	usa, _ := inv.Group("usa")
	if !reflect.DeepEqual(usa.Children(), []string{"southeast", "northeast"}) {
		t.Errorf("usa children %v", usa.Children())
	}
	ne, ok := inv.Group("northeast")
	if !ok || len(ne.Hosts()) != 0 || ne.Pos.Line != 3 {
		t.Errorf("northeast: %v %+v", ok, ne)
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		want          Format
	}{
		{"hosts.yml", "[web]\n", FormatYAML},
		{"hosts.json", `{"web": {}}`, FormatYAML},
		{"hosts.ini", "web:\n  hosts:\n", FormatINI},
		{"hosts", "web:\n  hosts:\n", FormatYAML},
		{"hosts", "[web]\nw1\n", FormatINI},
		{"hosts", "mail.example.com\n", FormatINI},
		{"hosts", "# only a comment\n", FormatINI},
	}
	for _, tt := range tests {
		if got := DetectFormat(tt.name, []byte(tt.content)); got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %v, want %v", tt.name, tt.content, got, tt.want)
		}
	}
}

// TestINILinesAreReadAsAnsibleReadsThem: Ansible splits the file with
// Python's str.splitlines (form feed, \x1c to \x1e, U+2028 and others end
// a line too) and strips each line and each [group:vars] key and value of
// Python's white space (\x1f, no-break and ideographic spaces too).
// Outputs and errors as ansible-inventory 2.14.18 gives them.
func TestINILinesAreReadAsAnsibleReadsThem(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, writeINI(t, "\x1f a \x1f\n[g]\x1f#c\nb\x1ec\n[g:vars]\nk\u00a0=\u3000v\n"))
	var b strings.Builder
	if err := inv.ListJSON(&b, true); err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(`{"_meta": {"hostvars": {"b": {"k": "v"}, "c": {"k": "v"}}}, "all": {"children": ["ungrouped", "g"]}, "g": {"hosts": ["b", "c"]}, "ungrouped": {"hosts": ["a"]}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s", b.String())
	}
	inv = mustLoad(t, writeINI(t, "0\f\f\f0\u20281\r\n"))
	if h := hostNames(inv.Hosts()); !reflect.DeepEqual(h, []string{"0", "1"}) {
		t.Errorf("hosts %q, want 0 and 1", h)
	}
	for text, want := range map[string]string{
		"h\fx y\n":       `hosts.ini:2: expected key=value host variable, got "y"`,
		"[web\u00a0x]\n": `hosts.ini:1: invalid section "[web\u00a0x]"`,
	} {
		_, err := Load([]string{writeINI(t, text)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}
