package playbooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/transport"
)

// localFleet is one in-memory host named localhost, as the recorded
// Ansible runs (connection local) name theirs.
func localFleet() *memFleet {
	f := newFleet(0)
	f.hosts["localhost"] = &memHost{name: "localhost", files: map[string][]byte{"/tmp/.keep": nil}}
	f.order = []string{"localhost"}
	f.vars["localhost"] = map[string]any{"inventory_hostname": "localhost"}
	f.groups["all"] = f.order
	f.groups["web"] = f.order
	return f
}

// runFile loads a playbook from testdata as sshplay play does and runs it
// on f; it returns the summary and the text output.
func runFile(t *testing.T, f *memFleet, path string, set ...runOpt) (*Summary, string) {
	t.Helper()
	var out bytes.Buffer
	// The control machine is the real one (read-only here): copy and
	// template read their sources from the role's folders.
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: transport.Local(), Forks: 4, Out: &out}
	for _, m := range set {
		m(&opts)
	}
	pb, err := LoadWith(context.Background(), opts.Modules, path, LoadOptions{RolesPath: opts.RolesPath})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	sum, err := Run(context.Background(), []*Playbook{pb}, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum, out.String()
}

var reMsg = regexp.MustCompile(`(?m)^    "msg": (".*")$`)

// debugMsgs are the msg lines of debug results, in order.
func debugMsgs(out string) []string {
	var msgs []string
	for _, m := range reMsg.FindAllStringSubmatch(out, -1) {
		msgs = append(msgs, m[1])
	}
	return msgs
}

// goldenBanners are the TASK [...] banners and included: lines of an
// output, the parts of Ansible's output that say what ran in which order.
// Paths under dir are cut to their name below it, wherever the checkout
// is (the recordings were made in another one).
func goldenLines(out, dir string) []string {
	under := regexp.MustCompile(`(/\S*)?/` + regexp.QuoteMeta(filepath.ToSlash(filepath.Clean(dir))) + `/`)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, "* ")
		if strings.HasPrefix(l, "TASK [") || strings.HasPrefix(l, "RUNNING HANDLER [") || strings.HasPrefix(l, "included: ") || strings.HasPrefix(l, "PLAY [") || strings.HasPrefix(l, "skipping:") {
			lines = append(lines, under.ReplaceAllString(l, ""))
		}
	}
	return lines
}

var reRecap = regexp.MustCompile(`ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)`)

