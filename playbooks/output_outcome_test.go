package playbooks

import (
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
)

// A real run says per host what a module did without -v; facts a task
// repeats from an earlier one are not printed again below -vvv.
func TestTextOutputShowsOutcomeAndSkipsRepeatedFacts(t *testing.T) {
	t.Parallel()
	facts := map[string]any{"pg": map[string]any{"data_directory": "/var/lib/postgresql/15/main"}}
	hr := func(status tasks.Status) *HostResult {
		return &HostResult{Host: "db01", Task: &Task{Name: "reload", Module: "pg_reload"}, Status: status,
			Summary: "would reload: ssl: off -> on",
			Result: map[string]any{"changed": status == tasks.StatusChanged, tasks.OutcomeKey: "reloaded",
				"ansible_facts": facts, tasks.RepeatedFactsKey: true}}
	}
	cases := []struct {
		name    string
		opts    Options
		status  tasks.Status
		want    []string
		wantNot []string
	}{
		{"run", Options{}, tasks.StatusChanged, []string{"changed: [db01] (reloaded)"}, []string{"data_directory", "would reload"}},
		{"check change shows the plan", Options{Check: true}, tasks.StatusChanged, []string{"(would reload: ssl: off -> on)"}, []string{"(reloaded)"}},
		{"check ok shows what the plan found", Options{Check: true}, tasks.StatusOK, []string{"ok: [db01] (reloaded)"}, nil},
		{"-v leaves repeated facts out", Options{Verbose: 1}, tasks.StatusChanged, []string{`"outcome": "reloaded"`, "(reloaded) =>"}, []string{"data_directory", tasks.RepeatedFactsKey}},
		{"-vvv shows them", Options{Verbose: 3}, tasks.StatusChanged, []string{"data_directory"}, []string{tasks.RepeatedFactsKey}},
	}
	for _, c := range cases {
		var b strings.Builder
		r := newTextReporter(&b, c.opts)
		r.HostResult(hr(c.status))
		out := b.String()
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, out)
			}
		}
		for _, w := range c.wantNot {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%s", c.name, w, out)
			}
		}
	}
}
