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
	"time"

	"github.com/sshplay/sshplay/transport"
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

// localHosts runs every host's commands on this machine, so that a
// background job really runs detached and writes its job file.
type localHosts struct{}

func (localHosts) Conn(_ context.Context, host string, _ map[string]any) (transport.Conn, error) {
	return transport.NewLocalConn(host), nil
}

// runLocal runs src on db01 through localHosts with HOME at a temporary
// folder (the job files go to $HOME/.ansible_async); check is --check.
func runLocal(t *testing.T, src string, check bool) (string, string) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: newFleet(1), Connector: localHosts{}, Forks: 1, Out: &out,
		Local: transport.NewLocalConn("localhost"), Check: check}
	pb, err := Parse(opts.Modules, "site.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), []*Playbook{pb}, opts); err != nil && !check {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return out.String(), home
}

const pollZeroPlay = `- hosts: db01
  tasks:
    - shell: sleep 1; echo done; echo oops >&2
      async: 30
      poll: 0
      register: job
    - debug: {msg: "{{ job.started }} {{ job.finished }} {{ job.results_file | basename == job.ansible_job_id }}"}
    - async_status: jid={{ job.ansible_job_id }}
      register: st
      until: st.finished
      retries: 20
      delay: 1
    - debug: {msg: "{{ st.rc }} {{ st.stdout }} {{ st.stderr }} {{ st.cmd }} {{ st.changed }}"}
    - async_status: {jid: "{{ job.ansible_job_id }}", mode: cleanup}
      register: cl
    - debug: {msg: "erased {{ cl.erased | basename == job.ansible_job_id }}"}
`

// TestPollZeroStartsAJobThatAsyncStatusWaitsFor: poll: 0 registers the
// job at once (started 1, finished 0, results_file named by the job id);
// async_status with until waits for it and registers the command's rc,
// stdout, stderr and cmd; mode: cleanup removes the job file.
func TestPollZeroStartsAJobThatAsyncStatusWaitsFor(t *testing.T) {
	start := time.Now()
	out, home := runLocal(t, pollZeroPlay, false)
	for _, want := range []string{`"msg": "1 0 True"`, `"msg": "0 done oops sleep 1; echo done; echo oops >&2 True"`,
		`"msg": "erased True"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in:\n%s", want, out)
		}
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("took %v", el)
	}
	left, _ := filepath.Glob(filepath.Join(home, ".ansible_async", "*"))
	if len(left) != 0 {
		t.Errorf("cleanup left %v", left)
	}
}

// TestAsyncCommandInCheckModeFails: Ansible refuses async on a command in
// check mode ("check mode and async cannot be used on same task."),
// whether it polls or not (testdata/async/poll0-check.ansible.txt).
func TestAsyncCommandInCheckModeFails(t *testing.T) {
	out, _ := runLocal(t, pollZeroPlay, true)
	golden, err := os.ReadFile("testdata/async/poll0-check.ansible.txt")
	if err != nil {
		t.Fatal(err)
	}
	const msg = `"msg": "check mode and async cannot be used on same task."`
	if !strings.Contains(string(golden), msg) || !strings.Contains(out, msg) {
		t.Errorf("no check-mode refusal:\n%s", out)
	}
}

// TestAsyncStatusOfAnUnknownJobFails says "could not find job", as Ansible.
func TestAsyncStatusOfAnUnknownJobFails(t *testing.T) {
	out, _ := runLocal(t, "- hosts: db01\n  tasks:\n    - async_status: jid=j1.2\n      ignore_errors: true\n", false)
	if !strings.Contains(out, "could not find job") {
		t.Errorf("no failure:\n%s", out)
	}
}

// TestPollZeroIsRefusedForOtherModules: only command and shell run as
// background jobs; poll: 0 elsewhere is refused where it is written.
func TestPollZeroIsRefusedForOtherModules(t *testing.T) {
	t.Parallel()
	pe := parseErr(t, testModules(), "- hosts: all\n  tasks:\n    - trun: x\n      async: 60\n      poll: 0\n")
	if pe.Line != 5 || !strings.Contains(pe.Msg, "not supported yet: async poll 0 for module trun") {
		t.Errorf("%d: %s", pe.Line, pe.Msg)
	}
}

// TestPollZeroRegistersWhatAnsibleRegisters: the results of the poll: 0
// task, of async_status until finished and of its cleanup have the keys
// ansible-playbook 2.14 registers (testdata/async/poll0.ansible.txt,
// recorded with connection local), and the task statuses are Ansible's.
func TestPollZeroRegistersWhatAnsibleRegisters(t *testing.T) {
	src, err := os.ReadFile("testdata/async/poll0.yml")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/async/poll0.ansible.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := runLocal(t, string(src), false)
	for _, name := range []string{"job", "st", "cl"} {
		want, got := debugKeys(string(golden), name), debugKeys(out, name)
		delete(want, "ansible_facts") // interpreter discovery: no Python here
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("%s keys:\n got %v\nwant %v", name, got, want)
		}
	}
	statuses := func(s string) []string { return regexp.MustCompile(`(?m)^(ok|changed|failed): `).FindAllString(s, -1) }
	if g, w := statuses(out), statuses(string(golden)); fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("statuses %v, Ansible's %v", g, w)
	}
}

// debugKeys is the set of top-level keys of `debug: var=name` in output.
func debugKeys(output, name string) map[string]bool {
	keys := map[string]bool{}
	_, rest, ok := strings.Cut(output, "    \""+name+"\": {\n")
	if !ok {
		return keys
	}
	block, _, _ := strings.Cut(rest, "\n    }")
	for _, line := range strings.Split(block, "\n") {
		if k, ok := strings.CutPrefix(line, "        \""); ok {
			keys[k[:strings.Index(k, "\"")]] = true
		}
	}
	return keys
}

// TestPollZeroCommandThatFailsFailsAsyncStatus: a command job (argv
// registered as cmd) that exits non-zero makes async_status fail with the
// command's rc and "non-zero return code", as Ansible's does.
func TestPollZeroCommandThatFailsFailsAsyncStatus(t *testing.T) {
	out, _ := runLocal(t, `- hosts: db01
  tasks:
    - command: ls /nonexistent-async-dir
      async: 30
      poll: 0
      register: job
    - async_status: jid={{ job.ansible_job_id }}
      register: st
      until: st.finished
      retries: 20
      delay: 1
      ignore_errors: true
    - debug: {msg: "{{ st.rc }} {{ st.msg }} {{ st.cmd }} {{ st.failed }}"}
`, false)
	if !strings.Contains(out, `"msg": "2 non-zero return code ['ls', '/nonexistent-async-dir'] True"`) {
		t.Errorf("no failed job:\n%s", out)
	}
}
