package playbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type runOpt func(*Options)

func runYAML(t *testing.T, f *memFleet, src string, set ...runOpt) (*Summary, string) {
	t.Helper()
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}, Forks: 4, Out: &out}
	for _, m := range set {
		m(&opts)
	}
	pb, err := Parse(opts.Modules, "site.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	sum, err := Run(context.Background(), []*Playbook{pb}, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum, out.String()
}

func stats(t *testing.T, sum *Summary, host string) Stats {
	t.Helper()
	s, ok := sum.Stats[host]
	if !ok {
		t.Fatalf("no stats for %s", host)
	}
	return *s
}

func TestHandlersRunOnceAtSectionEndOnlyWhenChanged(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	f.hosts["db01"].files["/etc/x"] = []byte("new")
	sum, out := runYAML(t, f, `
- hosts: dbservers
  handlers:
    - name: restart
      trun: restart-it
    - name: reload
      listen: conf changed
      trun: reload-it
  tasks:
    - tput: {path: /etc/x, content: new}
      notify: [restart, conf changed]
    - tput: {path: /etc/y, content: new}
      notify: restart
    - trun: after
`)
	for _, h := range []string{"db01", "db02"} {
		var restarts, reloads int
		ran := f.ran(h)
		for _, c := range ran {
			if strings.HasSuffix(c, "restart-it") {
				restarts++
			}
			if strings.HasSuffix(c, "reload-it") {
				reloads++
			}
		}
		if restarts != 1 {
			t.Errorf("%s: restart ran %d times, want 1 (%v)", h, restarts, ran)
		}
		// db01 had /etc/x already: the first task did not change, so the
		// listen handler must not run there.
		wantReload := map[string]int{"db01": 0, "db02": 1}[h]
		if reloads != wantReload {
			t.Errorf("%s: reload ran %d times, want %d", h, reloads, wantReload)
		}
		if ran[len(ran)-1] != "login: restart-it" && ran[len(ran)-1] != "login: reload-it" {
			t.Errorf("%s: handlers must run after all tasks of the section, got %v", h, ran)
		}
	}
	if !strings.Contains(out, "RUNNING HANDLER [restart]") {
		t.Errorf("output lacks RUNNING HANDLER:\n%s", out)
	}
	if !clean(sum) {
		t.Errorf("%s", outcome(sum))
	}
}

func TestFailedHostStopsOnlyItselfAndItsHandlers(t *testing.T) {
	t.Parallel()
	f := newFleet(3)
	f.hosts["db02"].fail = "step2"
	sum, out := runYAML(t, f, `
- hosts: dbservers
  handlers:
    - name: h
      trun: handler
  tasks:
    - tput: {path: /a, content: x}
      notify: h
    - trun: step2
    - trun: step3
`)
	if got := f.ran("db02"); !reflect.DeepEqual(got, []string{"login: step2"}) {
		t.Errorf("db02 ran %v, want only step2 (no step3, no handler)", got)
	}
	for _, h := range []string{"db01", "db03"} {
		if got := f.ran(h); !reflect.DeepEqual(got, []string{"login: step2", "login: step3", "login: handler"}) {
			t.Errorf("%s ran %v", h, got)
		}
	}
	if s := stats(t, sum, "db02"); s.Failed != 1 || s.Changed != 1 {
		t.Errorf("db02 stats %+v", s)
	}
	if sum.Failed() == 0 {
		t.Errorf("%s, want a failed host", outcome(sum))
	}
	if !strings.Contains(out, "fatal: [db02]: FAILED! => {") {
		t.Errorf("no fatal line:\n%s", out)
	}
}

func TestForceHandlers(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	f.hosts["db01"].fail = "step2"
	runYAML(t, f, `
- hosts: dbservers
  handlers:
    - name: h
      trun: handler
  tasks:
    - tput: {path: /a, content: x}
      notify: h
    - trun: step2
`, func(o *Options) { o.ForceHandlers = true })
	if got := f.ran("db01"); !reflect.DeepEqual(got, []string{"login: step2", "login: handler"}) {
		t.Errorf("ran %v, want the handler despite the failure", got)
	}
}

