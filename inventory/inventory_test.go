package inventory

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
)

func mustLoad(t *testing.T, paths ...string) *Inventory {
	t.Helper()
	inv, err := Load(paths)
	if err != nil {
		t.Fatalf("Load(%q): %v", paths, err)
	}
	return inv
}

// writeFiles creates files (name -> content) under a temp dir, returning it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.File(t, filepath.Join("testdata", "golden", name), got)
}

// The examples of Ansible's "How to build your inventory", written once as
// INI and once as YAML, must give the same inventory.
func TestDocsExamplesINIAndYAMLAgree(t *testing.T) {
	t.Parallel()
	ini := mustLoad(t, "testdata/docs.ini")
	yml := mustLoad(t, "testdata/docs.yml")

	names := func(inv *Inventory) []string { return hostNames(inv.Hosts()) }
	if got, want := len(ini.Hosts()), 43; got != want {
		t.Errorf("docs.ini: %d hosts, want %d: %v", got, want, names(ini))
	}
	if !sameSet(names(ini), names(yml)) {
		t.Errorf("hosts differ:\nini  %v\nyaml %v", names(ini), names(yml))
	}
	for _, g := range ini.Groups() {
		yg, ok := yml.Group(g.Name)
		if !ok {
			t.Errorf("group %s missing from YAML", g.Name)
			continue
		}
		if !sameSet(g.Hosts(), yg.Hosts()) || !sameSet(g.Children(), yg.Children()) {
			t.Errorf("group %s: ini hosts %v children %v; yaml hosts %v children %v",
				g.Name, g.Hosts(), g.Children(), yg.Hosts(), yg.Children())
		}
		if g.Depth() != yg.Depth() {
			t.Errorf("group %s: depth %d (ini) vs %d (yaml)", g.Name, g.Depth(), yg.Depth())
		}
	}
	if len(ini.Groups()) != len(yml.Groups()) {
		t.Errorf("%d groups (ini) vs %d (yaml)", len(ini.Groups()), len(yml.Groups()))
	}
	for _, h := range ini.Hosts() {
		iv, yv := ini.HostVars(h.Name), yml.HostVars(h.Name)
		for _, k := range []string{"inventory_file", "inventory_dir"} {
			delete(iv, k)
			delete(yv, k)
		}
		if !reflect.DeepEqual(iv, yv) {
			t.Errorf("host %s vars:\nini  %#v\nyaml %#v", h.Name, iv, yv)
		}
	}

	for _, inv := range []*Inventory{ini, yml} {
		jv := inv.HostVars("jumper")
		if jv["ansible_port"] != 5555 || jv["ansible_host"] != "192.0.2.50" {
			t.Errorf("jumper: ansible_port %#v ansible_host %#v", jv["ansible_port"], jv["ansible_host"])
		}
		if p := inv.HostVars("badwolf.example.com")["ansible_port"]; p != 5309 {
			t.Errorf("badwolf.example.com:5309 gave ansible_port %#v", p)
		}
		h2 := inv.HostVars("host2")
		if h2["halon_system_timeout"] != 30 || h2["http_port"] != 303 || h2["some_server"] != "foo.southeast.example.com" {
			t.Errorf("host2 vars: %#v", h2)
		}
		if got, want := h2["group_names"], []any{"atlanta", "raleigh", "southeast", "usa"}; !reflect.DeepEqual(got, want) {
			t.Errorf("host2 group_names = %v, want %v", got, want)
		}
		if got := inv.HostVars("mail.example.com")["group_names"]; !reflect.DeepEqual(got, []any{}) {
			t.Errorf("mail.example.com group_names = %#v, want empty", got)
		}
		ws, _ := inv.Group("webservers2")
		if hs := ws.Hosts(); len(hs) != 25 || hs[0] != "www01.example.com" || hs[1] != "www03.example.com" || hs[24] != "www49.example.com" {
			t.Errorf("www[01:50:2]: %v", hs)
		}
		db, _ := inv.Group("databases")
		if want := []string{"db-a.example.com", "db-b.example.com", "db-c.example.com", "db-d.example.com", "db-e.example.com", "db-f.example.com"}; !reflect.DeepEqual(db.Hosts(), want) {
			t.Errorf("db-[a:f]: %v", db.Hosts())
		}
		ung, _ := inv.Group("ungrouped")
		if !reflect.DeepEqual(ung.Hosts(), []string{"mail.example.com"}) {
			t.Errorf("ungrouped = %v", ung.Hosts())
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// Our output must match what ansible-core 2.14.18 printed for the same
// inventories, byte for byte (testdata/ansible/README.md).
func TestOutputMatchesAnsible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		inv, want string
		run       func(*Inventory, *bytes.Buffer) error
	}{
		{"testdata/docs.ini", "docs.ini.list.json", func(i *Inventory, b *bytes.Buffer) error { return i.ListJSON(b, true) }},
		{"testdata/docs.ini", "docs.ini.graph", func(i *Inventory, b *bytes.Buffer) error { return i.Graph(b, "") }},
		{"testdata/docs.yml", "docs.yml.list.json", func(i *Inventory, b *bytes.Buffer) error { return i.ListJSON(b, true) }},
		{"testdata/prec/hosts.ini", "prec.list.json", func(i *Inventory, b *bytes.Buffer) error { return i.ListJSON(b, true) }},
		{"testdata/prec/hosts.ini", "prec.h1.json", func(i *Inventory, b *bytes.Buffer) error { return i.HostJSON(b, "h1", true) }},
		{"testdata/prec/hosts.ini", "prec.h2.json", func(i *Inventory, b *bytes.Buffer) error { return i.HostJSON(b, "h2", true) }},
		{"testdata/prec/hosts.ini", "prec.h3.json", func(i *Inventory, b *bytes.Buffer) error { return i.HostJSON(b, "h3", true) }},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			inv := mustLoad(t, tt.inv)
			var buf bytes.Buffer
			if err := tt.run(inv, &buf); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "ansible", tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != string(want) {
				t.Errorf("differs from ansible-inventory:\n--- got\n%s\n--- ansible\n%s", buf.String(), want)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"inv/10-web.yml": `
all:
  vars:
    ntp: pool.example.org
  children:
    web:
      hosts:
        web[1:3]:
          http_port: 8080
        "[2001:db8::1]:2222":
        fe80::2:
      vars:
        tier: front
    db:
      hosts:
        db1:
          ansible_host: 127.0.0.11
          pg_settings: {ssl: on, max_connections: 200}
          tags: [primary, "on"]
`,
		"inv/20-extra":            "[db]\ndb2 ansible_host=127.0.0.12\n[prod:children]\nweb\ndb\n",
		"inv/group_vars/prod.yml": "env: prod\n",
		"inv/host_vars/db2/a.yml": "role: replica\n",
		"inv/host_vars/db2/b.yml": "role: standby\n",
	})
	inv := mustLoad(t, filepath.Join(dir, "inv"))
	var list, graph, host bytes.Buffer
	if err := inv.ListJSON(&list, false); err != nil {
		t.Fatal(err)
	}
	if err := inv.Graph(&graph, ""); err != nil {
		t.Fatal(err)
	}
	if err := inv.HostJSON(&host, "db2", false); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "dir.list.json", list.Bytes())
	goldenFile(t, "dir.graph", graph.Bytes())
	goldenFile(t, "dir.db2.json", host.Bytes())
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, "testdata/prec/hosts.ini")
	tests := []struct {
		host, key string
		want      any
	}{
		{"h1", "v_all", "inv_all"},     // only all sets it
		{"h1", "v_p", "parent"},        // parent beats all
		{"h3", "v_p", "all"},           // h3 is not under parent
		{"h2", "v_pc", "file_parent"},  // group_vars/parent beats [child:vars] (Ansible's order)
		{"h1", "v_ga", "file_all"},     // group_vars/all beats any inventory group var
		{"h1", "v_h", "file_host"},     // host_vars beats the host line
		{"h1", "v_host", "inline"},     // host line
		{"h1", "testvar", "a"},         // a_group has ansible_group_priority=10
		{"h2", "ansible_port", 2222},   // h2:2222
		{"h3", "v_w", "b"},             // group_vars/web/ files in lexical order
		{"h3", "a", 1},                 // from group_vars/web/01.yml
		{"h1", "num", 5},               // :vars values are Python literals
		{"h1", "quoted", "'5'"},        // ... and keep inner quotes
		{"h1", "lst", []any{1, "a"}},   // ... lists
		{"h1", "flag", true},           // ... booleans
		{"h1", "s", "hello world # c"}, // non-literals stay text, comment and all
		{"h3", "spaced", "a b"},        // host line: shlex quoting
		{"h3", "n", 5},                 // host line: "5" is still the literal 5
		{"h3", "empty", ""},            // host line: key=
		{"h3", "dict", map[string]any{"k": []any{1, 2}}},
		{"h1", "yes_v", true},              // YAML 1.1 in vars files
		{"h1", "oct", 493},                 // 0755
		{"h1", "sci", "1e3"},               // no dot: a string in YAML 1.1
		{"h1", "inventory_hostname", "h1"}, // magic
		{"h1", "group_names", []any{"a_group", "b_group", "child", "parent"}},
	}
	for _, tt := range tests {
		got := inv.HostVars(tt.host)[tt.key]
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s = %#v, want %#v", tt.host, tt.key, got, tt.want)
		}
	}
	abs, _ := filepath.Abs("testdata/prec/hosts.ini")
	hv := inv.HostVars("h1")
	if hv["inventory_file"] != abs || hv["inventory_dir"] != filepath.Dir(abs) {
		t.Errorf("inventory_file %v inventory_dir %v", hv["inventory_file"], hv["inventory_dir"])
	}
	if _, ok := hv["ansible_group_priority"]; ok {
		t.Error("ansible_group_priority must not show as a variable")
	}
	if inv.HostVars("nope") != nil {
		t.Error("HostVars of an unknown host must be nil")
	}
	// The copy is the caller's.
	hv["lst"].([]any)[0] = 99
	if inv.HostVars("h1")["lst"].([]any)[0] != 1 {
		t.Error("HostVars returned shared state")
	}
}

