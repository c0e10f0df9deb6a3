// Package template renders sshplay's Jinja2 templates and evaluates bare
// conditions (when:, changed_when:, assert that:) with gonja, plus the
// Ansible filters and tests that playbooks commonly use.
//
// Variables are resolved lazily: a variable whose value is itself a template
// is rendered only when a template uses it, so an unused variable that
// references something undefined never fails a task. A string that is one
// whole expression ("{{ x }}") keeps the native type of its value.
//
// template never touches a host, the network or the file system (except the
// file and env lookups a template asks for explicitly on the control machine).
package template
