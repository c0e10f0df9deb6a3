package inventory

// The inventory's guards: alias bombs, secrets
// in output, unbalanced brackets in patterns, YAML error lines, Ansible's
// ignored extensions in inventory directories, and the cost of big ranges.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// billionLaughs nests aliases nine deep, nine wide: 9^9 (387 million)
// scalars from a file of a few hundred bytes.
const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestAliasBombFails(t *testing.T) {
	t.Parallel()
	indented := "    " + strings.ReplaceAll(strings.TrimSuffix(billionLaughs, "\n"), "\n", "\n    ") + "\n"
	dir := writeFiles(t, map[string]string{
		"vars/inv.yml":            "all:\n  hosts:\n    db1:\n",
		"vars/group_vars/all.yml": billionLaughs,
		"inline/inv.yml":          "all:\n  vars:\n" + indented + "  hosts:\n    db1:\n",
		"groups/inv.yml":          groupBomb(),
		"fine/inv.yml":            "all:\n  vars:\n    base: &base {x: 1, y: [1, 2]}\n  hosts:\n    db1: {<<: *base, z: 3}\n    db2: {<<: *base}\n    db3: *base\n",
		"fine/group_vars/all.yml": "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n",
	})
	for _, src := range []string{"vars/inv.yml", "inline/inv.yml", "groups/inv.yml"} {
		t.Run(src, func(t *testing.T) {
			_, err := Load([]string{filepath.Join(dir, src)})
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Msg, "excessive aliasing") || e.Line == 0 || e.File == "" {
				t.Fatalf("want an excessive aliasing error with file:line, got %v", err)
			}
		})
	}
	inv, err := Load([]string{filepath.Join(dir, "fine/inv.yml")})
	if err != nil {
		t.Fatalf("ordinary aliases: %v", err)
	}
	if v := inv.HostVars("db1"); v["x"] != 1 || v["z"] != 3 || len(v["b"].([]any)) != 3 {
		t.Errorf("db1 vars = %v", v)
	}
}

// groupBomb nests group bodies through aliases eight deep, eight wide, with
// distinct child names per level (so no group loop): 8^8 group walks.
func groupBomb() string {
	var b strings.Builder
	b.WriteString("all:\n  children:\n    g1: &g1\n      hosts: {db1: }\n")
	for lvl := 2; lvl <= 9; lvl++ {
		fmt.Fprintf(&b, "    g%d: &g%d\n      children: {", lvl, lvl)
		for i := 0; i < 8; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "l%d%c: *g%d", lvl, 'a'+i, lvl-1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func TestOutputMasksSecrets(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"inv.ini": "[db]\ndb1 ansible_password=hunter2 ansible_become_password=s3cret ansible_ssh_pass=p1 ansible_become_pass=p2 api_token=t0k pg_port=5432\n" +
			"[db:vars]\nvault_secret=abc\nsettings={'admin_passwd': 'x', 'port': 1}\n",
	})
	inv := mustLoad(t, filepath.Join(dir, "inv.ini"))
	var list, host, graph bytes.Buffer
	if err := inv.ListJSON(&list, false); err != nil {
		t.Fatal(err)
	}
	if err := inv.HostJSON(&host, "db1", false); err != nil {
		t.Fatal(err)
	}
	if err := inv.Graph(&graph, ""); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"list": list.String(), "host": host.String(), "graph": graph.String()} {
		for _, secret := range []string{"hunter2", "s3cret", "p1", "p2", "t0k", "abc", `"x"`} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows secret %s:\n%s", name, secret, out)
			}
		}
	}
	for _, want := range []string{`"ansible_password": "********"`, `"ansible_ssh_pass": "********"`, `"api_token": "********"`, `"admin_passwd": "********"`, `"pg_port": 5432`} {
		if !strings.Contains(host.String(), want) {
			t.Errorf("--host lacks %s:\n%s", want, host.String())
		}
	}
	host.Reset()
	if err := inv.HostJSON(&host, "db1", true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(host.String(), `"ansible_password": "hunter2"`) {
		t.Errorf("showSecrets hides the password:\n%s", host.String())
	}
	// Masking the output never changes the inventory itself.
	if inv.HostVars("db1")["ansible_password"] != "hunter2" {
		t.Error("masking changed the host's variables")
	}
}

