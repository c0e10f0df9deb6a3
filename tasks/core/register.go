package core

import (
	"github.com/sshplay/sshplay/tasks"
)

// Modules returns the core modules by short name. Those wrapped in checked
// also implement tasks.ArgChecker (arguments checked at parse time).
func Modules() map[string]tasks.Module {
	return map[string]tasks.Module{
		"command":      checked{planCommand},
		"shell":        checked{planShell},
		"copy":         checked{planCopy},
		"template":     checked{planTemplate},
		"fetch":        checked{planFetch},
		"file":         checked{planFile},
		"lineinfile":   checked{planLineinfile},
		"blockinfile":  checked{planBlockinfile},
		"replace":      checked{planReplace},
		"stat":         checked{planStat},
		"wait_for":     checked{waitFor{clock: realClock}.Plan},
		"service":      checked{planService("service")},
		"systemd":      checked{planService("systemd")},
		"debug":        tasks.ModuleFunc(planDebug),
		"fail":         tasks.ModuleFunc(planFail),
		"ping":         tasks.ModuleFunc(planPing),
		"setup":        setupModule{},
		"async_status": checked{planAsyncStatus},
	}
}

// commandShortForm is how the short form of command and shell is read, as
// in Ansible: "command: ls -l chdir=/tmp" runs `ls -l` in /tmp; every word
// that is not one of these options is part of the command line.
var commandShortForm = tasks.FreeForm{Options: []string{
	"creates", "removes", "chdir", "executable", "stdin", "warn", "stdin_add_newline", "strip_empty_ends",
}}

// Register adds every core module to r under NAME, ansible.builtin.NAME and
// ansible.legacy.NAME (systemd also as systemd_service, setup also as
// gather_facts); command and shell take free text in their short form.
func Register(r *tasks.Registry) {
	for name, m := range Modules() {
		names := []string{name, "ansible.builtin." + name, "ansible.legacy." + name}
		if name == "systemd" {
			names = append(names, "systemd_service", "ansible.builtin.systemd_service", "ansible.legacy.systemd_service")
		}
		if name == "setup" {
			names = append(names, "gather_facts", "ansible.builtin.gather_facts", "ansible.legacy.gather_facts")
		}
		if name == "command" || name == "shell" {
			r.AddFreeForm(m, commandShortForm, names...)
			continue
		}
		r.Add(m, names...)
	}
}
