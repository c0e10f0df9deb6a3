// Package core holds sshplay's built-in modules, the Ansible builtins a
// PostgreSQL TLS rollout needs: command, shell, copy, template, fetch, file,
// lineinfile, blockinfile, replace, stat, wait_for, service, systemd, debug,
// fail and ping. Register makes them available under their short names and
// as ansible.builtin.NAME / ansible.legacy.NAME, so an Ansible task runs
// unchanged: argument names, defaults, aliases and result keys are Ansible's.
//
// Every module plans through the read-only env.Conn and carries out its
// change only in Change.Apply. core never opens a connection itself, never
// edits a file with a remote sed (files are read, changed in Go and written
// back atomically), and never builds a shell command by concatenating an
// unquoted value: every value goes through shellescape. Arguments are
// decoded by tasks/args and free-form command text is split by
// internal/shlex, so that a value means here what it means to every other
// module and to Ansible.
package core
