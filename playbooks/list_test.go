package playbooks

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

const listYAML = `- name: tls
  hosts: dbservers
  tags: [pg]
  pre_tasks:
    - {name: check, command: "true", tags: [always]}
  tasks:
    - name: certs
      tags: [tls]
      block:
        - {name: write key, command: "true"}
        - {name: write cert, command: "true", tags: [cert]}
      rescue:
        - {name: roll back, command: "true", tags: [rollback]}
      always:
        - {name: report, command: "true"}
    - {name: restart, command: "true", tags: [restart]}
  post_tasks:
    - {name: debug only, command: "true", tags: [never, debug]}
- hosts: db01
  tasks:
    - command: "true"
`

// TestList: --list-hosts and --list-tasks print every play's hosts and the
// tasks the tags select, blocks flattened with inherited tags.
func TestList(t *testing.T) {
	t.Parallel()
	pb, err := Parse(AllModules(), "site.yml", []byte(listYAML))
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(2)
	for _, c := range []struct {
		name string
		opts ListOptions
		want string
	}{
		{"hosts", ListOptions{Hosts: true}, `
playbook: site.yml

  play #1 (dbservers): tls	TAGS: [pg]
    pattern: ['dbservers']
    hosts (2):
      db01
      db02

  play #2 (db01): db01	TAGS: []
    pattern: ['db01']
    hosts (1):
      db01
`},
		{"all tasks", ListOptions{Tasks: true}, `
playbook: site.yml

  play #1 (dbservers): tls	TAGS: [pg]
    tasks:
      check	TAGS: [always, pg]
      write key	TAGS: [pg, tls]
      write cert	TAGS: [cert, pg, tls]
      roll back	TAGS: [pg, rollback, tls]
      report	TAGS: [pg, tls]
      restart	TAGS: [pg, restart]

  play #2 (db01): db01	TAGS: []
    tasks:
      command	TAGS: []
`},
		{"tags and skip-tags", ListOptions{Tasks: true, Tags: []string{"tls", "debug"}, SkipTags: []string{"rollback"}}, `
playbook: site.yml

  play #1 (dbservers): tls	TAGS: [pg]
    tasks:
      check	TAGS: [always, pg]
      write key	TAGS: [pg, tls]
      write cert	TAGS: [cert, pg, tls]
      report	TAGS: [pg, tls]
      debug only	TAGS: [debug, never, pg]

  play #2 (db01): db01	TAGS: []
    tasks:
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := List(&b, []*Playbook{pb}, f, c.opts); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), c.want)
			}
		})
	}
}

// TestListBadPattern: a host pattern the inventory rejects is an error
// naming the play's position, and nothing after it is listed.
func TestListBadPattern(t *testing.T) {
	t.Parallel()
	pb, err := Parse(AllModules(), "site.yml", []byte("- hosts: nomatch\n  tasks: [{command: 'true'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = List(&b, []*Playbook{pb}, newFleet(1), ListOptions{Hosts: true})
	if err == nil || !strings.Contains(err.Error(), `site.yml:1:3: hosts "nomatch"`) {
		t.Errorf("err = %v", err)
	}
}

// A templated hosts: is listed as a run would use it: rendered with the
// play's vars and the extra vars, in the play line and the pattern.
func TestListHostsRendersATemplatedPattern(t *testing.T) {
	t.Parallel()
	pb, err := Parse(AllModules(), "site.yml", []byte(`- name: tls
  hosts: "{{ pg_hosts | default(fallback) }}"
  vars: {fallback: dbservers}
  tasks:
    - command: "true"
`))
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(2)
	for _, c := range []struct {
		extra   map[string]any
		pattern string
		hosts   string
	}{
		{nil, "dbservers", "    hosts (2):\n      db01\n      db02\n"},
		{map[string]any{"pg_hosts": "db02"}, "db02", "    hosts (1):\n      db02\n"},
	} {
		var out bytes.Buffer
		if err := List(&out, []*Playbook{pb}, f, ListOptions{Hosts: true, ExtraVars: c.extra}); err != nil {
			t.Fatal(err)
		}
		want := "\n  play #1 (" + c.pattern + "): tls\tTAGS: []\n    pattern: ['" + c.pattern + "']\n" + c.hosts
		if !strings.HasSuffix(out.String(), want) {
			t.Errorf("extra %v: got\n%s\nwant suffix\n%s", c.extra, out.String(), want)
		}
	}
	var out bytes.Buffer
	err = List(&out, []*Playbook{pb}, f, ListOptions{Hosts: true, ExtraVars: map[string]any{"fallback": "{{ nosuch }}"}})
	if err == nil || !strings.Contains(err.Error(), "site.yml:1:3: hosts: ") {
		t.Errorf("a pattern that does not render: got %v, want a bad-input error naming the play and hosts:", err)
	}
}

// --list-hosts shows the implicit localhost for hosts: localhost when the
// inventory has no such host, as ansible-playbook 2.14 does (its output is
// testdata/list/implicit_localhost.ansible).
func TestListHostsShowsTheImplicitLocalhost(t *testing.T) {
	t.Parallel()
	pb, err := Parse(AllModules(), "none.yml", []byte("- hosts: localhost\n  gather_facts: false\n  tasks: [{debug: {msg: hi}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := List(&out, []*Playbook{pb}, newFleet(1), ListOptions{Hosts: true}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/list/implicit_localhost.ansible")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("got\n%q\nwant (ansible-playbook)\n%q", out.String(), want)
	}
}
