package playbooks

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// TestLabPollZeroJobOutlivesItsTaskAndReportsDone: on a real lab host over
// SSH, a shell task with async and poll: 0 returns at once while its
// command goes on in the background, detached from the session; as the
// become user (root) and as the login user, async_status with until then
// sees it finish with rc 0 and stdout "done", and cleanup removes the job
// file.
func TestLabPollZeroJobOutlivesItsTaskAndReportsDone(t *testing.T) {
	l := labtest.New(t, 1)
	inv, err := inventory.Load([]string{l.InventoryYAML()})
	if err != nil {
		t.Fatal(err)
	}
	const src = `- hosts: db01
  gather_facts: false
  tasks:
    - shell: sleep 2; echo done
      async: 30
      poll: 0
      become: true
      register: rootjob
    - shell: sleep 2; echo done
      async: 30
      poll: 0
      register: userjob
    - debug: {msg: "started {{ rootjob.finished }} {{ userjob.finished }}"}
    - async_status: jid={{ rootjob.ansible_job_id }}
      become: true
      register: st
      until: st.finished
      retries: 30
      delay: 1
    - async_status: jid={{ userjob.ansible_job_id }}
      register: su
      until: su.finished
      retries: 30
      delay: 1
    - debug: {msg: "{{ st.rc }} {{ st.stdout }} {{ st.results_file.startswith('/root/') }}"}
    - debug: {msg: "{{ su.rc }} {{ su.stdout }} {{ su.results_file.startswith('/root/') }}"}
    - async_status: jid={{ rootjob.ansible_job_id }} mode=cleanup
      become: true
    - async_status: jid={{ userjob.ansible_job_id }} mode=cleanup
    - shell: ls -A ~/.ansible_async; sudo ls -A /root/.ansible_async
      register: left
    - debug: {msg: "left [{{ left.stdout }}]"}
`
	pb, err := Parse(AllModules(), "site.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{Stderr: os.Stderr})
	defer pool.Close()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = Run(ctx, []*Playbook{pb}, Options{Modules: AllModules(), Inventory: corpusInventory{inv},
		Connector: pool, Local: transport.Local(), Forks: 1, Out: &out,
		Become: func(vars map[string]any) transport.Become {
			return transport.BecomeFromVars(vars, transport.Overrides{})
		}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{`"msg": "started 0 0"`, `"msg": "0 done True"`, `"msg": "0 done False"`, `"msg": "left []"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %s in:\n%s", want, out.String())
		}
	}
}
