package playbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestWithLoopsGiveAnsiblesItems runs testdata/loops/loops.yml, the
// playbook whose items ansible-core 2.14 recorded in ansible-out.json
// (ansible-playbook -i localhost, -c local loops.yml), and compares every
// loop's items: with_dict, with_together, with_nested, with_sequence (long
// and short forms), with_fileglob, with_first_found, with_items of a bare
// word, loop_control's index_var, extended, label and loop_var.
func TestWithLoopsGiveAnsiblesItems(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/loops/loops.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The same tasks, on a fake host; the result is written there.
	text := strings.NewReplacer("- hosts: localhost", "- hosts: db01", "- copy:", "- tput:",
		`dest: "{{ playbook_dir }}/out.json"`, "path: /out.json").Replace(string(src))
	f := newFleet(1)
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Forks: 1, Out: &out,
		Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}}
	pb, err := Parse(opts.Modules, "loops.yml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if pb.Dir, err = filepath.Abs("testdata/loops"); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), []*Playbook{pb}, opts); err != nil {
		t.Fatalf("run: %v", err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(f.hosts["db01"].files["/out.json"], &got); err != nil {
		t.Fatalf("result: %v\n%s", err, out.String())
	}
	b, _ := os.ReadFile("testdata/loops/ansible-out.json")
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// with_fileglob's order is the directory's in Ansible; ours is sorted.
	for _, m := range []map[string]any{got, want} {
		if l, ok := m["glob"].([]any); ok {
			sort.Slice(l, func(i, j int) bool { return l[i].(string) < l[j].(string) })
		}
	}
	// Every Ansible result carries failed: false; sshplay's module results
	// leave it out, which this test does not judge.
	if keys, ok := want["ext_keys"].([]any); ok {
		want["ext_keys"] = slices.DeleteFunc(keys, func(k any) bool { return k == "failed" })
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: got %v, Ansible gives %v", k, got[k], w)
		}
	}
	if !strings.Contains(out.String(), "(item=L1)") {
		t.Errorf("loop_control.label not shown:\n%s", out.String())
	}
}

// TestWithSequenceRejectsWhatAnsibleRejects pins with_sequence's errors.
func TestWithSequenceRejectsWhatAnsibleRejects(t *testing.T) {
	t.Parallel()
	for term, want := range map[string]string{
		"start=1 end=5 count=2":   "can't specify both count and end",
		"start=5 end=1":           "to count backwards make stride negative",
		"start=1 end=5 stride=-1": "to count forward don't make stride negative",
		"start=x end=2":           "can't parse start=x as integer",
		"begin=1 end=2":           "unrecognized argument",
		"start=1":                 "must specify count or end",
	} {
		_, err := withSequence(term, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", term, err, want)
		}
	}
	if got, err := withSequence("start=1 end=3 stride=0", ""); err != nil || len(got) != 0 {
		t.Errorf("stride 0: %v %v", got, err)
	}
}

// TestFirstFoundFailsUnlessSkip: nothing found fails the task, with skip
// the loop is empty (the task is skipped, as Ansible reports it).
func TestFirstFoundFailsUnlessSkip(t *testing.T) {
	t.Parallel()
	_, err := withFirstFound([]any{"nope.txt"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no file was found") {
		t.Errorf("want a not-found error, got %v", err)
	}
	got, err := withFirstFound([]any{map[string]any{"files": "a.txt;b.txt", "skip": true}}, t.TempDir())
	if err != nil || len(got) != 0 {
		t.Errorf("skip: %v %v", got, err)
	}
}

// TestLoopPauseWaitsBetweenItems: pause 0.1 over three items waits twice.
func TestLoopPauseWaitsBetweenItems(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sum, out := runYAML(t, newFleet(1), "- hosts: db01\n  tasks:\n    - tmsg: {msg: '{{ item }}'}\n      loop: [1, 2, 3]\n      loop_control: {pause: 0.1}\n")
	if el := time.Since(start); el < 200*time.Millisecond || sum.Failed() != 0 {
		t.Errorf("took %v (want >= 200ms), %s\n%s", el, outcome(sum), out)
	}
}
