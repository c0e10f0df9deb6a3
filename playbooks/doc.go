// Package playbooks reads Ansible-shaped playbooks and runs them: parse
// (strict, every play, task and key keeps file:line:col), validate (modules,
// templates, handlers) before any connection is opened, then run plays in
// batches over hosts with the linear or free strategy, handlers, blocks,
// loops, registered results and Ansible's text or a JSON report.
//
// Every module runs through tasks.Execute, which plans through a read-only
// view of the host and applies only in a real run; the engine decides
// nothing about check mode beyond passing ExecOptions. Facts are not
// gathered: gather_facts is accepted for compatibility and ignored.
//
// playbooks never dials a host itself: connections come from the Connector
// it is given (the transport pool in production, in-memory conns in tests).
// It never imports cobra or viper.
package playbooks
