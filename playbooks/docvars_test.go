package playbooks

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// documented returns the names of the variables NAME's header documents.
func documented(t *testing.T, name string) map[string]bool {
	t.Helper()
	doc, err := EmbeddedDoc(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := map[string]bool{}
	for _, v := range doc.Variables {
		out[v.Name] = true
	}
	return out
}

func TestDocVarsReadPostgresTLSHeader(t *testing.T) {
	t.Parallel()
	doc, err := EmbeddedDoc("postgres-tls")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Name != "postgres-tls" || doc.Description != "turn on TLS on a fleet of PostgreSQL servers and prove it." {
		t.Errorf("name %q, description %q", doc.Name, doc.Description)
	}
	if len(doc.Usage) != 1 || !strings.HasPrefix(doc.Usage[0], "sshplay play postgres-tls -i ") {
		t.Errorf("usage %q", doc.Usage)
	}
	byName := map[string]DocVar{}
	for _, v := range doc.Variables {
		byName[v.Name] = v
	}
	for _, want := range []DocVar{
		{"pg_port", "5432", "server port (socket and TCP)"},
		{"pg_socket_dir", "(psql's default)", "unix socket directory on the host"},
		{"tls_key_type", "ecdsa-p256", "or rsa-2048, rsa-3072, rsa-4096 (Ed25519/Ed448 refused: they break libpq's SCRAM channel binding)"},
		{"pg_ssl_min_protocol_version", "TLSv1.2", "(PostgreSQL 12 and later)"},
		{"tls_san", "[]", "extra DNS names / IPs for the cert (inventory_hostname when DNS-like, ansible_host and pg_host always)"},
	} {
		if got := byName[want.Name]; got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", want.Name, got, want)
		}
	}
	if _, ok := byName["Hosts"]; ok {
		t.Error("the Hosts note was read as a variable")
	}
	for _, v := range doc.Variables {
		if v.Default == "" || v.Description == "" {
			t.Errorf("%s: default %q, description %q: want both", v.Name, v.Default, v.Description)
		}
	}
}

