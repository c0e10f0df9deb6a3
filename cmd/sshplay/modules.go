package main

import (
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/core"
	"github.com/sshplay/sshplay/tasks/postgres"
)

// newRegistry builds the modules a run knows: the core modules (command,
// copy, template, ...), the PostgreSQL ones (pg_facts, pg_conf, ...) and
// the engine's own (set_fact, assert, meta, include_vars). This is the one
// place a real run's registry is built; `sshplay play` parses and runs
// with it, `sshplay exec` looks its -m up in it. A name registered twice
// panics here, at start-up (TestEveryShippedModuleRegistersOnce).
func newRegistry() *tasks.Registry {
	r := tasks.NewRegistry()
	core.Register(r)
	postgres.Register(r)
	playbooks.Register(r)
	return r
}
