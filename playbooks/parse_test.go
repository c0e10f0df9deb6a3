package playbooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
	"github.com/sshplay/sshplay/internal/suggest"
)

// dump is a normalized AST: JSON with zero values left out.
func dump(v any) string {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.MarshalIndent(prune(x), "", "  ")
	return string(b) + "\n"
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if p := prune(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = prune(e)
			if out[i] == nil {
				out[i] = map[string]any{}
			}
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	}
	return v
}

func goldenFile(t *testing.T, path, got string) {
	t.Helper()
	golden.File(t, path, []byte(got))
}

func TestParseGood(t *testing.T) {
	t.Parallel()
	mods := testModules()
	files, _ := filepath.Glob("testdata/parse/good/*.yml")
	if len(files) == 0 {
		t.Fatal("no good playbooks")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		pb, err := Parse(mods, filepath.Base(f), data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		goldenFile(t, strings.TrimSuffix(f, ".yml")+".golden", dump(pb.Plays))
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	mods := testModules()
	files, _ := filepath.Glob("testdata/parse/bad/*.yml")
	if len(files) == 0 {
		t.Fatal("no bad playbooks")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		_, err := Parse(mods, filepath.Base(f), data)
		if err == nil {
			t.Errorf("%s: parsed, want an error", f)
			continue
		}
		pe, ok := err.(*ParseError)
		if !ok || !pe.BadInput() {
			t.Errorf("%s: error %T is not a *ParseError", f, err)
		}
		goldenFile(t, strings.TrimSuffix(f, ".yml")+".golden", err.Error()+"\n")
	}
}

func TestEmbeddedPlaybooksParse(t *testing.T) {
	t.Parallel()
	mods := AllModules()
	names := EmbeddedNames()
	if len(names) == 0 {
		t.Fatal("no embedded playbooks")
	}
	for _, n := range names {
		pb, err := Load(mods, n)
		if err != nil {
			t.Errorf("embedded %s: %v", n, err)
			continue
		}
		if pb.FS == nil || len(pb.Plays) == 0 {
			t.Errorf("embedded %s: not loaded from the embedded FS", n)
		}
	}
	if _, err := Load(mods, "no-such-playbook"); err == nil || !strings.Contains(err.Error(), "shipped playbooks") {
		t.Errorf("missing playbook: %v", err)
	}
}

func TestParseKV(t *testing.T) {
	t.Parallel()
	args, err := ParseKV(`/bin/echo "a b" 'c d' {{ x | default('y z') }} creates=/tmp/x chdir='/a b'`, AllModules().FreeForm("command"))
	if err != nil {
		t.Fatal(err)
	}
	if args["_raw_params"] != `/bin/echo "a b" 'c d' {{ x | default('y z') }}` || args["creates"] != "/tmp/x" || args["chdir"] != "/a b" {
		t.Errorf("got %#v", args)
	}
	if _, err := ParseKV("src=a oops", nil); err == nil {
		t.Error("copy with free text: want error")
	}
	ev, err := ParseExtraVars(`{"a": 1, "b": [1, 2]}`)
	if err != nil || ev["a"] != 1 {
		t.Errorf("json -e: %v %v", ev, err)
	}
	ev, err = ParseExtraVars(`a=1 b='x y'`)
	if err != nil || ev["a"] != "1" || ev["b"] != "x y" {
		t.Errorf("kv -e: %v %v", ev, err)
	}
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	if got := suggest.Hint("comand", []string{"command", "copy", "shell"}); got != ` (did you mean "command"?)` {
		t.Errorf("got %q", got)
	}
	if got := suggest.Hint("zzzzzz", []string{"command"}); got != "" {
		t.Errorf("got %q", got)
	}
}

// TestYAMLSyntaxErrorsHaveAPosition: a YAML syntax error always says where:
// the offending token (a quote never closed: the quote), also on the
// first line, which yaml.v3 names no line for, and for a character YAML
// refuses (invalid UTF-8, a control character) the character itself,
// wherever it is. Indentation mistakes: testdata/parse/bad/indent_*.yml.
func TestYAMLSyntaxErrorsHaveAPosition(t *testing.T) {
	t.Parallel()
	mods := testModules()
	for src, want := range map[string]string{
		`"`: `site.yml:1:1: YAML syntax: found unexpected end of stream`,
		"":  `site.yml:1:1: empty playbook: want a list of plays`,
		"- hosts: all\n  tasks:\n    - a: \x01b\n": `site.yml:3:10: YAML syntax: control characters are not allowed`,
		"- hosts: all\n  name: \xffx\n":            `site.yml:2:9: YAML syntax: invalid leading UTF-8 octet`,
	} {
		_, err := Parse(mods, "site.yml", []byte(src))
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", src, err, want)
		}
	}
}
