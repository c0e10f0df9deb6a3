package playbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/ctxtest"
	"github.com/sshplay/sshplay/internal/yamlx/yamlxtest"
	"github.com/sshplay/sshplay/tasks"
)

// aliasPos is the file:line:col at which text is refused: its first *l5.
func aliasPos(file, text string) string {
	i := strings.Index(text, "*l5")
	return fmt.Sprintf("%s:%d:%d: ", file, strings.Count(text[:i], "\n")+1, i-strings.LastIndex(text[:i], "\n"))
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAliasBombRefusedInEveryPlaybookInput: wherever a playbook run reads
// YAML, a billion laughs is refused before anything walks it, as a
// *ParseError naming the file, line and column of the alias.
func TestAliasBombRefusedInEveryPlaybookInput(t *testing.T) {
	t.Parallel()
	mods := testModules()
	dir := t.TempDir()
	bomb := yamlxtest.Laughs(7, "")
	writeFile(t, filepath.Join(dir, "bomb.yml"), bomb)
	site := "- hosts: all\n  vars_files: [bomb.yml]\n  tasks:\n    - tmsg: {msg: x}\n"
	writeFile(t, filepath.Join(dir, "site.yml"), site)
	flow := "{" + strings.ReplaceAll(strings.TrimSuffix(bomb, "\n"), "\n", ", ") + "}"
	playVars := "- hosts: all\n  vars:\n" + yamlxtest.Laughs(7, "    ") + "  tasks:\n    - tmsg: {msg: x}\n"
	taskArgs := "- hosts: all\n  tasks:\n    - tmsg:\n        msg: x\n" + yamlxtest.Laughs(7, "        ")
	taskVars := "- hosts: all\n  tasks:\n    - tmsg: {msg: x}\n      vars:\n" + yamlxtest.Laughs(7, "        ")
	for _, c := range []struct {
		name, file, text string
		read             func() error
	}{
		{"play vars", "site.yml", playVars, func() error { _, err := Parse(mods, "site.yml", []byte(playVars)); return err }},
		{"task args", "site.yml", taskArgs, func() error { _, err := Parse(mods, "site.yml", []byte(taskArgs)); return err }},
		{"task vars", "site.yml", taskVars, func() error { _, err := Parse(mods, "site.yml", []byte(taskVars)); return err }},
		{"vars_files", "bomb.yml", bomb, func() error { _, err := LoadFile(mods, filepath.Join(dir, "site.yml")); return err }},
		{"-e @file", filepath.Join(dir, "bomb.yml"), bomb, func() error { _, err := ParseExtraVars("@" + filepath.Join(dir, "bomb.yml")); return err }},
		{"-e mapping", "-e", flow, func() error { _, err := ParseExtraVars(flow); return err }},
		{"include_vars", filepath.Join(dir, "bomb.yml"), bomb, func() error {
			_, err := includeVars(context.Background(), &tasks.Env{}, map[string]any{"file": filepath.Join(dir, "bomb.yml")})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.read()
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *ParseError, got %v", err)
			}
			want := aliasPos(c.file, c.text) + "excessive aliasing: alias *l5 expands the document by more than 1000000 nodes"
			if got := pe.Error(); got != want {
				t.Errorf("error:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestAliasInsideItsOwnNodeRefused: an alias inside the node it names is
// refused at the alias, before the template walk would follow it for
// ever.
func TestAliasInsideItsOwnNodeRefused(t *testing.T) {
	t.Parallel()
	src := "- hosts: all\n  vars:\n    a: &a [x, *a]\n  tasks:\n    - tmsg: {msg: x}\n"
	_, err := Parse(testModules(), "site.yml", []byte(src))
	if err == nil || err.Error() != "site.yml:3:15: alias *a is inside the node it names, so it never ends" {
		t.Errorf("got %v", err)
	}
}

// TestPlaybookWithAliasesLoads: ordinary anchors, aliases and merge keys
// in vars, module arguments and loops keep working.
func TestPlaybookWithAliasesLoads(t *testing.T) {
	t.Parallel()
	src := `- hosts: all
  vars:
    defaults: &defaults {port: 5432, user: postgres}
    primary: {<<: *defaults, role: primary}
    ports: &ports [5432, 5433]
    all_ports: [*ports, *ports]
  tasks:
    - tmsg: &msg {msg: "{{ defaults.port }}"}
    - tmsg: *msg
      loop: *ports
`
	pb, err := Parse(testModules(), "site.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	play := pb.Plays[0]
	wantPrimary := map[string]any{"port": 5432, "user": "postgres", "role": "primary"}
	if !reflect.DeepEqual(play.Vars["primary"], wantPrimary) {
		t.Errorf("primary = %v, want %v", play.Vars["primary"], wantPrimary)
	}
	if got := fmt.Sprint(play.Vars["all_ports"]); got != "[[5432 5433] [5432 5433]]" {
		t.Errorf("all_ports = %s", got)
	}
	if got := play.Tasks[1]; got.Args["msg"] != "{{ defaults.port }}" || fmt.Sprint(got.Loop) != "[5432 5433]" {
		t.Errorf("aliased task: args %v, loop %v", got.Args, got.Loop)
	}
	m, err := ParseExtraVars(`{base: &b {x: 1}, copy: *b}`)
	if err != nil || fmt.Sprint(m["copy"]) != "map[x:1]" {
		t.Errorf("-e mapping with an alias: %v, %v", m, err)
	}
}

// largePlaybook is a legal playbook that is slow to check in full: many
// templated vars and many tasks.
func largePlaybook() []byte {
	var b strings.Builder
	b.WriteString("- hosts: all\n  vars:\n")
	for i := 0; i < 20_000; i++ {
		fmt.Fprintf(&b, "    v%d: \"{{ x }}\"\n", i)
	}
	b.WriteString("  tasks:\n")
	for i := 0; i < 2_000; i++ {
		fmt.Fprintf(&b, "    - tmsg: {msg: \"m%d {{ v%d }}\"}\n", i, i)
	}
	return []byte(b.String())
}

// TestCancelStopsParsingALargePlaybook: cancelled while reading the YAML,
// counting it, checking templates or reading tasks, the parse returns the
// context's error at its next look, not after the whole file.
func TestCancelStopsParsingALargePlaybook(t *testing.T) {
	t.Parallel()
	mods := testModules()
	data := largePlaybook()
	full := ctxtest.New(0)
	if _, err := ParseContext(full, mods, "big.yml", data); err != nil {
		t.Fatal(err)
	}
	for _, at := range ctxtest.CutPoints(full.Looks()) {
		ctx := ctxtest.New(at)
		pb, err := ParseContext(ctx, mods, "big.yml", data)
		if pb != nil || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled at look %d of %d: got %v", at, full.Looks(), err)
		}
		if after := ctx.Looks() - at; after > 2 {
			t.Errorf("cancelled at look %d: parsing looked %d more times", at, after)
		}
	}
}