func TestPrecedenceYAMLDepthAndPriority(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"inv.yml": `
all:
  vars: {x: all, y: all}
  children:
    top:
      vars: {x: top, p: top}
      children:
        mid:
          vars: {x: mid}
          children:
            leaf:
              hosts:
                h1: {y: host}
    b_group:
      vars: {p: b}
      hosts: {h1: }
    a_group:
      vars: {p: a, ansible_group_priority: 10}
      hosts: {h1: }
    z_group:
      vars: {q: z}
      hosts: {h1: }
    c_group:
      vars: {q: c}
      hosts: {h1: }
`})
	inv := mustLoad(t, filepath.Join(dir, "inv.yml"))
	hv := inv.HostVars("h1")
	// leaf (depth 3) is deeper than mid and top, so it wins even though it
	// sets nothing; x comes from mid. Same depth: priority 10 beats name order.
	want := map[string]any{"x": "mid", "y": "host", "p": "a", "q": "z"}
	for k, w := range want {
		if hv[k] != w {
			t.Errorf("%s = %#v, want %#v", k, hv[k], w)
		}
	}
	a, _ := inv.Group("a_group")
	if a.Priority() != 10 {
		t.Errorf("a_group priority %d", a.Priority())
	}
}

func TestMultipleSourcesLaterWins(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"staging":    "[all:vars]\nmyvar=1\n[web]\nw1\n",
		"production": "[all:vars]\nmyvar=2\n[web]\nw2\n",
	})
	for _, tt := range []struct {
		order []string
		want  int
	}{{[]string{"staging", "production"}, 2}, {[]string{"production", "staging"}, 1}} {
		var paths []string
		for _, p := range tt.order {
			paths = append(paths, filepath.Join(dir, p))
		}
		inv := mustLoad(t, paths...)
		if got := inv.HostVars("w1")["myvar"]; got != tt.want {
			t.Errorf("%v: myvar = %v, want %d", tt.order, got, tt.want)
		}
		if !reflect.DeepEqual(inv.Sources(), paths) {
			t.Errorf("Sources() = %v", inv.Sources())
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"inv/01-hosts":                 "[db]\ndb1\n",
		"inv/hosts.ini":                "bad [[[\n",
		"inv/02-more.yml":              "db:\n  hosts:\n    db2:\n",
		"inv/03-noext":                 "web:\n  hosts:\n    w1:\n",
		"inv/04-ini-noext":             "[web]\nw2\n",
		"inv/sub/05":                   "[web]\nw3\n",
		"inv/hosts.retry":              "bad [[[\n",
		"inv/hosts.orig":               "bad [[[\n",
		"inv/hosts~":                   "bad [[[\n",
		"inv/.hidden":                  "bad [[[\n",
		"inv/README.md":                "bad [[[\n",
		"inv/group_vars/db.yml":        "pg_port: 5432\n",
		"inv/host_vars/w1":             "x: 1\n",
		"inv/group_vars/nogroup.yml":   "ignored: true\n",
		"inv/host_vars/w2/10-a.yml":    "x: a\n",
		"inv/host_vars/w2/20-b.json":   `{"x": "b"}`,
		"inv/host_vars/w2/30-c.txt":    "x: c\n",
		"inv/host_vars/w2/.hidden.yml": "x: hidden\n",
	})
	inv := mustLoad(t, filepath.Join(dir, "inv"))
	if got, want := hostNames(inv.Hosts()), []string{"db1", "db2", "w1", "w2", "w3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hosts %v, want %v", got, want)
	}
	if inv.HostVars("db2")["pg_port"] != 5432 || inv.HostVars("w1")["x"] != 1 || inv.HostVars("w2")["x"] != "b" {
		t.Errorf("vars: db2 %v w1 %v w2 %v", inv.HostVars("db2"), inv.HostVars("w1"), inv.HostVars("w2"))
	}
	h, _ := inv.Host("db2")
	if want := filepath.Join(dir, "inv", "02-more.yml") + ":3:5"; h.Pos.String() != want {
		t.Errorf("db2 defined at %s, want %s", h.Pos, want)
	}
	h, _ = inv.Host("w2")
	if want := filepath.Join(dir, "inv", "04-ini-noext") + ":2"; h.Pos.String() != want {
		t.Errorf("w2 defined at %s, want %s", h.Pos, want)
	}
	// group_vars next to a file source too.
	inv = mustLoad(t, filepath.Join(dir, "inv", "01-hosts"))
	if inv.HostVars("db1")["pg_port"] != 5432 {
		t.Errorf("group_vars beside the file not read: %v", inv.HostVars("db1"))
	}
}

