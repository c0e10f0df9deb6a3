package template

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPipeLookupRunsOnTheControlMachine pins Ansible's pipe lookup:
// trailing whitespace dropped, a failing command fails the template with
// Ansible's "returned N" message.
func TestPipeLookupRunsOnTheControlMachine(t *testing.T) {
	t.Parallel()
	s := New().Scope(nil)
	got, err := s.Render(`{{ lookup('ansible.builtin.pipe', 'printf "a\\nb\\n\\n"') }}`)
	if err != nil || got != "a\nb" {
		t.Fatalf("pipe = %q, %v; Ansible gives %q", got, err, "a\nb")
	}
	_, err = s.Render(`{{ lookup('pipe', 'exit 3') }}`)
	if err == nil || !strings.Contains(err.Error(), "lookup_plugin.pipe(exit 3) returned 3") {
		t.Fatalf("failing pipe: %v", err)
	}
}

// TestPasswordLookupStoresOnePasswordPerFile checks what Ansible's password
// lookup does (recorded by hand with ansible-core 2.14): the file and its
// directories are made private, hold the password and a newline, and a
// second lookup returns the stored password whatever its options.
func TestPasswordLookupStoresOnePasswordPerFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "creds", "db")
	s := New().Scope(map[string]any{"f": file})
	first, err := s.Render("{{ lookup('password', f + ' length=12 chars=digits') }}")
	if err != nil || !regexp.MustCompile(`^[0-9]{12}$`).MatchString(first) {
		t.Fatalf("first lookup = %q, %v", first, err)
	}
	b, err := os.ReadFile(file)
	if err != nil || string(b) != first+"\n" {
		t.Fatalf("file holds %q, %v", b, err)
	}
	for path, mode := range map[string]os.FileMode{file: 0o600, filepath.Dir(file): 0o700 | os.ModeDir} {
		if st, err := os.Stat(path); err != nil || st.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", path, st.Mode(), mode)
		}
	}
	again, err := s.Render("{{ lookup('password', f + ' length=30') }}")
	if err != nil || again != first {
		t.Fatalf("second lookup = %q, %v; want the stored %q", again, err, first)
	}
	commas, err := s.Render("{{ lookup('password', '/dev/null length=40 chars=ab,,') }}")
	if err != nil || !regexp.MustCompile(`^[ab,]{40}$`).MatchString(commas) {
		t.Fatalf("chars=ab,, gave %q, %v", commas, err)
	}
	if _, err := s.Render("{{ lookup('password', '/dev/null encrypt=sha512_crypt') }}"); err == nil ||
		!strings.Contains(err.Error(), "not supported yet") {
		t.Fatalf("encrypt=: %v", err)
	}
}

// TestTemplateLookupRendersWithEveryVariable: lookup('template') finds
// the file in templates/ next to the playbook and renders it with all the
// variables (not only those the calling template names), trim_blocks on.
func TestTemplateLookupRendersWithEveryVariable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "{% for p in ports %}\nport {{ p }} on {{ name }}\n{% endfor %}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "conf.j2"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New().Scope(map[string]any{"playbook_dir": dir, "ports": []any{1, 2}, "name": "db01"})
	got, err := s.Render("{{ lookup('ansible.builtin.template', 'conf.j2') }}")
	if want := "port 1 on db01\nport 2 on db01\n"; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if _, err := s.Render("{{ lookup('template', 'missing.j2') }}"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing template: %v", err)
	}
}
