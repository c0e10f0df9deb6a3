package main

import (
	"testing"

	"github.com/sshplay/sshplay/playbooks"
)

// TestEveryShippedModuleRegistersOnce: the run's registry builds (newRegistry
// panics if two modules claim one name) and holds the modules of every
// package under their names and aliases, with the short forms that take
// free text; every shipped playbook parses with it.
func TestEveryShippedModuleRegistersOnce(t *testing.T) {
	t.Parallel()
	mods := newRegistry()
	for _, n := range []string{"command", "ansible.builtin.copy", "ansible.legacy.shell", "systemd_service",
		"pg_facts", "sshplay.postgres.pg_conf", "pg_tls_sign", "set_fact", "ansible.builtin.meta", "include_vars"} {
		if _, ok := mods.Lookup(n); !ok {
			t.Errorf("%s is not registered", n)
		}
	}
	for n, free := range map[string]bool{"command": true, "shell": true, "meta": true, "include_vars": true,
		"ansible.builtin.command": true, "copy": false, "debug": false, "pg_conf": false} {
		if got := mods.FreeForm(n) != nil; got != free {
			t.Errorf("%s: takes free text = %v, want %v", n, got, free)
		}
	}
	for _, n := range []string{"raw", "script"} {
		if _, ok := mods.Lookup(n); ok {
			t.Errorf("%s is registered, but sshplay has no such module", n)
		}
	}
	for _, name := range playbooks.EmbeddedNames() {
		if _, err := playbooks.Load(mods, name); err != nil {
			t.Errorf("shipped playbook %s: %v", name, err)
		}
	}
}
