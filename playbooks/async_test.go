package playbooks

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestAsyncBoundsTheTask: async with poll > 0 fails a task that outlives
// async seconds with Ansible's message ("async task did not complete
// within the requested time - 1s"), while a quick one succeeds.
func TestAsyncBoundsTheTask(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: stuckFleet{f}, Forks: 2, Out: &out,
		Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}}
	src := `- hosts: db02
  tasks:
    - trun: quick
      async: 5
      poll: 1
    - trun: hang
      async: 1
      poll: 1
      ignore_errors: true
      register: r
    - debug: {msg: "{{ r.msg }}"}
`
	pb, err := Parse(opts.Modules, "site.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Run(context.Background(), []*Playbook{pb}, opts); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("took %v; async 1 should stop the task after about a second", el)
	}
	if !strings.Contains(out.String(), `"msg": "async task did not complete within the requested time - 1s"`) {
		t.Errorf("no async timeout message:\n%s", out.String())
	}
	if strings.Count(out.String(), "changed: [db02]") != 1 {
		t.Errorf("the quick task should have run:\n%s", out.String())
	}
}

// TestPollZeroIsRefused: fire-and-forget async is not supported yet, said
// at parse time where poll: 0 is written.
func TestPollZeroIsRefused(t *testing.T) {
	t.Parallel()
	pe := parseErr(t, testModules(), "- hosts: all\n  tasks:\n    - trun: x\n      async: 60\n      poll: 0\n")
	if pe.Line != 5 || !strings.Contains(pe.Msg, "not supported yet: poll: 0") {
		t.Errorf("%d: %s", pe.Line, pe.Msg)
	}
}
