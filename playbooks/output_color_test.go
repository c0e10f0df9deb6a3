package playbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
)

// ansi matches a colour escape.
var ansi = regexp.MustCompile("\033\\[[0-9;]*m")

// TestDiffsAreColouredOnlyWithColour: with colour, a diff's file headers
// are bold, hunk headers cyan, added lines green and removed lines red, in
// the playbook output and the ad-hoc output alike; without colour the diff
// is printed as it is.
func TestDiffsAreColouredOnlyWithColour(t *testing.T) {
	t.Parallel()
	diff := tasks.FileDiff("/etc/motd", "old\nsame\n", "new\nsame\n")
	hr := &HostResult{Host: "db01", Task: &Task{Name: "motd", Module: "copy"}, Status: tasks.StatusChanged,
		Result: map[string]any{"changed": true}, Diffs: []tasks.Diff{diff}, ShowDiff: true}
	want := []string{
		cBold + "--- before: /etc/motd" + cReset + "\n",
		cBold + "+++ after: /etc/motd" + cReset + "\n",
		cCyan + "@@ -1,2 +1,2 @@" + cReset + "\n",
		cRed + "-old" + cReset + "\n",
		cGreen + "+new" + cReset + "\n",
		" same\n",
	}
	for _, color := range []bool{true, false} {
		var play, adhoc strings.Builder
		newTextReporter(&play, Options{Color: color}).HostResult(hr)
		(&adhocReporter{w: &adhoc, opts: Options{Color: color, Diff: true}}).HostResult(hr)
		for name, out := range map[string]string{"play": play.String(), "exec": adhoc.String()} {
			if !color {
				if ansi.MatchString(out) || !strings.Contains(out, diff.Unified) {
					t.Errorf("%s without colour: %q", name, out)
				}
				continue
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("%s with colour lacks %q:\n%q", name, w, out)
				}
			}
		}
	}
}

// TestLogGetsTheTextOutputWithoutColour: Options.Log receives the text
// output, never coloured, beside the JSON document on Out (which stays
// one document), and beside coloured text (then it is that text without
// its escapes).
func TestLogGetsTheTextOutputWithoutColour(t *testing.T) {
	t.Parallel()
	src := `
- hosts: dbservers
  tasks:
    - name: write
      tput: {path: /etc/x, content: new}
`
	var log bytes.Buffer
	_, out := runYAML(t, newFleet(2), src, func(o *Options) { o.Format, o.Color, o.Diff, o.Log = "json", true, true, &log })
	var doc JSONDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	for _, w := range []string{"TASK [write]", "changed: [db01]", "+new", "PLAY RECAP", "Playbook run took"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log.String())
		}
	}
	if ansi.MatchString(log.String()) {
		t.Errorf("log has colour:\n%q", log.String())
	}

	log.Reset()
	_, out = runYAML(t, newFleet(2), src, func(o *Options) { o.Color, o.Log = true, &log })
	if !ansi.MatchString(out) {
		t.Fatalf("text output has no colour: %q", out)
	}
	plain := ansi.ReplaceAllString(out, "")
	if plain != log.String() {
		t.Errorf("log differs from the output without colour:\n--- out\n%s\n--- log\n%s", plain, log.String())
	}
}

// TestExecLogGetsTheAdhocLines: `sshplay exec` writes its ad-hoc lines to
// the log too, under --output json as well.
func TestExecLogGetsTheAdhocLines(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	var out, log bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}},
		Out: &out, Format: "json", Log: &log}
	if _, err := Adhoc(context.Background(), AdhocOptions{Options: opts, Pattern: "all", Module: "tmsg", Args: "msg=hi"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "db01 | SUCCESS => {") || strings.Contains(log.String(), `"schema"`) {
		t.Errorf("log:\n%s", log.String())
	}
	if !strings.HasPrefix(out.String(), "{\n  \"schema\": \""+ExecSchema) {
		t.Errorf("stdout:\n%s", out.String())
	}
}
