package playbooks

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/transport"
)

// gatheredOutput is what the gathering command printed on a Debian 12
// machine (recorded next to Ansible's own facts for the same machine).
const gatheredOutput = "../tasks/core/testdata/setup/localhost.raw"

// factsFleet is a memFleet whose hosts answer the gathering command with
// recorded output; every other command goes to the in-memory host.
type factsFleet struct {
	*memFleet
	raw []byte
}

func newFactsFleet(t *testing.T, n int) *factsFleet {
	t.Helper()
	raw, err := os.ReadFile(gatheredOutput)
	if err != nil {
		t.Fatal(err)
	}
	return &factsFleet{memFleet: newFleet(n), raw: raw}
}

func (f *factsFleet) Conn(ctx context.Context, host string, vars map[string]any) (transport.Conn, error) {
	c, err := f.memFleet.Conn(ctx, host, vars)
	if err != nil {
		return nil, err
	}
	return factsConn{Conn: c, raw: f.raw}, nil
}

type factsConn struct {
	transport.Conn
	raw []byte
}

func (c factsConn) Run(ctx context.Context, cmd string, o transport.RunOptions) (*transport.Result, error) {
	res, err := c.Conn.Run(ctx, cmd, o) // logged in the host's ran
	if err == nil && isGatherCommand(cmd) {
		res = &transport.Result{Stdout: c.raw}
	}
	return res, err
}

func (c factsConn) Become(b transport.Become) transport.Conn {
	return factsConn{Conn: c.Conn.Become(b), raw: c.raw}
}

func isGatherCommand(cmd string) bool { return strings.Contains(cmd, "@@sshplay:") }

// gathers counts the gathering commands a host ran.
func (f *factsFleet) gathers(host string) int {
	n := 0
	for _, c := range f.ran(host) {
		if isGatherCommand(c) {
			n++
		}
	}
	return n
}

func runFacts(t *testing.T, f *factsFleet, src string, set ...runOpt) (*Summary, string) {
	t.Helper()
	opts := func(o *Options) {
		o.Connector = f
		o.Inventory = f
		o.Gathering = GatherImplicit
	}
	return runYAML(t, f.memFleet, src, append([]runOpt{opts}, set...)...)
}

func TestPlaysGatherFactsFirstWithOneCommandPerHost(t *testing.T) {
	t.Parallel()
	f := newFactsFleet(t, 2)
	sum, out := runFacts(t, f, `
- hosts: dbservers
  pre_tasks:
    - debug: {msg: "{{ ansible_distribution }} {{ ansible_facts.os_family }} {{ ansible_default_ipv4.address }} {{ ansible_facts['distribution_major_version'] }}"}
  tasks:
    - debug: {msg: "{{ ansible_eth0.mtu + 1 }} {{ ansible_lo.ipv4.address }} {{ ansible_local }} {{ ansible_memtotal_mb > 1000 }}"}
`)
	gi, pi := strings.Index(out, "TASK [Gathering Facts]"), strings.Index(out, "Debian Debian 192.0.2.2 12")
	if gi < 0 || pi < gi {
		t.Fatalf("facts not gathered before pre_tasks:\n%s", out)
	}
	if !strings.Contains(out, "1401 127.0.0.1 {} True") {
		t.Errorf("facts typed as in Ansible not seen:\n%s", out)
	}
	for _, h := range []string{"db01", "db02"} {
		if n := f.gathers(h); n != 1 {
			t.Errorf("%s ran %d gathering commands, want 1", h, n)
		}
		if s := stats(t, sum, h); s.OK != 3 {
			t.Errorf("%s ok=%d, want 3 (Gathering Facts counts, as in Ansible)", h, s.OK)
		}
	}
}

func TestGatherFactsFalseRunsNoCommand(t *testing.T) {
	t.Parallel()
	f := newFactsFleet(t, 1)
	_, out := runFacts(t, f, `
- hosts: dbservers
  gather_facts: false
  tasks:
    - debug: {msg: "{{ ansible_distribution | default('none') }}"}
`)
	if n := len(f.ran("db01")); n != 0 || strings.Contains(out, "Gathering Facts") {
		t.Fatalf("gather_facts: false ran %d commands:\n%s", n, out)
	}
	if !strings.Contains(out, `"msg": "none"`) {
		t.Errorf("facts seen without gathering:\n%s", out)
	}
}

