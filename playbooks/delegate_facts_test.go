package playbooks

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// msgLines are the "msg": lines of a run's output, Ansible's or ours.
var msgLines = regexp.MustCompile(`(?m)^\s*"msg": .*$`)

// goldenMsgs reads a recorded Ansible run and the playbook it ran.
func goldenMsgs(t *testing.T, dir string) (src string, want []string) {
	t.Helper()
	pb, err := os.ReadFile(dir + "/site.yml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(dir + "/ansible-2.14.out")
	if err != nil {
		t.Fatal(err)
	}
	return string(pb), trimmed(msgLines.FindAllString(string(out), -1))
}

func trimmed(lines []string) []string {
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}

// TestDelegateFactsSendsFactsToTheDelegatedHost: with delegate_facts:
// true, set_fact's and setup's facts land in the delegated host's
// hostvars; without it (or false) they stay with the current host, as
// recorded from Ansible 2.14. The delegated host gets no recap line.
func TestDelegateFactsSendsFactsToTheDelegatedHost(t *testing.T) {
	t.Parallel()
	src, want := goldenMsgs(t, "testdata/delegate_facts")
	f := newFactsFleet(t, 2)
	sum, out := runFacts(t, f, src)
	if got := trimmed(msgLines.FindAllString(out, -1)); !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q\n%s", got, want, out)
	}
	if !slices.Equal(sum.Hosts, []string{"db01"}) {
		t.Errorf("recap hosts = %q, want only db01", sum.Hosts)
	}
	if f.gathers("db02") != 1 || f.gathers("db01") != 0 {
		t.Errorf("setup ran on db01 %d times, db02 %d times; want 0 and 1", f.gathers("db01"), f.gathers("db02"))
	}
}

// TestDebugMsgOfNullPrintsNull: msg given as null (literally or from a
// template of a null variable) prints null, as Ansible 2.14 does, not
// the "Hello world!" of a debug without msg.
func TestDebugMsgOfNullPrintsNull(t *testing.T) {
	t.Parallel()
	src, want := goldenMsgs(t, "testdata/debug_null")
	src = strings.Replace(src, "hosts: localhost", "hosts: db01", 1)
	_, out := runYAML(t, newFleet(1), src)
	if got := trimmed(msgLines.FindAllString(out, -1)); !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q\n%s", got, want, out)
	}
}
