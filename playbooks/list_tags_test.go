package playbooks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestListTagsMatchesAnsible: --list-tags (alone, with --list-tasks, with
// -t and --skip-tags) prints what ansible-playbook 2.14 printed for the
// same playbook (testdata/listtags/caseN.golden, its flags in caseN.args):
// TASK TAGS the sorted union of the play's tags and those of the tasks
// the tags select, a task's tags sorted, a play without name named by its
// hosts.
func TestListTagsMatchesAnsible(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "listtags")
	data, err := os.ReadFile(filepath.Join(dir, "site.yml"))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Parse(AllModules(), "site.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]ListOptions{
		"case1": {ListTags: true},
		"case2": {ListTags: true, Tasks: true},
		"case3": {ListTags: true, Tags: []string{"web"}},
		"case4": {ListTags: true, Tasks: true, SkipTags: []string{"z"}, Tags: []string{"all", "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := List(&b, []*Playbook{pb}, newFleet(2), opts); err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("got:\n%s\nwant (ansible-playbook):\n%s", b.String(), want)
			}
		})
	}
}
