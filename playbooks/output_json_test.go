package playbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
)

// durations matches the fields of a JSON document that differ from run to
// run: they are set to 0 before comparing with the golden document.
var durations = regexp.MustCompile(`("duration_(?:ms|seconds)": )[0-9.e+-]+`)

func normaliseDurations(doc string) []byte {
	return []byte(durations.ReplaceAllString(doc, "${1}0"))
}

// decodeStrict decodes a document into JSONDoc refusing any field the Go
// types do not declare, so that the golden file and the types agree.
func decodeStrict(t *testing.T, doc string) *JSONDoc {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	var d JSONDoc
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode: %v\n%s", err, doc)
	}
	return &d
}

// TestRunJSONDocumentMatchesSchemaV1 pins the sshplay.run/v1 document: a
// play whose tasks are ok, changed (with a diff), failed and ignored,
// skipped, looped, no_log, on one host reached and one unreachable, with
// the schema name as its first field.
func TestRunJSONDocumentMatchesSchemaV1(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	f.unreachable["db02"] = true
	f.hosts["db01"].fail = "boom"
	_, out := runYAML(t, f, `
- name: schema
  hosts: dbservers
  tasks:
    - name: say
      tmsg: {msg: hello}
    - name: write
      tput: {path: /etc/motd, content: "hi\n"}
      diff: true
    - name: fail but go on
      trun: boom
      ignore_errors: true
    - name: skipped
      tmsg: {msg: never}
      when: false
    - name: items
      tmsg: {msg: "{{ item }}"}
      loop: [a, b]
    - name: secret
      tmsg: {msg: s3cret}
      no_log: true
`, func(o *Options) { o.Format = "json" })
	if !strings.HasPrefix(out, "{\n  \"schema\": \""+RunSchema+"\",\n") {
		t.Fatalf("schema is not the first field:\n%s", out)
	}
	golden.File(t, filepath.Join("testdata", "json", "run-v1.json"), normaliseDurations(out))
	doc := decodeStrict(t, out)
	if doc.Schema != RunSchema || len(doc.Plays) != 1 || len(doc.Plays[0].Tasks) != 6 {
		t.Errorf("document: schema %q, %d plays", doc.Schema, len(doc.Plays))
	}
}

// TestExecJSONDocumentNamesExecSchema: `sshplay exec --output json` has
// the same shape under its own schema name, sshplay.exec/v1.
func TestExecJSONDocumentNamesExecSchema(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}, Out: &out, Format: "json"}
	if _, err := Adhoc(context.Background(), AdhocOptions{Options: opts, Pattern: "all", Module: "tmsg", Args: "msg=hi"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "{\n  \"schema\": \""+ExecSchema+"\",\n") {
		t.Fatalf("exec document:\n%s", out.String())
	}
	golden.File(t, filepath.Join("testdata", "json", "exec-v1.json"), normaliseDurations(out.String()))
	if doc := decodeStrict(t, out.String()); doc.Stats["db01"] == nil || doc.Stats["db01"].OK != 1 {
		t.Errorf("stats: %+v", doc.Stats)
	}
}

// TestCheckRunJSONCarriesPlanLines: under --check a change's plan note
// (the text output's "(write /etc/x)") is in its JSON host result as
// "plan"; a real run, an unchanged host and a no_log task have none.
func TestCheckRunJSONCarriesPlanLines(t *testing.T) {
	t.Parallel()
	src := `
- hosts: dbservers
  tasks:
    - name: write
      tput: {path: /etc/x, content: new}
    - name: hidden
      tput: {path: /etc/y, content: new}
      no_log: true
`
	f := newFleet(2)
	f.hosts["db02"].files["/etc/x"] = []byte("new")
	_, text := runYAML(t, f, src, func(o *Options) { o.Check = true })
	if !strings.Contains(text, "changed: [db01] (write /etc/x)") {
		t.Fatalf("text output lacks the plan note:\n%s", text)
	}
	_, out := runYAML(t, f, src, func(o *Options) { o.Check, o.Format = true, "json" })
	doc := decodeStrict(t, out)
	tasks := doc.Plays[0].Tasks
	if got := tasks[0].Hosts["db01"].Plan; len(got) != 1 || got[0] != "write /etc/x" {
		t.Errorf("db01 plan = %q, want [write /etc/x]", got)
	}
	if got := tasks[0].Hosts["db02"].Plan; got != nil {
		t.Errorf("unchanged db02 has a plan: %q", got)
	}
	if got := tasks[1].Hosts["db01"].Plan; got != nil {
		t.Errorf("no_log task shows its plan: %q", got)
	}
	_, out = runYAML(t, newFleet(1), src, func(o *Options) { o.Format = "json" })
	if strings.Contains(out, `"plan"`) {
		t.Errorf("a real run carries plan lines:\n%s", out)
	}
}