// defaultRead is a variable read as `NAME(.attr|[key])* | default(`.
var defaultRead = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])*\s*\|\s*default\(`)

// notUserVars are read with default( by the shipped playbooks but are no
// user's to set: magic variables, and the facts a module sets (pg_facts
// sets pg).
var notUserVars = map[string]bool{"pg": true, "inventory_hostname": true, "hostvars": true, "groups": true}

// setByPlaybook returns the variables a playbook sets itself: its
// register: names and set_fact keys.
func setByPlaybook(t *testing.T, name string) map[string]bool {
	t.Helper()
	pb, err := Load(AllModules(), name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(ts []*Task)
	walk = func(ts []*Task) {
		for _, task := range ts {
			if task.Register != "" {
				out[task.Register] = true
			}
			if task.Module == "set_fact" {
				for k := range task.Args {
					out[k] = true
				}
			}
			walk(task.Block)
			walk(task.Rescue)
			walk(task.Always)
		}
	}
	for _, p := range pb.Plays {
		for _, sec := range [][]*Task{p.PreTasks, p.Tasks, p.PostTasks, p.Handlers} {
			walk(sec)
		}
	}
	return out
}

// TestDocVarsDocumentEveryDefaultedVariable: a variable a shipped playbook
// reads with `| default(` that the playbook does not set itself is one the
// user may set, so its header must document it (and `sshplay playbooks
// show` list it).
func TestDocVarsDocumentEveryDefaultedVariable(t *testing.T) {
	t.Parallel()
	for _, name := range EmbeddedNames() {
		src, err := EmbeddedSource(name)
		if err != nil {
			t.Fatal(err)
		}
		docs, set := documented(t, name), setByPlaybook(t, name)
		for _, m := range defaultRead.FindAllStringSubmatch(string(src), -1) {
			v := m[1]
			if set[v] || notUserVars[v] || strings.HasPrefix(v, "ansible_") || docs[v] {
				continue
			}
			t.Errorf("%s.yml reads %s with a default (%q) but its header does not document it", name, v, m[0])
		}
	}
}

// moduleRead is a job setting read by the postgres-tls modules (tasks/
// postgres: p.Str("pg_port", ...)) or by the pg helpers they call
// (get("tls_ca_dir")).
var moduleRead = regexp.MustCompile(`\b(?:p\.(?:Str|Int|Bool|List|Get)|get)\("((?:pg|tls)_[a-z0-9_]+)"`)

// TestDocVarsDocumentEveryVariableTheModulesRead: the postgres-tls job's
// settings are read by its modules, not by the YAML, so their sources are
// scanned too: a setting added there and not to the header fails here.
func TestDocVarsDocumentEveryVariableTheModulesRead(t *testing.T) {
	t.Parallel()
	docs := documented(t, "postgres-tls")
	var files []string
	for _, dir := range []string{"../tasks/postgres", "../pg"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		files = append(files, m...)
	}
	read := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range moduleRead.FindAllStringSubmatch(string(src), -1) {
			read[m[1]] = f
		}
	}
	if !docs["pg_port"] || read["pg_port"] == "" {
		t.Fatalf("scan found nothing: read %v", read)
	}
	var missing []string
	for v, f := range read {
		if !docs[v] {
			missing = append(missing, v+" (read in "+f+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("postgres-tls.yml's header does not document:\n  %s", strings.Join(missing, "\n  "))
	}
}

func TestDocVarsHeaderFormat(t *testing.T) {
	t.Parallel()
	src := "# demo: say hello.\n" +
		"#\n" +
		"#   sshplay play demo -i inv\n" +
		"#\n" +
		"# Variables:\n" +
		"# Hosts: a note, not a variable,\n" +
		"#        over two lines.\n" +
		"#   greeting: hello         what to say,\n" +
		"#                           over two lines\n" +
		"#   target: (everyone)\n" +
		"#                           continued alone\n" +
		"#   empty:\n" +
		"# A note ends the entry above;\n" +
		"#                           this continues the note.\n" +
		"#\n" +
		"#   after: x                not in the section\n" +
		"- hosts: all\n"
	doc, err := ParseDoc("demo.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []DocVar{
		{"greeting", "hello", "what to say, over two lines"},
		{"target", "(everyone)", "continued alone"},
		{"empty", "", ""},
	}
	if doc.Name != "demo" || doc.Description != "say hello." || len(doc.Usage) != 1 || doc.Usage[0] != "sshplay play demo -i inv" {
		t.Errorf("name %q, description %q, usage %q", doc.Name, doc.Description, doc.Usage)
	}
	if len(doc.Variables) != len(want) {
		t.Fatalf("got %+v, want %+v", doc.Variables, want)
	}
	for i := range want {
		if doc.Variables[i] != want[i] {
			t.Errorf("variable %d: got %+v, want %+v", i, doc.Variables[i], want[i])
		}
	}
	notes := []string{"Hosts: a note, not a variable, over two lines.", "A note ends the entry above; this continues the note."}
	if strings.Join(doc.Notes, "|") != strings.Join(notes, "|") {
		t.Errorf("notes %q, want %q", doc.Notes, notes)
	}
}

func TestDocVarsRejectBadEntries(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		src, msg string
		line     int
	}{
		"no colon":     {"# x: y\n# Variables:\n#   a: 1   one\n#   b 2    two\n", `want "name: default  description", got "b 2    two"`, 4},
		"twice":        {"# x: y\n# Variables:\n#   a: 1   one\n#   a: 2   two\n", "a documented twice (first at line 3)", 4},
		"continuation": {"# x: y\n# Variables:\n#     orphan\n#   a: 1   one\n", "continuation line with nothing above it", 3},
	} {
		_, err := ParseDoc("x.yml", []byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line || !strings.Contains(pe.Msg, c.msg) || !pe.BadInput() {
			t.Errorf("%s: got %v, want x.yml:%d: ...%s", name, err, c.line, c.msg)
		}
	}
}

func TestDocVarsUnknownPlaybookIsNotExist(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"no-such", "", "../postgres-tls", "sub/check"} {
		if _, err := EmbeddedDoc(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q: got %v, want fs.ErrNotExist", name, err)
		}
	}
	for _, name := range []string{"check", "check.yml"} {
		doc, err := EmbeddedDoc(name)
		if err != nil || doc.Name != "check" || doc.Description == "" || len(doc.Variables) != 0 {
			t.Errorf("%q: %+v, %v", name, doc, err)
		}
	}
}

// FuzzParseDoc: any header either parses into well-formed variables
// (names that are identifiers, documented once) or fails with a
// *ParseError on a line of the header; never a panic.
func FuzzParseDoc(f *testing.F) {
	for _, name := range EmbeddedNames() {
		src, err := EmbeddedSource(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("# x: y\n# Variables:\n#     orphan\n#   a: 1   one\n"))
	f.Add([]byte("# Variables\n# note\n#   a:\n#      b: c\n#   a: 2\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := ParseDoc("fuzz.yml", src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > len(headerLines(string(src))) {
				t.Fatalf("error %v: want a *ParseError on a header line", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, v := range doc.Variables {
			if !docEntry.MatchString(v.Name+":") || seen[v.Name] {
				t.Fatalf("variable %q: not an identifier, or twice", v.Name)
			}
			seen[v.Name] = true
		}
	})
}