// compareWithAnsible runs a testdata playbook and compares what ran, the
// debug messages and the recap with Ansible's recorded output (NAME.out).
func compareWithAnsible(t *testing.T, dir, name string, set ...runOpt) {
	t.Helper()
	golden, err := os.ReadFile(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	sum, out := runFile(t, localFleet(), filepath.Join(dir, name+".yml"), set...)
	if got, want := strings.Join(goldenLines(out, dir), "\n"), strings.Join(goldenLines(string(golden), dir), "\n"); got != want {
		t.Errorf("what ran differs from Ansible's\n--- sshplay\n%s\n--- ansible\n%s\nfull output:\n%s", got, want, out)
	}
	if got, want := strings.Join(debugMsgs(out), "\n"), strings.Join(debugMsgs(string(golden)), "\n"); got != want {
		t.Errorf("debug messages differ from Ansible's\n--- sshplay\n%s\n--- ansible\n%s", got, want)
	}
	st := stats(t, sum, "localhost")
	got := fmt.Sprintf("ok=%d changed=%d unreachable=%d failed=%d skipped=%d rescued=%d ignored=%d",
		st.OK, st.Changed, st.Unreachable, st.Failed, st.Skipped, st.Rescued, st.Ignored)
	m := reRecap.FindStringSubmatch(string(golden))
	if m == nil {
		t.Fatal("no recap in the recorded output")
	}
	want := fmt.Sprintf("ok=%s changed=%s unreachable=%s failed=%s skipped=%s rescued=%s ignored=%s", m[1], m[2], m[3], m[4], m[5], m[6], m[7])
	if got != want {
		t.Errorf("recap %s, Ansible gives %s", got, want)
	}
}

func TestIncludeTasksInALoopWithVarsRunsLikeAnsible(t *testing.T) {
	compareWithAnsible(t, "testdata/include", "loop")
}

func TestRoleWithDefaultsVarsHandlersFilesTemplatesAndDependenciesRunsLikeAnsible(t *testing.T) {
	compareWithAnsible(t, "testdata/roles", "site")
}

func TestImportPlaybookBringsPlaysWithVarsAndTheirOwnFolder(t *testing.T) {
	compareWithAnsible(t, "testdata/include", "top")
}

// invFleet is an in-memory fleet whose hosts, groups and variables come
// from a real inventory (with its group_vars/ and host_vars/).
func invFleet(t *testing.T, path string) *memFleet {
	t.Helper()
	inv, err := inventory.Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(0)
	f.groups = inv.GroupHosts()
	f.order = f.groups["all"]
	for _, h := range f.order {
		f.hosts[h] = &memHost{name: h, files: map[string][]byte{}}
		f.vars[h] = inv.HostVars(h)
	}
	return f
}

// layeredFleet is a memFleet whose variables come in the inventory's
// layers, as the command's inventory adapter gives them.
type layeredFleet struct {
	*memFleet
	inv *inventory.Inventory
}

func (f layeredFleet) HostVarLayers(h string) (inventory.VarLayers, bool) {
	return f.inv.HostVarLayers(h)
}

// TestVariablePrecedenceFollowsAnsible pins the order of the variable
// levels sshplay supports against Ansible's recorded run: vNN is set at
// every level from the NNth on, so each shows which level wins among
// the first NN. The inventory's group vars, group_vars/ and host_vars/
// interleave with the playbook's, and groups merge by depth (app before
// its children), then ansible_group_priority (aweb last), then name.
func TestVariablePrecedenceFollowsAnsible(t *testing.T) {
	dir := "testdata/roles/precedence"
	golden, err := os.ReadFile(filepath.Join(dir, "play.out"))
	if err != nil {
		t.Fatal(err)
	}
	want := debugMsgs(string(golden))
	invPath := filepath.Join(dir, "inv/hosts")
	inv, err := inventory.Load([]string{invPath})
	if err != nil {
		t.Fatal(err)
	}
	fleet := invFleet(t, invPath)
	_, out := runFile(t, fleet, filepath.Join(dir, "play.yml"), func(o *Options) {
		o.Inventory = layeredFleet{fleet, inv}
		o.ExtraVars = map[string]any{"v25": "extra_vars"}
	})
	got := debugMsgs(out)
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("want one message each, got %q and Ansible's %q\n%s", got, want, out)
	}
	gotPairs, wantPairs := strings.Fields(strings.Trim(got[0], `"`)), strings.Fields(strings.Trim(want[0], `"`))
	if len(gotPairs) != len(wantPairs) {
		t.Fatalf("got %q, Ansible gives %q", got[0], want[0])
	}
	for i := range wantPairs {
		if gotPairs[i] != wantPairs[i] {
			t.Errorf("level: got %s, Ansible gives %s", gotPairs[i], wantPairs[i])
		}
	}
}

func TestHandlersFromImportAndIncludeTasksRunLikeAnsible(t *testing.T) {
	compareWithAnsible(t, "testdata/include", "handlers")
}

func TestOldIncludeIsStaticUnlessTemplatedOrLoopedLikeAnsible(t *testing.T) {
	compareWithAnsible(t, "testdata/include/old", "include")
}

// Tasks a role brings in with include_tasks are shown under the role's
// name, as ansible-playbook shows them ("TASK [r : debug]").
func TestTasksARoleIncludesAreShownUnderTheRole(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"site.yml":               "- hosts: web\n  gather_facts: false\n  roles: [r]\n",
		"roles/r/tasks/main.yml": "- include_tasks: more.yml\n",
		"roles/r/tasks/more.yml": "- debug: {msg: included}\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, out := runFile(t, localFleet(), filepath.Join(dir, "site.yml"))
	for _, want := range []string{"TASK [r : include_tasks]", "TASK [r : debug]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
