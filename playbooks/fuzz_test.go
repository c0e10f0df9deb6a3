package playbooks

// Fuzz targets for what playbooks parses by hand: the playbook parser
// (FuzzParse) and the k=v short form (FuzzParseKV). Seeds are added below
// and kept under testdata/fuzz/FuzzParse and testdata/fuzz/FuzzParseKV,
// with every input that once broke an invariant. Run one with
//
//	go test -run=^$ -fuzz=^FuzzParse$ -fuzztime=45s ./playbooks

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/tasks"
)

// FuzzParse: whatever the bytes, Parse never panics; when it refuses them
// the error is a *ParseError that names the file and a line and column;
// and bytes it accepts parse to the same playbook again.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/parse/good/*.yml", "testdata/parse/bad/*.yml", "*.yml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "[]", "- hosts: all\n", "- hosts: all\n  tasks:\n    - command: echo hi\n",
		"- hosts: all\n  tasks:\n    - block:\n        - debug: msg=x\n      rescue: []\n",
		"- hosts: all\n  become: t\n  tasks:\n    - tmsg: {msg: \"{{ x | bool }}\"}\n      when: x is defined\n      loop: [1, [2]]\n",
		"- &p {hosts: all, tasks: [{trun: a, register: r}]}\n- *p\n",
	} {
		f.Add([]byte(s))
	}
	mods := testModules()
	f.Fuzz(func(t *testing.T, data []byte) {
		pb, err := Parse(mods, "fuzz.yml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if pe.File != "fuzz.yml" || pe.Line < 1 || pe.Col < 1 {
				t.Fatalf("error without a position: %#v", pe)
			}
			return
		}
		again, err := Parse(mods, "fuzz.yml", data)
		if err != nil {
			t.Fatalf("parsed once, then: %v", err)
		}
		if a, b := playbookText(t, pb), playbookText(t, again); a != b {
			t.Fatalf("parsed twice, differently:\n%s\n---\n%s", a, b)
		}
	})
}

// playbookText is pb as YAML: every field, maps in key order, NaN equal to
// itself, so that two parses can be compared as text.
func playbookText(t *testing.T, pb *Playbook) string {
	t.Helper()
	b, err := yaml.Marshal(pb.Plays)
	if err != nil {
		t.Fatalf("marshal the parsed playbook: %v", err)
	}
	return string(b)
}

// kvShortForm is the free text the fuzzed short forms may take: the
// options of command's.
var kvShortForm = &tasks.FreeForm{Options: []string{"creates", "chdir"}}

// FuzzParseKV: whatever the text, ParseKV never panics; the arguments of
// a text it accepts, written back as k="v" (quotes and backslashes
// escaped) with the free text after them, read back the same.
func FuzzParseKV(f *testing.F) {
	for _, s := range []string{
		"", "a=b", `msg="hello world" dest=/tmp/x`, `content="x\n" tab='a\tb' uni="\u00e9" keep=a\d`,
		`/bin/echo "a b" 'c d' {{ x | default('y z') }} creates=/tmp/x chdir='/a b'`,
		`echo a\nb creates=/x\ny`, `msg="say \"hi\""`, `a={{ b }} c="{% if d %}e{% endif %}"`,
		`a='unterminated`, `x=1 x=2`, "a=\"\\101\\x41\\u0041\\U00000041\"",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, free bool) {
		ff := (*tasks.FreeForm)(nil)
		if free {
			ff = kvShortForm
		}
		args, err := ParseKV(s, ff)
		if err != nil {
			return
		}
		text := requote(args)
		back, err := ParseKV(text, ff)
		if err != nil {
			t.Fatalf("%q gave %q, written back as %q, which is refused: %v", s, args, text, err)
		}
		if !maps.Equal(args, back) {
			t.Fatalf("%q gave %q, written back as %q, which gives %q", s, args, text, back)
		}
	})
}

// requote writes arguments back in the short form: k="v" for each
// argument, in key order, then the free text as it was.
func requote(args map[string]any) string {
	var words []string
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if k == "_raw_params" {
			continue
		}
		v := args[k].(string)
		v = strings.ReplaceAll(v, `\`, `\\`)
		v = strings.ReplaceAll(v, `"`, `\"`)
		words = append(words, k+`="`+v+`"`)
	}
	if raw, ok := args["_raw_params"].(string); ok {
		words = append(words, raw)
	}
	return strings.Join(words, " ")
}

// TestFuzzSeedsAreCheckedIn makes sure the fuzz targets' corpus
// directories exist, so that the crashers kept there keep running as
// tests.
func TestFuzzSeedsAreCheckedIn(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"FuzzParse", "FuzzParseKV"} {
		if _, err := fs.Stat(os.DirFS("testdata/fuzz"), name); err != nil {
			t.Errorf("testdata/fuzz/%s: %v", name, err)
		}
	}
}