func TestAnyErrorsFatalStopsAll(t *testing.T) {
	t.Parallel()
	f := newFleet(3)
	f.hosts["db01"].fail = "step1"
	sum, out := runYAML(t, f, `
- hosts: dbservers
  any_errors_fatal: true
  tasks:
    - trun: step1
    - trun: step2
- hosts: dbservers
  tasks:
    - trun: next-play
`)
	for _, h := range []string{"db02", "db03"} {
		if got := f.ran(h); !reflect.DeepEqual(got, []string{"login: step1"}) {
			t.Errorf("%s ran %v, want only step1", h, got)
		}
	}
	if !strings.Contains(out, "NO MORE HOSTS LEFT") {
		t.Errorf("output:\n%s", out)
	}
	if sum.Failed() == 0 {
		t.Errorf("%s", outcome(sum))
	}
}

func TestSerialBatchesInOrder(t *testing.T) {
	t.Parallel()
	f := newFleet(5)
	runYAML(t, f, `
- hosts: dbservers
  serial: [1, "50%"]
  tasks:
    - trun: a
    - trun: b
`)
	// Batches: [db01], [db02 db03] (50% of 5 = 2), [db04 db05].
	for _, h := range f.order {
		if n := len(f.ran(h)); n != 2 {
			t.Errorf("%s ran %d commands, want 2", h, n)
		}
	}
	got := batches([]*hostState{{name: "1"}, {name: "2"}, {name: "3"}, {name: "4"}, {name: "5"}}, []string{"1", "50%"})
	var sizes []int
	for _, b := range got {
		sizes = append(sizes, len(b))
	}
	if !reflect.DeepEqual(sizes, []int{1, 2, 2}) {
		t.Errorf("batch sizes %v, want [1 2 2]", sizes)
	}
}

func TestSerialRunsWholePlayPerBatch(t *testing.T) {
	t.Parallel()
	f := newFleet(3)
	_, out := runYAML(t, f, `
- hosts: dbservers
  serial: 1
  tasks:
    - trun: a
    - trun: b
`)
	// With serial 1 the TASK banners repeat per batch: a b a b a b.
	var tasksSeen []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "TASK [") {
			tasksSeen = append(tasksSeen, strings.Fields(l)[1])
		}
	}
	want := []string{"[trun]", "[trun]", "[trun]", "[trun]", "[trun]", "[trun]"}
	if !reflect.DeepEqual(tasksSeen, want) {
		t.Errorf("banners %v", tasksSeen)
	}
	// each batch's host lines are contiguous: db01 twice, then db02 twice.
	var hostsSeen []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "changed: [") {
			hostsSeen = append(hostsSeen, l)
		}
	}
	wantHosts := []string{"changed: [db01]", "changed: [db01]", "changed: [db02]", "changed: [db02]", "changed: [db03]", "changed: [db03]"}
	if !reflect.DeepEqual(hostsSeen, wantHosts) {
		t.Errorf("host lines %v", hostsSeen)
	}
}

func TestMaxFailPercentage(t *testing.T) {
	t.Parallel()
	f := newFleet(4)
	f.hosts["db01"].fail = "a"
	// 1 of 4 failed = 25%: not more than 25, go on.
	_, _ = runYAML(t, f, `
- hosts: dbservers
  max_fail_percentage: 25
  tasks:
    - trun: a
    - trun: b
`)
	if got := f.ran("db02"); len(got) != 2 {
		t.Errorf("25%% failed with max 25: db02 ran %v, want a and b", got)
	}
	f = newFleet(4)
	f.hosts["db01"].fail = "a"
	f.hosts["db02"].fail = "a"
	_, out := runYAML(t, f, `
- hosts: dbservers
  max_fail_percentage: 25
  tasks:
    - trun: a
    - trun: b
`)
	if got := f.ran("db03"); len(got) != 1 {
		t.Errorf("50%% failed with max 25: db03 ran %v, want only a", got)
	}
	if !strings.Contains(out, "NO MORE HOSTS LEFT") {
		t.Errorf("output:\n%s", out)
	}
}