func TestHostList(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, "a.example.com, b:2222,[::1]:2200,fe80::1,")
	if got, want := hostNames(inv.Hosts()), []string{"a.example.com", "b", "::1", "fe80::1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("hosts %v, want %v", got, want)
	}
	for name, port := range map[string]any{"b": 2222, "::1": 2200, "fe80::1": nil, "a.example.com": nil} {
		if got := inv.HostVars(name)["ansible_port"]; got != port {
			t.Errorf("%s ansible_port %v, want %v", name, got, port)
		}
	}
	if hv := inv.HostVars("b"); hv["inventory_file"] != nil {
		t.Errorf("inventory_file for a host list = %v", hv["inventory_file"])
	}
}

func TestIPv6AndPortsInFiles(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"h.ini": "[v6]\n2001:db8::10\n[2001:db8::11]:2222\ndb1:2201 x=1\n",
		"h.yml": "v6:\n  hosts:\n    2001:db8::20:\n    \"[2001:db8::21]:2223\":\n    db2:2202: {x: 2}\n",
	})
	inv := mustLoad(t, filepath.Join(dir, "h.ini"), filepath.Join(dir, "h.yml"))
	want := map[string]any{"2001:db8::10": nil, "2001:db8::11": 2222, "db1": 2201, "2001:db8::20": nil, "2001:db8::21": 2223, "db2": 2202}
	for name, port := range want {
		if _, ok := inv.Host(name); !ok {
			t.Errorf("host %s missing; have %v", name, hostNames(inv.Hosts()))
			continue
		}
		if got := inv.HostVars(name)["ansible_port"]; got != port {
			t.Errorf("%s ansible_port %v, want %v", name, got, port)
		}
	}
	hs, err := inv.Match("2001:db8::10")
	if err != nil || len(hs) != 1 || hs[0].Name != "2001:db8::10" {
		t.Errorf("Match IPv6 = %v, %v", hs, err)
	}
}

