// Package playbooks reads Ansible-shaped playbooks and runs them: parse
// (strict, every play, task and key keeps file:line:col), validate (modules,
// templates, handlers) before any connection is opened, then run plays in
// batches over hosts with the linear or free strategy, handlers, blocks,
// loops, registered results and Ansible's text or a JSON report.
//
// The modules a playbook may use are those of the tasks.Registry the caller
// builds and passes to Parse and Run (cmd/sshplay builds the one of a real
// run); the engine's own modules (set_fact, assert, meta, include_vars) are
// added to it by Register. playbooks keeps no registry of its own.
//
// Every module runs through tasks.Execute, which plans through a read-only
// view of the host and applies only in a real run; the engine decides
// nothing about check mode beyond passing ExecOptions. Facts are gathered
// as in Ansible (facts.go): a play starts with the setup module, one
// read-only command per host, unless it says gather_facts: false (or the
// caller's Gathering says explicit); they are host variables below play
// vars, as ansible_NAME and ansible_facts.NAME.
//
// playbooks never dials a host itself: connections come from the Connector
// it is given (the transport pool in production, in-memory conns in tests).
// It never imports cobra or viper.
package playbooks