func TestBlockRescueAlwaysAndInheritance(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	f.hosts["db02"].fail = "inner"
	sum, _ := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - name: b
      become: true
      become_user: postgres
      vars: {word: blockvar}
      when: idx > 0
      block:
        - trun: "inner {{ word }}"
        - trun: second
      rescue:
        - trun: rescue
      always:
        - trun: always
    - name: skipped block
      when: idx > 5
      block:
        - trun: never
    - trun: end
`)
	if got := f.ran("db01"); !reflect.DeepEqual(got, []string{"postgres: inner blockvar", "postgres: second", "postgres: always", "login: end"}) {
		t.Errorf("db01 ran %v", got)
	}
	if got := f.ran("db02"); !reflect.DeepEqual(got, []string{"postgres: inner blockvar", "postgres: rescue", "postgres: always", "login: end"}) {
		t.Errorf("db02 ran %v", got)
	}
	if s := stats(t, sum, "db02"); s.Failed != 0 || s.Rescued != 1 {
		t.Errorf("db02 stats %+v, want failed=0 rescued=1", s)
	}
	if s := stats(t, sum, "db01"); s.Skipped != 1 {
		t.Errorf("db01 stats %+v, want one skipped task", s)
	}
	if !clean(sum) {
		t.Errorf("%s", outcome(sum))
	}
}

func TestRegisterWhenLoopSetFactAssert(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	sum, out := runYAML(t, f, `
- hosts: dbservers
  vars:
    base: /srv
    dir: "{{ base }}/data"
  tasks:
    - trun: hello
      register: r
    - set_fact:
        greeting: "{{ r.stdout }}-{{ inventory_hostname }}"
        n: "{{ idx * 10 }}"
    - assert:
        that:
          - greeting == 'login-' ~ inventory_hostname
          - n == idx * 10
          - r is changed
          - r.stdout_lines | length == 1
          - dir == '/srv/data'
        fail_msg: bad
    - tput: {path: "{{ dir }}/{{ item.name }}", content: "{{ item.v }}"}
      loop: [{name: a, v: "1"}, {name: b, v: "2"}]
      loop_control: {label: "{{ item.name }}"}
      register: files
    - tmsg: {msg: "{{ files.results | map(attribute='path') | join(',') }}"}
      register: joined
    - assert:
        that: "joined.msg == '/srv/data/a,/srv/data/b'"
    - trun: skipped-one
      when: idx == 2
    - tmsg: {msg: "{{ hostvars['db02'].greeting }}"}
      register: other
    - assert:
        that: other.msg == 'login-db02'
    - assert:
        that: [ "idx < 0" ]
        fail_msg: "idx is {{ idx }}"
      ignore_errors: true
`)
	if !clean(sum) {
		t.Fatalf("%s:\n%s", outcome(sum), out)
	}
	if s := stats(t, sum, "db01"); s.Skipped != 1 || s.Ignored != 1 {
		t.Errorf("db01 stats %+v", s)
	}
	if got := string(f.hosts["db02"].files["/srv/data/b"]); got != "2" {
		t.Errorf("loop write: %q", got)
	}
	for _, want := range []string{"changed: [db01] => (item=a)", "...ignoring", `"msg": "idx is 1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestUndefinedVariableFailsTaskNamingIt(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	sum, out := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - trun: "echo {{ nope }}"
`)
	if sum.Failed() == 0 || !strings.Contains(out, `undefined variable \"nope\"`) {
		t.Errorf("%s, output:\n%s", outcome(sum), out)
	}
}

