package playbooks_test

// End-to-end tests of serial batches and failure handling on lab hosts
// (real sshd, SSH transport, command/shell/copy/file modules): one lab of
// four hosts shared by the subtests, each in its own directory.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/transport"
)

func TestE2ESerialAndFailures(t *testing.T) {
	l := labtest.New(t, 4)
	mods := playbooks.AllModules()
	inv, err := inventory.Load([]string{l.InventoryINI()})
	if err != nil {
		t.Fatal(err)
	}
	pool := transport.NewPool(transport.PoolOptions{Overrides: transport.Overrides{Timeout: 10 * time.Second}})
	t.Cleanup(func() { pool.Close() })

	// run runs src with root set to a fresh directory and returns it.
	runs := 0
	run := func(t *testing.T, src string, extra map[string]any, mod func(*playbooks.Options)) (string, *playbooks.Summary, *playbooks.JSONDoc) {
		t.Helper()
		runs++
		root := filepath.Join(l.Dir, fmt.Sprintf("run%02d", runs))
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		pb, err := playbooks.Parse(mods, filepath.Join(root, "site.yml"), []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]any{"root": root}
		for k, v := range extra {
			vars[k] = v
		}
		var out bytes.Buffer
		opts := playbooks.Options{
			Modules: mods, Inventory: labInv{inv}, Connector: pool, Local: transport.Local(),
			Become: func(v map[string]any) transport.Become { return transport.BecomeFromVars(v, transport.Overrides{}) },
			Forks:  5, ExtraVars: vars, Out: &out, Format: "json",
		}
		if mod != nil {
			mod(&opts)
		}
		sum, err := playbooks.Run(context.Background(), []*playbooks.Playbook{pb}, opts)
		if err != nil {
			t.Fatal(err)
		}
		var doc playbooks.JSONDoc
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("json output: %v\n%s", err, out.String())
		}
		return root, sum, &doc
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	// present lists the hosts that have root/HOST.suffix.
	present := func(root, suffix string) []string {
		var hs []string
		for _, h := range l.Hosts {
			if exists(filepath.Join(root, h.Name+suffix)) {
				hs = append(hs, h.Name)
			}
		}
		return hs
	}

	t.Run("serial 1 then 50 percent runs batches in order", func(t *testing.T) {
		root, sum, _ := run(t, `
- hosts: dbservers
  serial: [1, "50%"]
  tasks:
    - name: on the host
      become: true
      copy: content="{{ inventory_hostname }}\n" dest={{ root }}/{{ inventory_hostname }}.mark
    - name: first
      shell: echo "{{ ansible_play_batch | join(',') }} {{ inventory_hostname }} a" >> {{ root }}/order.log
      delegate_to: localhost
    - name: second
      command: sh -c 'sleep 0.1; echo "{{ inventory_hostname }} b" >> {{ root }}/order.log'
      delegate_to: localhost
`, nil, nil)
		if !clean(sum) {
			t.Fatalf("%s", outcome(sum))
		}
		if got := present(root, ".mark"); len(got) != 4 {
			t.Errorf("marks on %v", got)
		}
		b, err := os.ReadFile(filepath.Join(root, "order.log"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		// Batches of 1, 2 (50% of 4) and the 1 left; within a batch every
		// host finishes a task before any starts the next.
		sorted := func(ls []string) []string {
			out := append([]string(nil), ls...)
			sort.Strings(out)
			return out
		}
		if len(lines) != 8 {
			t.Fatalf("order.log:\n%s", b)
		}
		groups := [][]string{lines[0:1], lines[1:2], sorted(lines[2:4]), sorted(lines[4:6]), lines[6:7], lines[7:8]}
		want := [][]string{
			{"db01 db01 a"}, {"db01 b"},
			{"db02,db03 db02 a", "db02,db03 db03 a"}, {"db02 b", "db03 b"},
			{"db04 db04 a"}, {"db04 b"},
		}
		if !reflect.DeepEqual(groups, want) {
			t.Errorf("order.log:\n%s\nwant batches %v", b, want)
		}
	})

	// fleet notifies a handler on every host, fails one or more hosts,
	// then has a later task.
	const fleet = `
- hosts: dbservers
  %s
  handlers:
    - name: restart
      become: true
      shell: echo "{{ inventory_hostname }}" > {{ root }}/{{ inventory_hostname }}.handled
  tasks:
    - name: change
      become: true
      copy: content="v1\n" dest={{ root }}/{{ inventory_hostname }}.conf
      notify: restart
    - name: fail some
      become: true
      command: /bin/true
      failed_when: inventory_hostname in failers
    - name: after the current task
      become: true
      file: path={{ root }}/{{ inventory_hostname }}.ran state=touch
    - name: later
      become: true
      file: path={{ root }}/{{ inventory_hostname }}.later state=touch
`
	play := func(keywords string) string { return strings.Replace(fleet, "%s", keywords, 1) }
	all := []string{"db01", "db02", "db03", "db04"}
	failStats := func(t *testing.T, sum *playbooks.Summary, failed ...string) {
		t.Helper()
		for _, h := range all {
			want := 0
			for _, f := range failed {
				if f == h {
					want = 1
				}
			}
			if got := sum.Stats[h].Failed; got != want {
				t.Errorf("%s failed=%d, want %d", h, got, want)
			}
		}
		if sum.Failed() == 0 {
			t.Errorf("%s, want a failed host", outcome(sum))
		}
	}

	t.Run("a failing host stops only itself and its handlers", func(t *testing.T) {
		root, sum, doc := run(t, play(""), map[string]any{"failers": []any{"db02"}}, nil)
		failStats(t, sum, "db02")
		others := []string{"db01", "db03", "db04"}
		if got := present(root, ".later"); !reflect.DeepEqual(got, others) {
			t.Errorf("later task ran on %v, want %v", got, others)
		}
		if got := present(root, ".handled"); !reflect.DeepEqual(got, others) {
			t.Errorf("handler ran on %v, want %v", got, others)
		}
		if got := present(root, ".conf"); !reflect.DeepEqual(got, all) {
			t.Errorf("change on %v", got)
		}
		last := doc.Plays[0].Tasks[len(doc.Plays[0].Tasks)-1]
		if !strings.Contains(last.Name, "restart") || len(last.Hosts) != 3 {
			t.Errorf("last JSON entry %q on %v, want handler restart on 3 hosts", last.Name, last.Hosts)
		}
	})

	t.Run("force handlers runs the failed host's handler", func(t *testing.T) {
		root, sum, _ := run(t, play(""), map[string]any{"failers": []any{"db02"}}, func(o *playbooks.Options) { o.ForceHandlers = true })
		failStats(t, sum, "db02")
		if got := present(root, ".handled"); !reflect.DeepEqual(got, all) {
			t.Errorf("handler ran on %v, want all", got)
		}
		if got := present(root, ".later"); !reflect.DeepEqual(got, []string{"db01", "db03", "db04"}) {
			t.Errorf("later task ran on %v", got)
		}
	})

	t.Run("any_errors_fatal stops every host after the current task", func(t *testing.T) {
		root, sum, _ := run(t, play("any_errors_fatal: true"), map[string]any{"failers": []any{"db02"}}, nil)
		failStats(t, sum, "db02")
		if got := present(root, ".ran"); len(got) != 0 {
			t.Errorf("task after the fatal one ran on %v", got)
		}
		if got := present(root, ".handled"); len(got) != 0 {
			t.Errorf("handlers ran on %v after a fatal error", got)
		}
		if got := present(root, ".conf"); !reflect.DeepEqual(got, all) {
			t.Errorf("change on %v", got)
		}
		// force_handlers overrides any_errors_fatal, as in Ansible.
		root, _, _ = run(t, play("any_errors_fatal: true\n  force_handlers: true"), map[string]any{"failers": []any{"db02"}}, nil)
		if got := present(root, ".handled"); !reflect.DeepEqual(got, all) {
			t.Errorf("forced handlers ran on %v, want all", got)
		}
		if got := present(root, ".ran"); len(got) != 0 {
			t.Errorf("with force_handlers, task after the fatal one ran on %v", got)
		}
	})

	for _, c := range []struct {
		max     string
		failers []any
		stop    bool
	}{
		{"25", []any{"db02"}, false},         // 25% failed: reached, not exceeded
		{"25", []any{"db02", "db03"}, true},  // 50% > 25%
		{"49", []any{"db02", "db03"}, true},  // 50% > 49%
		{"50", []any{"db02", "db03"}, false}, // 50% reached, not exceeded
	} {
		name := fmt.Sprintf("max_fail_percentage %s with %d of 4 failing", c.max, len(c.failers))
		t.Run(name, func(t *testing.T) {
			root, sum, _ := run(t, play("max_fail_percentage: "+c.max), map[string]any{"failers": c.failers}, nil)
			var failed []string
			for _, f := range c.failers {
				failed = append(failed, f.(string))
			}
			failStats(t, sum, failed...)
			var ok []string
			for _, h := range all {
				if !strings.Contains(toString(c.failers), h) {
					ok = append(ok, h)
				}
			}
			got := present(root, ".later")
			if c.stop && len(got) != 0 {
				t.Errorf("exceeded, yet later task ran on %v", got)
			}
			if c.stop && len(present(root, ".handled")) != 0 {
				t.Errorf("exceeded, yet handlers ran on %v", present(root, ".handled"))
			}
			if !c.stop && !reflect.DeepEqual(got, ok) {
				t.Errorf("not exceeded: later task ran on %v, want %v", got, ok)
			}
		})
	}
}

func toString(v []any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
