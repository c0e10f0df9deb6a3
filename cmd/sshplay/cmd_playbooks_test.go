package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
	"github.com/sshplay/sshplay/playbooks"
)

func TestPlaybooksListShowsEveryShippedPlaybook(t *testing.T) {
	code, out, stderr := runCLI(t, "playbooks", "list")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	golden.File(t, filepath.Join("testdata", "playbooks", "list.golden"), []byte(out))
	for _, name := range playbooks.EmbeddedNames() {
		doc, err := playbooks.EmbeddedDoc(name)
		if err != nil || doc.Description == "" {
			t.Fatalf("%s: description %q, %v", name, doc.Description, err)
		}
		if !strings.Contains(out, "\n"+name+" ") || !strings.Contains(out, doc.Description+"\n") {
			t.Errorf("list does not show %s with %q:\n%s", name, doc.Description, out)
		}
	}

	code, out, _ = runCLI(t, "playbooks", "list", "--output", "json")
	var doc playbookListDoc
	if err := json.Unmarshal([]byte(out), &doc); code != exitOK || err != nil {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if doc.Schema != "sshplay.playbooks/v1" || len(doc.Playbooks) != len(playbooks.EmbeddedNames()) {
		t.Errorf("json list: %+v", doc)
	}
}

// TestPlaybooksShowTable pins the text of `playbooks show` for every
// shipped playbook: description, usage, and the variables table.
func TestPlaybooksShowTable(t *testing.T) {
	for _, name := range playbooks.EmbeddedNames() {
		code, out, stderr := runCLI(t, "playbooks", "show", name)
		if code != exitOK || stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", name, code, stderr)
		}
		golden.File(t, filepath.Join("testdata", "playbooks", name+".golden"), []byte(out))
	}
	_, out, _ := runCLI(t, "playbooks", "show", "postgres-tls")
	if !strings.Contains(out, "\npg_port                      5432") {
		t.Errorf("no pg_port row with its default:\n%s", out)
	}
}

func TestPlaybooksShowJSON(t *testing.T) {
	code, out, stderr := runCLI(t, "playbooks", "show", "postgres-tls.yml", "--output", "json")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "{\n  \"schema\": \"sshplay.playbook/v1\",\n  \"name\": \"postgres-tls\",") {
		t.Errorf("document does not start with schema and name:\n%.200s", out)
	}
	if doc["description"] != "turn on TLS on a fleet of PostgreSQL servers and prove it." ||
		!strings.HasPrefix(doc["usage"].(string), "sshplay play postgres-tls -i inventory.ini") {
		t.Errorf("description %q, usage %q", doc["description"], doc["usage"])
	}
	vars, _ := doc["variables"].([]any)
	want := map[string]any{"name": "tls_cert_days", "default": "365", "description": "certificate validity"}
	found := false
	for _, v := range vars {
		m := v.(map[string]any)
		if len(m) != 3 || m["name"] == "" {
			t.Errorf("variable %v: want exactly name, default, description", m)
		}
		found = found || (m["name"] == want["name"] && m["default"] == want["default"] && m["description"] == want["description"])
	}
	if len(vars) < 20 || !found {
		t.Errorf("%d variables, tls_cert_days as documented: %v", len(vars), found)
	}

	_, out, _ = runCLI(t, "playbooks", "show", "check", "--output", "json")
	if !strings.Contains(out, `"variables": []`) {
		t.Errorf("a playbook without variables must give an empty list:\n%s", out)
	}
}

func TestPlaybooksShowSourcePrintsTheShippedYAML(t *testing.T) {
	for _, name := range []string{"postgres-tls", "check.yml"} {
		code, out, _ := runCLI(t, "playbooks", "show", name, "--source")
		src, err := playbooks.EmbeddedSource(name)
		if code != exitOK || err != nil || out != string(src) {
			t.Errorf("%s --source: exit %d, %v, same as the shipped file: %v", name, code, err, out == string(src))
		}
	}
}

func TestPlaybooksShowBadInputExitsFive(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"playbooks", "show", "postgres-tsl"}, `no shipped playbook "postgres-tsl" (did you mean "postgres-tls"?); shipped: check, postgres-tls`},
		{[]string{"playbooks", "show", "site.yml"}, `no shipped playbook "site.yml"; shipped: check, postgres-tls`},
		{[]string{"playbooks", "show", "../playbooks/check"}, `no shipped playbook "../playbooks/check"`},
		{[]string{"playbooks", "show"}, "give one playbook name (shipped: check, postgres-tls)"},
		{[]string{"playbooks", "show", "check", "--source", "--output", "json"}, "--source prints the YAML"},
		{[]string{"playbooks", "show", "check", "--output", "yaml"}, `--output: want text or json, got "yaml"`},
		{[]string{"playbooks", "list", "--output", "xml"}, `--output: want text or json, got "xml"`},
		{[]string{"playbooks", "lst"}, `unknown command "lst" for "sshplay playbooks" (did you mean "list"?)`},
	} {
		code, out, stderr := runCLI(t, c.args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 5 and one line with %q", c.args, code, out, stderr, c.want)
		}
	}
}