// TestUndefinedVariableNamesWhatTheUserWroteAndWhere: a template that
// fails at run time names the module (for its free-form text), the
// argument or the keyword as written, never sshplay's own _raw_params,
// at the file:line:col where it is written.
func TestUndefinedVariableNamesWhatTheUserWroteAndWhere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, task, want string }{
		{"free form", "    - trun: echo {{ nosuch }}\n",
			`site.yml:3:13: trun: undefined variable "nosuch"`},
		{"free form, collection name", "    - ansible.builtin.trun: echo {{ nosuch }}\n",
			`site.yml:3:29: ansible.builtin.trun: undefined variable "nosuch"`},
		{"mapping argument", "    - tput:\n        path: /x\n        content: \"{{ nosuch }}\"\n",
			`site.yml:5:9: content: undefined variable "nosuch"`},
		{"k=v argument", "    - tput: path=/x content={{ nosuch }}\n",
			`site.yml:3:13: content: undefined variable "nosuch"`},
		{"args: keyword", "    - tput:\n        path: /x\n      args:\n        content: \"{{ nosuch }}\"\n",
			`site.yml:6:9: content: undefined variable "nosuch"`},
		{"misspelt variable", "    - tput: path=/x content={{ pg_prot }}\n      vars: {pg_port: 1}\n",
			`site.yml:3:13: content: undefined variable "pg_prot" (did you mean "pg_port"?)`},
		{"when", "    - trun: echo\n      when: nosuch > 1\n",
			`site.yml:4:13: when "nosuch > 1": undefined variable "nosuch"`},
		{"when of a block", "    - block:\n        - trun: echo\n      when: nosuch\n",
			`site.yml:4:11: when "nosuch" (of its block): undefined variable "nosuch"`},
		{"loop", "    - trun: echo {{ item }}\n      loop: \"{{ nosuch }}\"\n",
			`site.yml:4:13: loop: undefined variable "nosuch"`},
		{"loop item", "    - trun: echo {{ item.x }}\n      loop: [1]\n",
			`site.yml:3:13: trun: undefined attribute or key "x"`},
		{"assert's that", "    - assert:\n        that: nosuch > 1\n",
			`site.yml:3:7: assert: that "nosuch > 1": undefined variable "nosuch"`},
		{"environment", "    - trun: echo\n      environment:\n        A: \"{{ nosuch }}\"\n",
			`site.yml:5:9: environment: undefined variable "nosuch"`},
		{"changed_when", "    - trun: echo\n      changed_when: nosuch\n",
			`site.yml:4:21: changed_when "nosuch": undefined variable "nosuch"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sum, out := runYAML(t, newFleet(1), "- hosts: dbservers\n  tasks:\n"+tc.task)
			if sum.Failed() == 0 || !strings.Contains(out, strings.ReplaceAll(tc.want, `"`, `\"`)) {
				t.Errorf("want %s in the output:\n%s", tc.want, out)
			}
			if strings.Contains(out, "_raw_params") {
				t.Errorf("output names _raw_params:\n%s", out)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	f.vars["db01"]["v"] = "inventory"
	f.vars["db01"]["only_inv"] = "inv"
	cases := []struct {
		name, yaml string
		extra      map[string]any
		want       string
	}{
		{"inventory", `- hosts: db01
  tasks: [{tmsg: {msg: "{{ v }}"}, register: r}]`, nil, "inventory"},
		{"play", `- hosts: db01
  vars: {v: play}
  tasks: [{tmsg: {msg: "{{ v }}"}, register: r}]`, nil, "play"},
		{"block", `- hosts: db01
  vars: {v: play}
  tasks: [{vars: {v: block}, block: [{tmsg: {msg: "{{ v }}"}, register: r}]}]`, nil, "block"},
		{"task", `- hosts: db01
  vars: {v: play}
  tasks: [{vars: {v: block}, block: [{tmsg: {msg: "{{ v }}"}, vars: {v: task}, register: r}]}]`, nil, "task"},
		{"set_fact", `- hosts: db01
  vars: {v: play}
  tasks: [{set_fact: {v: fact}}, {tmsg: {msg: "{{ v }}"}, vars: {v: task}, register: r}]`, nil, "fact"},
		{"extra", `- hosts: db01
  tasks: [{set_fact: {v: fact}}, {tmsg: {msg: "{{ v }}"}, register: r}]`, map[string]any{"v": "extra"}, "extra"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFleet(1)
			f.vars["db01"]["v"] = "inventory"
			src := c.yaml + `
- hosts: db01
  tasks: [{assert: {that: "r.msg == '` + c.want + `'", fail_msg: "got {{ r.msg }}"}}]`
			sum, out := runYAML(t, f, src, func(o *Options) { o.ExtraVars = c.extra })
			if !clean(sum) {
				t.Errorf("want %s:\n%s", c.want, out)
			}
		})
	}
}

func TestCheckModeUsesOverlayAndWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	var buf bytes.Buffer
	sum, _ := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - tput: {path: /etc/a, content: one}
    - tput: {path: /etc/a, content: one}
    - trun: would-run
    - trun: probe
      check_mode: false
`, func(o *Options) { o.Check = true; o.Format = "json"; o.Out = &buf })
	if len(f.hosts["db01"].files) != 0 {
		t.Errorf("check mode wrote %v", f.hosts["db01"].files)
	}
	if got := f.ran("db01"); !reflect.DeepEqual(got, []string{"login: probe"}) {
		t.Errorf("check mode ran %v, want only the check_mode: false probe", got)
	}
	var doc JSONDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ts := doc.Plays[0].Tasks
	st := []string{ts[0].Hosts["db01"].Status, ts[1].Hosts["db01"].Status, ts[2].Hosts["db01"].Status}
	if !reflect.DeepEqual(st, []string{"changed", "ok", "skipping"}) || !ts[2].Hosts["db01"].WouldRun {
		t.Errorf("statuses %v (second write must see the first through the overlay)", st)
	}
	if s := stats(t, sum, "db01"); s.Changed != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestUnreachableHostDroppedOthersContinue(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	f.unreachable["db02"] = true
	sum, out := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - trun: a
    - trun: b
`)
	if got := f.ran("db01"); len(got) != 2 {
		t.Errorf("db01 ran %v", got)
	}
	if s := stats(t, sum, "db02"); s.Unreachable != 1 {
		t.Errorf("db02 %+v", s)
	}
	if (sum.Unreachable() == 0 || sum.Failed() != 0) || !strings.Contains(out, "fatal: [db02]: UNREACHABLE! =>") {
		t.Errorf("%s:\n%s", outcome(sum), out)
	}
}

