package core_test

// Fact gathering against a real lab host over SSH: the facts a playbook
// uses most, local facts from fact_path, and one command per gathering.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/tasks/core"
	"github.com/sshplay/sshplay/transport"
)

func TestGatherFactsOnALabHostInOneCommand(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	pool := transport.NewPool(transport.PoolOptions{Overrides: transport.Overrides{SSHConfigFile: "none"}})
	t.Cleanup(func() { pool.Close() })
	ctx := context.Background()
	conn, err := pool.Conn(ctx, h.Name, map[string]any{
		"ansible_host": h.Addr, "ansible_port": h.SSHPort, "ansible_user": "sshplay",
		"ansible_ssh_private_key_file": l.KeyFile(),
		"ansible_ssh_common_args":      "-o UserKnownHostsFile=" + l.KnownHostsFile() + " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
	})
	if err != nil {
		t.Fatalf("connect %s: %v", h.Name, err)
	}
	dir := fmt.Sprintf("/tmp/sshplay-facts-%d", time.Now().UnixNano())
	if _, err := conn.Run(ctx, "mkdir -p "+dir+" && printf '{\"role\": \"db\"}' > "+dir+"/app.fact", transport.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Run(ctx, "rm -rf "+dir, transport.RunOptions{}) })

	before := pool.Stats()[h.Name].Commands
	facts, err := core.Gather(ctx, transport.ReadOnly(conn), core.FactOptions{FactPath: dir, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n := pool.Stats()[h.Name].Commands - before; n != 1 {
		t.Errorf("gathering ran %d commands, want 1", n)
	}
	for k, want := range map[string]any{
		"ansible_distribution": "Debian", "ansible_os_family": "Debian", "ansible_system": "Linux",
		"ansible_user_id": "sshplay", "ansible_pkg_mgr": "apt", "module_setup": true,
	} {
		if facts[k] != want {
			t.Errorf("%s = %#v, want %#v", k, facts[k], want)
		}
	}
	for _, k := range []string{"ansible_hostname", "ansible_distribution_major_version", "ansible_kernel", "ansible_service_mgr"} {
		if s, _ := facts[k].(string); s == "" {
			t.Errorf("%s empty: %#v", k, facts[k])
		}
	}
	if n, _ := facts["ansible_processor_vcpus"].(int); n < 1 {
		t.Errorf("ansible_processor_vcpus = %#v", facts["ansible_processor_vcpus"])
	}
	if n, _ := facts["ansible_memtotal_mb"].(int); n < 64 {
		t.Errorf("ansible_memtotal_mb = %#v", facts["ansible_memtotal_mb"])
	}
	if ifs, _ := facts["ansible_interfaces"].([]any); len(ifs) == 0 || facts["ansible_lo"] == nil {
		t.Errorf("interfaces = %#v, ansible_lo = %#v", facts["ansible_interfaces"], facts["ansible_lo"])
	}
	local, _ := facts["ansible_local"].(map[string]any)
	if app, _ := local["app"].(map[string]any); app["role"] != "db" {
		t.Errorf("ansible_local = %#v", facts["ansible_local"])
	}
	env, _ := facts["ansible_env"].(map[string]any)
	if env["HOME"] != facts["ansible_user_dir"] {
		t.Errorf("env HOME %v, user_dir %v", env["HOME"], facts["ansible_user_dir"])
	}
}