func TestGroupHosts(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, "testdata/docs.ini")
	gh := inv.GroupHosts()
	if got, want := gh["southeast"], []string{"host1", "host2", "host3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups.southeast = %v, want %v", got, want)
	}
	if len(gh["all"]) != 43 || !reflect.DeepEqual(gh["ungrouped"], []string{"mail.example.com"}) {
		t.Errorf("groups.all has %d, ungrouped %v", len(gh["all"]), gh["ungrouped"])
	}
	if _, ok := gh["northeast"]; !ok {
		t.Error("empty groups must be listed")
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	_, err := Load([]string{"testdata/nope.ini"})
	var e *Error
	if !errors.As(err, &e) || !e.BadInput() || !strings.Contains(err.Error(), "nope.ini") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Load(nil); err == nil {
		t.Fatal("Load(nil) must fail")
	}
}

// TestFirstInventoryDir: sshplay_inventory_dir is the first -i source's
// directory for every host, while inventory_dir stays per host.
func TestFirstInventoryDir(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"a/hosts.ini": "[db]\ndb1\n",
		"b/more.ini":  "[db]\ndb2\n",
		"c/01-x":      "[web]\nw1\n",
	})
	inv, err := Load([]string{filepath.Join(dir, "a/hosts.ini"), filepath.Join(dir, "b/more.ini")})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"db1", "db2"} {
		if got := inv.HostVars(h)["sshplay_inventory_dir"]; got != filepath.Join(dir, "a") {
			t.Errorf("%s: sshplay_inventory_dir = %v, want %s", h, got, filepath.Join(dir, "a"))
		}
	}
	if got := inv.HostVars("db2")["inventory_dir"]; got != filepath.Join(dir, "b") {
		t.Errorf("db2: inventory_dir = %v", got)
	}
	inv, err = Load([]string{filepath.Join(dir, "c")})
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.HostVars("w1")["sshplay_inventory_dir"]; got != filepath.Join(dir, "c") {
		t.Errorf("directory source: sshplay_inventory_dir = %v", got)
	}
}