func TestPatternUnbalancedBrackets(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, writeFiles(t, map[string]string{"inv.ini": "[db]\ndb0[1:3]\ndb10\n"})+"/inv.ini")
	for _, p := range []string{"~db0[", "db[0", "db]", "db:web[1", "~db0[,db10", "db[0]]"} {
		_, err := inv.Match(p)
		var e *Error
		if !errors.As(err, &e) || !e.BadInput() || !strings.Contains(e.Msg, p) {
			t.Errorf("Match(%q): want an *Error naming the pattern, got %v", p, err)
		}
		hosts := inv.Hosts()
		if _, err := inv.Limit(hosts, p); !errors.As(err, &e) {
			t.Errorf("Limit(%q): want an *Error, got %v", p, err)
		}
	}
	if _, err := inv.Match("~db0[1-2]"); err != nil {
		t.Errorf("balanced regex: %v", err)
	}
	if _, err := inv.Match("~db0(,db10"); err == nil || !strings.Contains(err.Error(), "~db0(") {
		t.Errorf("invalid regex: %v", err)
	}
}

func TestYAMLErrorLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"bad indent", "all:\n  hosts:\n    a:\n   b: 1\n", 4},
		{"bad indent deeper", "all:\n  hosts:\n    a:\n    b:\n    c:\n      x: 1\n     y: 2\n", 7},
		{"tab", "all:\n\thosts:\n", 2},
		{"unclosed flow", "all:\n  hosts:\n    a: 1\n  vars: [\n", 4},
		{"unclosed quote", "all:\n  vars:\n    a: \"x\n", 3},
		{"lone quote", "\"", 1},
		{"quote opened and never closed", "all:\n  vars:\n    a: 1\n    b: \"x\n\n    c: 2\n", 4},
		{"control character", "all:\n  vars:\n    a: \"\x01\"\n", 3},
		{"bad UTF-8", "all:\n  hosts:\n    db\xff:\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"inv.yml": tc.text})
			_, err := Load([]string{filepath.Join(dir, "inv.yml")})
			var e *Error
			if !errors.As(err, &e) || e.Line != tc.line {
				t.Fatalf("want line %d, got %v", tc.line, err)
			}
		})
	}
}

// TestDirIgnoresAnsibleExts: with -i DIR, Ansible's default
// INVENTORY_IGNORE_EXTS skips hosts.ini, README.md and the like, but reads
// hosts and hosts.yml.
func TestDirIgnoresAnsibleExts(t *testing.T) {
	t.Parallel()
	want := []string{".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg", ".retry"}
	if strings.Join(ignoredExts, " ") != strings.Join(want, " ") {
		t.Errorf("ignoredExts = %q, want Ansible's default %q", ignoredExts, want)
	}
	files := map[string]string{
		"inv/hosts":     "[plain]\nfromplain\n",
		"inv/hosts.yml": "all:\n  hosts:\n    fromyml:\n",
	}
	for _, ext := range want {
		files["inv/skipped"+ext] = "[bad\n"
	}
	inv := mustLoad(t, filepath.Join(writeFiles(t, files), "inv"))
	var names []string
	for _, h := range inv.Hosts() {
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "fromplain,fromyml" {
		t.Errorf("hosts = %v", names)
	}
}

// BenchmarkLoadRange100k loads an INI group holding a range of 100,000
// hosts: joining a group must cost the same whatever the group's size.
func BenchmarkLoadRange100k(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "inv.ini")
	if err := os.WriteFile(p, []byte("[db]\ndb[000001:100000].example.com ansible_user=sshplay\n[db:vars]\npg_port=5432\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		inv, err := Load([]string{p})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(inv.Hosts()); n != 100000 {
			b.Fatalf("%d hosts", n)
		}
	}
}