func TestRecapLineAndSecretsAndNoLog(t *testing.T) {
	t.Parallel()
	got := RecapLine("db01", &Stats{OK: 12, Changed: 3, Skipped: 1})
	want := "db01                       : ok=12   changed=3    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0   "
	if got != want {
		t.Errorf("recap\n got %q\nwant %q", got, want)
	}
	f := newFleet(1)
	f.vars["db01"]["pg_password"] = "hunter22"
	_, out := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - tmsg: {msg: "pw is {{ pg_password }}"}
      failed_when: true
      ignore_errors: true
    - tmsg: {msg: "hidden {{ pg_password }}"}
      no_log: true
      failed_when: true
      ignore_errors: true
`)
	if strings.Contains(out, "hunter22") {
		t.Errorf("secret printed:\n%s", out)
	}
	if !strings.Contains(out, "pw is ********") || !strings.Contains(out, NoLogMessage) {
		t.Errorf("output:\n%s", out)
	}
}

func TestDelegateToLocalhostAndRunOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	local := &memHost{name: "localhost", files: map[string][]byte{}}
	runYAML(t, f, `
- hosts: dbservers
  tasks:
    - trun: "local {{ inventory_hostname }}"
      delegate_to: localhost
    - trun: once
      run_once: true
      register: o
    - assert: {that: "o.stdout == 'login'"}
`, func(o *Options) { o.Local = &memConn{h: local} })
	if len(local.ran) != 2 {
		t.Errorf("local ran %v", local.ran)
	}
	n := len(f.ran("db01")) + len(f.ran("db02"))
	if n != 1 {
		t.Errorf("run_once ran %d times", n)
	}
}

func TestTagsAndStartAt(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	runYAML(t, f, `
- hosts: dbservers
  tasks:
    - {trun: a, tags: [one]}
    - {trun: b, tags: [two]}
    - {trun: c, tags: [always]}
    - {trun: d, tags: [never, two]}
`, func(o *Options) { o.Tags = []string{"two"} })
	if got := f.ran("db01"); !reflect.DeepEqual(got, []string{"login: b", "login: c", "login: d"}) {
		t.Errorf("tags two ran %v", got)
	}
	f = newFleet(1)
	runYAML(t, f, `
- hosts: dbservers
  tasks:
    - {name: first, trun: a}
    - {name: second, trun: b}
`, func(o *Options) { o.StartAtTask = "second" })
	if got := f.ran("db01"); !reflect.DeepEqual(got, []string{"login: b"}) {
		t.Errorf("start-at ran %v", got)
	}
}

func TestFreeStrategyAndMetaEndHost(t *testing.T) {
	t.Parallel()
	f := newFleet(3)
	sum, _ := runYAML(t, f, `
- hosts: dbservers
  strategy: free
  tasks:
    - trun: a
    - meta: end_host
      when: idx == 2
    - trun: b
`)
	if got := f.ran("db02"); !reflect.DeepEqual(got, []string{"login: a"}) {
		t.Errorf("db02 ran %v", got)
	}
	if got := f.ran("db03"); len(got) != 2 {
		t.Errorf("db03 ran %v", got)
	}
	if !clean(sum) {
		t.Errorf("%s", outcome(sum))
	}
}

func TestAdhocOutput(t *testing.T) {
	t.Parallel()
	mods := testModules()
	f := newFleet(2)
	f.hosts["db02"].fail = "x"
	var out bytes.Buffer
	sum, err := Adhoc(context.Background(), AdhocOptions{
		Options: Options{Modules: mods, Inventory: f, Connector: f, Local: &memConn{h: &memHost{files: map[string][]byte{}}}, Out: &out},
		Pattern: "dbservers", Module: "tmsg", Args: "msg=hi",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "db01 | SUCCESS => {\n    \"changed\": false,\n    \"msg\": \"hi\"\n}") {
		t.Errorf("output:\n%s", out.String())
	}
	if !clean(sum) {
		t.Errorf("%s", outcome(sum))
	}
	if _, err := Adhoc(context.Background(), AdhocOptions{Options: Options{Modules: mods, Inventory: f, Connector: f, Local: &memConn{h: &memHost{}}}, Pattern: "all", Module: "tmgs"}); err == nil || !strings.Contains(err.Error(), `did you mean "tmsg"`) {
		t.Errorf("unknown module: %v", err)
	}
}

// clean reports whether a run ended with every host fine.
func clean(s *Summary) bool { return s.Failed() == 0 && s.Unreachable() == 0 && !s.Interrupted }

// outcome describes a run's end for test messages.
func outcome(s *Summary) string {
	return fmt.Sprintf("failed=%d unreachable=%d interrupted=%v", s.Failed(), s.Unreachable(), s.Interrupted)
}

// TestSummaryCounts: Failed and Unreachable count hosts, not tasks; rescued
// and ignored failures are not failures.
func TestSummaryCounts(t *testing.T) {
	t.Parallel()
	s := &Summary{Stats: map[string]*Stats{
		"a": {OK: 3},
		"b": {Failed: 2},
		"c": {Failed: 1, OK: 1},
		"d": {Unreachable: 1},
		"e": {Rescued: 1, Ignored: 2},
	}}
	if s.Failed() != 2 || s.Unreachable() != 1 {
		t.Errorf("Failed() = %d, Unreachable() = %d; want 2 and 1", s.Failed(), s.Unreachable())
	}
	if empty := (&Summary{}); empty.Failed() != 0 || empty.Unreachable() != 0 {
		t.Errorf("empty summary: Failed() = %d, Unreachable() = %d", empty.Failed(), empty.Unreachable())
	}
}
