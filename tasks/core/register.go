package core

import (
	"sync"

	"github.com/sshplay/sshplay/tasks"
)

var registerOnce sync.Once

// Modules returns the core modules by short name. Those wrapped in checked
// also implement tasks.ArgChecker (arguments checked at parse time).
func Modules() map[string]tasks.Module {
	return map[string]tasks.Module{
		"command":     checked{planCommand},
		"shell":       checked{planShell},
		"copy":        checked{planCopy},
		"template":    checked{planTemplate},
		"fetch":       checked{planFetch},
		"file":        checked{planFile},
		"lineinfile":  checked{planLineinfile},
		"blockinfile": checked{planBlockinfile},
		"replace":     checked{planReplace},
		"stat":        checked{planStat},
		"wait_for":    checked{waitFor{clock: realClock}.Plan},
		"service":     checked{planService("service")},
		"systemd":     checked{planService("systemd")},
		"debug":       tasks.ModuleFunc(planDebug),
		"fail":        tasks.ModuleFunc(planFail),
		"ping":        tasks.ModuleFunc(planPing),
	}
}

// Register registers every core module under NAME, ansible.builtin.NAME and
// ansible.legacy.NAME (systemd also as systemd_service). Safe to call more
// than once.
func Register() {
	registerOnce.Do(func() {
		for name, m := range Modules() {
			names := []string{name, "ansible.builtin." + name, "ansible.legacy." + name}
			if name == "systemd" {
				names = append(names, "systemd_service", "ansible.builtin.systemd_service", "ansible.legacy.systemd_service")
			}
			tasks.Register(m, names...)
		}
	})
}