func TestFactsSitAboveInventoryAndBelowPlayVars(t *testing.T) {
	t.Parallel()
	f := newFactsFleet(t, 1)
	f.vars["db01"]["ansible_distribution"] = "FromInventory"
	f.vars["db01"]["ansible_hostname"] = "FromInventory"
	_, out := runFacts(t, f, `
- hosts: dbservers
  vars:
    ansible_hostname: FromPlay
  tasks:
    - debug: {msg: "{{ ansible_distribution }}/{{ ansible_hostname }}/{{ ansible_facts.hostname }}"}
    - set_fact: {ansible_distribution: FromSetFact}
    - debug: {msg: "{{ ansible_distribution }}"}
`)
	for _, want := range []string{`"msg": "Debian/FromPlay/vm"`, `"msg": "FromSetFact"`} {
		if !strings.Contains(out, want) {
			t.Errorf("want %s in:\n%s", want, out)
		}
	}
}

func TestHostvarsShowsAnotherHostsFacts(t *testing.T) {
	t.Parallel()
	f := newFactsFleet(t, 2)
	_, out := runFacts(t, f, `
- hosts: dbservers
  tasks:
    - debug: {msg: "{{ hostvars['db02'].ansible_facts.distribution_release }} {{ hostvars['db02']['ansible_kernel'] }}"}
`)
	if !strings.Contains(out, `"msg": "bookworm 6.18.44-fc-v1272"`) {
		t.Errorf("hostvars facts not seen:\n%s", out)
	}
}

func TestCheckModeGathersFacts(t *testing.T) {
	t.Parallel()
	f := newFactsFleet(t, 1)
	_, out := runFacts(t, f, `
- hosts: dbservers
  tasks:
    - debug: {msg: "{{ ansible_pkg_mgr }}"}
`, func(o *Options) { o.Check = true })
	if f.gathers("db01") != 1 || !strings.Contains(out, `"msg": "apt"`) {
		t.Errorf("check mode did not gather facts (%d commands):\n%s", f.gathers("db01"), out)
	}
}

func TestGatheringSettingDecidesWhichPlaysGather(t *testing.T) {
	t.Parallel()
	src := `
- hosts: dbservers
  tasks: [{debug: {msg: one}}]
- hosts: dbservers
  gather_facts: true
  tasks: [{debug: {msg: two}}]
- hosts: dbservers
  tasks: [{debug: {msg: three}}]
`
	for _, c := range []struct {
		g    Gathering
		want int
	}{{GatherImplicit, 3}, {GatherExplicit, 1}, {GatherSmart, 1}, {"", 1}} {
		f := newFactsFleet(t, 1)
		runFacts(t, f, src, func(o *Options) { o.Gathering = c.g })
		if n := f.gathers("db01"); n != c.want {
			t.Errorf("gathering %q: %d gathering commands, want %d", c.g, n, c.want)
		}
	}
}

func TestSetupTaskFiltersAndRegisters(t *testing.T) {
	t.Parallel()
	f := newFactsFleet(t, 1)
	_, out := runFacts(t, f, `
- hosts: dbservers
  gather_facts: false
  tasks:
    - ansible.builtin.setup:
        filter: [ansible_distribution*, "*_mb"]
        gather_subset: ["!all", hardware]
      register: r
    - debug: {msg: "{{ r.ansible_facts.keys() | sort | join(',') }}"}
    - debug: {msg: "{{ ansible_facts.distribution }} {{ ansible_memtotal_mb }}"}
`)
	if !strings.Contains(out, `"msg": "ansible_distribution,ansible_distribution_major_version,ansible_distribution_minor_version,ansible_distribution_release,ansible_distribution_version,ansible_memfree_mb,ansible_memory_mb,ansible_memtotal_mb,ansible_swapfree_mb,ansible_swaptotal_mb"`) {
		t.Errorf("filtered facts not registered:\n%s", out)
	}
	if !strings.Contains(out, `"msg": "Debian 24105"`) {
		t.Errorf("setup task's facts not kept:\n%s", out)
	}
}

func TestBadGatherSubsetIsAParseError(t *testing.T) {
	t.Parallel()
	_, err := Parse(testModules(), "site.yml", []byte("- hosts: all\n  gather_subset: [network, hardwar]\n  tasks: []\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(pe.Msg, `unknown subset "hardwar"`) {
		t.Fatalf("got %v, want a parse error at line 2 naming the subset", err)
	}
	if _, err := Parse(testModules(), "site.yml", []byte("- hosts: all\n  tasks:\n    - setup: {gather_subset: bogus}\n")); err == nil {
		t.Fatal("setup task with an unknown subset parsed")
	}
}
