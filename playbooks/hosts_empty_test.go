package playbooks

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/inventory"
)

// emptyGroupFleet is a fleet whose inventory has a group "empty" with no
// host, answering as inventory.Inventory does for it.
type emptyGroupFleet struct{ *memFleet }

func (f emptyGroupFleet) Hosts(pattern string) ([]string, error) {
	if pattern == "empty" || pattern == "dbx" {
		return nil, &inventory.NoMatchError{Pattern: pattern, Groups: []string{"dbservers", "empty"}}
	}
	return f.memFleet.Hosts(pattern)
}

func (f emptyGroupFleet) Groups() map[string][]string {
	g := map[string][]string{"empty": nil}
	for k, v := range f.memFleet.Groups() {
		g[k] = v
	}
	return g
}

func runFleet(inv Inventory, f *memFleet, src string, extra map[string]any) (string, error) {
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: inv, Connector: f, Forks: 1, Out: &out, ExtraVars: extra,
		Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}}
	pb, err := Parse(opts.Modules, "site.yml", []byte(src))
	if err != nil {
		return "", err
	}
	_, err = Run(context.Background(), []*Playbook{pb}, opts)
	return out.String(), err
}

// TestEmptyGroupPlayIsSkipped: as in Ansible (recorded, ansible-core
// 2.14), a play on a group that exists but has no host prints "skipping:
// no hosts matched" and the run goes on; hosts: "{{ x | default(omit) }}"
// renders with x given; a name the inventory lacks is still an error.
func TestEmptyGroupPlayIsSkipped(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	src := "- hosts: empty\n  tasks:\n    - debug: {msg: never}\n" +
		"- hosts: \"{{ target | default(omit) }}\"\n  tasks:\n    - debug: {msg: second play ran}\n"
	out, err := runFleet(emptyGroupFleet{f}, f, src, map[string]any{"target": "db01"})
	if err != nil || !strings.Contains(out, "skipping: no hosts matched") || !strings.Contains(out, "second play ran") ||
		strings.Contains(out, "never") {
		t.Fatalf("err %v\n%s", err, out)
	}
	_, err = runFleet(emptyGroupFleet{f}, f, "- hosts: dbx\n  tasks:\n    - debug: {msg: x}\n", nil)
	if err == nil || !strings.Contains(err.Error(), `no hosts matched "dbx"`) {
		t.Fatalf("unknown name: %v", err)
	}
}
