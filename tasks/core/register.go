package core

import (
	"sync"

	"github.com/sshplay/sshplay/tasks"
)

var registerOnce sync.Once

// Modules returns the core modules by short name.
func Modules() map[string]tasks.Module {
	return map[string]tasks.Module{
		"command":     tasks.ModuleFunc(planCommand),
		"shell":       tasks.ModuleFunc(planShell),
		"copy":        tasks.ModuleFunc(planCopy),
		"template":    tasks.ModuleFunc(planTemplate),
		"fetch":       tasks.ModuleFunc(planFetch),
		"file":        tasks.ModuleFunc(planFile),
		"lineinfile":  tasks.ModuleFunc(planLineinfile),
		"blockinfile": tasks.ModuleFunc(planBlockinfile),
		"replace":     tasks.ModuleFunc(planReplace),
		"stat":        tasks.ModuleFunc(planStat),
		"wait_for":    waitFor{clock: realClock},
		"service":     planService("service"),
		"systemd":     planService("systemd"),
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
