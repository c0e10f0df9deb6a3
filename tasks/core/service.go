package core

// service and systemd: start, stop, restart or reload a service and set
// whether it starts at boot (ansible.builtin.service / ansible.builtin.systemd).
// The manager is systemd when the host runs it, else the `service` command.
// sshplay extension: start_command, stop_command, status_command (and
// optionally restart_command, reload_command) manage a service that has no
// unit or init script, such as a PostgreSQL started with pg_ctl; status_command
// must exit 0 exactly when the service runs.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

type serviceMgr struct {
	kind string // systemd | service | command
	cmds map[string]string
}

func (m serviceMgr) statusCmd(name string) string {
	switch m.kind {
	case "systemd":
		return sh("systemctl", "is-active", "--quiet", "--", name)
	case "service":
		return sh("service", name, "status")
	}
	return m.cmds["status"]
}

// actionCmds returns the commands that carry out action, run in order.
func (m serviceMgr) actionCmds(action, name string) ([]string, error) {
	switch m.kind {
	case "systemd":
		return []string{sh("systemctl", action, "--", name)}, nil
	case "service":
		return []string{sh("service", name, action)}, nil
	}
	if c := m.cmds[action]; c != "" {
		return []string{c}, nil
	}
	if action == "restart" && m.cmds["stop"] != "" && m.cmds["start"] != "" {
		return []string{m.cmds["stop"], m.cmds["start"]}, nil
	}
	return nil, fmt.Errorf("state=%s needs %s_command", map[string]string{"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded"}[action], action)
}

// checkKnown fails the plan when the service manager does not know name,
// so that check mode fails where the real run would. It is asked only when
// a status probe said "not running" (a running service exists).
func (m serviceMgr) checkKnown(ctx context.Context, c transport.Conn, mod, name string) error {
	var unknown bool
	switch m.kind {
	case "systemd":
		res, err := c.Run(ctx, sh("systemctl", "show", "-p", "LoadState", "--value", "--", name), transport.RunOptions{})
		if err != nil {
			return fmt.Errorf("host %s: %s: look up %s: %w", c.Host(), mod, name, err)
		}
		unknown = strings.TrimSpace(string(res.Stdout)) == "not-found"
	case "service":
		res, err := c.Run(ctx, sh("service", name, "status"), transport.RunOptions{})
		var ee *transport.ExitError
		if err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("host %s: %s: look up %s: %w", c.Host(), mod, name, err)
		}
		out := strings.ToLower(string(res.Stdout) + string(res.Stderr))
		unknown = strings.Contains(out, "unrecognized service") || strings.Contains(out, "could not be found") ||
			strings.Contains(out, "not-found")
	}
	if unknown {
		return &tasks.Failed{Msg: fmt.Sprintf("host %s: %s: could not find the requested service %s", c.Host(), mod, name)}
	}
	return nil
}

// exitOK runs a probe and reports whether it exited 0.
func exitOK(ctx context.Context, c transport.Conn, cmd string) (bool, error) {
	_, err := c.Run(ctx, cmd, transport.RunOptions{})
	var ee *transport.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee):
		return false, nil
	}
	return false, fmt.Errorf("host %s: %s: %w", c.Host(), cmd, err)
}

func detectManager(ctx context.Context, c transport.Conn, cmds map[string]string) (serviceMgr, error) {
	if len(cmds) > 0 {
		if cmds["status"] == "" {
			return serviceMgr{}, errors.New("status_command is required with start_command/stop_command")
		}
		return serviceMgr{kind: "command", cmds: cmds}, nil
	}
	ok, err := exitOK(ctx, c, "test -d /run/systemd/system && command -v systemctl >/dev/null")
	if err != nil {
		return serviceMgr{}, err
	}
	if ok {
		return serviceMgr{kind: "systemd"}, nil
	}
	ok, err = exitOK(ctx, c, "command -v service >/dev/null")
	if err != nil {
		return serviceMgr{}, err
	}
	if ok {
		return serviceMgr{kind: "service"}, nil
	}
	return serviceMgr{}, fmt.Errorf("host %s: no service manager found (no running systemd, no service command); give start_command, stop_command and status_command", c.Host())
}

// serviceArgs are service's (or systemd's) arguments, decoded and
// checked.
type serviceArgs struct {
	mod          string
	name         string
	state        string // "" or started, stopped, restarted, reloaded
	enabled      *bool  // nil: leave it
	daemonReload bool
	cmds         map[string]string // start, stop, status...: the *_command arguments
}

// parseServiceArgs decodes and checks the arguments of mod (service or
// systemd, which adds daemon_reload and no_block).
func parseServiceArgs(mod string, raw map[string]any) (serviceArgs, error) {
	params := []string{"name|service|unit", "state", "enabled", "start_command", "stop_command", "status_command",
		"restart_command", "reload_command"}
	if mod == "systemd" {
		params = append(params, "daemon_reload|daemon-reload", "no_block")
	}
	a, err := args.Parse(mod, raw, params...)
	if err != nil {
		return serviceArgs{}, err
	}
	sa := serviceArgs{mod: mod, name: a.Str("name", ""), state: a.Str("state", ""), cmds: map[string]string{}}
	if v, _ := a.Get("state"); sa.state != "" && !a.Templated(v) {
		sa.state = a.Choice("state", "", "started", "stopped", "restarted", "reloaded")
	}
	if a.Has("enabled") {
		e := a.Bool("enabled", false)
		sa.enabled = &e
	}
	if mod == "systemd" {
		sa.daemonReload = a.Bool("daemon_reload", false)
		_ = a.Bool("no_block", false)
	}
	for _, k := range []string{"start", "stop", "status", "restart", "reload"} {
		if v := a.Str(k+"_command", ""); v != "" {
			sa.cmds[k] = v
		}
	}
	switch {
	case sa.name == "" && !sa.daemonReload:
		a.Fail("", "missing required argument: name")
	case sa.name != "" && sa.state == "" && sa.enabled == nil:
		a.Fail("", "one of the following is required: state, enabled")
	}
	return sa, a.Ready()
}

func planService(mod string) tasks.ModuleFunc {
	return func(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
		sa, err := parseServiceArgs(mod, raw)
		if err != nil {
			return nil, err
		}
		c := env.Conn
		mgr, err := detectManager(ctx, c, sa.cmds)
		switch {
		case err != nil:
			return nil, &tasks.Failed{Msg: err.Error()}
		case sa.enabled != nil && mgr.kind != "systemd":
			return nil, &tasks.Failed{Msg: fmt.Sprintf("%s: enabled is only supported with systemd (manager here: %s)", mod, mgr.kind)}
		case sa.daemonReload && mgr.kind != "systemd":
			return nil, &tasks.Failed{Msg: mod + ": daemon_reload needs systemd"}
		}
		sp := &servicePlan{serviceArgs: sa, c: c, mgr: mgr, result: map[string]any{"name": sa.name}, states: map[string]string{}}
		if sa.daemonReload {
			sp.steps = append(sp.steps, "systemctl daemon-reload")
			sp.what = append(sp.what, "reload systemd")
		}
		if sa.name == "" {
			return serviceChange(sp.result, sp.steps, sp.what), nil
		}
		if sa.enabled != nil {
			if err := sp.planEnabled(ctx); err != nil {
				return nil, err
			}
		}
		if sa.state != "" {
			if err := sp.planState(ctx); err != nil {
				return nil, err
			}
		}
		ch := serviceChange(sp.result, sp.steps, sp.what)
		ch.Reads = sp.reads
		if ch.Action != tasks.None {
			ch.States = sp.states
		}
		return ch, nil
	}
}

// servicePlan is a service change being planned: the commands Apply runs
// in order, what they do, the states they leave for later plans of a
// check run, and the probes re-checked before apply.
type servicePlan struct {
	serviceArgs
	c      transport.Conn
	mgr    serviceMgr
	result map[string]any
	steps  []string
	what   []string
	reads  []tasks.Precondition
	states map[string]string
}

// planEnabled plans enabling or disabling the unit at boot.
func (sp *servicePlan) planEnabled(ctx context.Context) error {
	name, c := sp.name, sp.c
	enabledCmd := sh("systemctl", "is-enabled", "--quiet", "--", name)
	isEnabled, err := exitOK(ctx, c, enabledCmd)
	if err != nil {
		return err
	}
	if v, ok := overlay.PlannedState(c, "service-enabled:"+name); ok {
		isEnabled = v == "enabled"
	} else if !isEnabled {
		if err := sp.mgr.checkKnown(ctx, c, sp.mod, name); err != nil {
			return err
		}
	}
	sp.reads = append(sp.reads, tasks.Precondition{Path: "service " + name + " (enabled)",
		Want: enabledWord(isEnabled), Probe: func(ctx context.Context, c transport.Conn) (string, error) {
			ok, err := exitOK(ctx, c, enabledCmd)
			return enabledWord(ok), err
		}})
	sp.result["enabled"] = *sp.enabled
	if isEnabled != *sp.enabled {
		verb := map[bool]string{true: "enable", false: "disable"}[*sp.enabled]
		sp.steps = append(sp.steps, sh("systemctl", verb, "--", name))
		sp.what = append(sp.what, verb+" "+name)
		sp.states["service-enabled:"+name] = verb + "d"
	}
	return nil
}

// planState plans starting, stopping, restarting or reloading the service
// from whether it runs now (or after an earlier change of a check run).
func (sp *servicePlan) planState(ctx context.Context) error {
	name, c, state := sp.name, sp.c, sp.state
	statusCmd := sp.mgr.statusCmd(name)
	running, err := exitOK(ctx, c, statusCmd)
	if err != nil {
		return err
	}
	if v, ok := overlay.PlannedState(c, "service:"+name); ok {
		// An earlier task of this check run would start or stop it.
		running = v == "started"
	} else {
		if !running {
			if err := sp.mgr.checkKnown(ctx, c, sp.mod, name); err != nil {
				return err
			}
		}
		if state != "restarted" {
			sp.reads = append(sp.reads, tasks.Precondition{Path: "service " + name, Want: runningWord(running),
				Probe: func(ctx context.Context, c transport.Conn) (string, error) {
					ok, err := exitOK(ctx, c, statusCmd)
					return runningWord(ok), err
				}})
		}
	}
	sp.result["state"] = state
	action := ""
	switch {
	case state == "started" && !running:
		action = "start"
	case state == "stopped" && running:
		action = "stop"
	case state == "restarted":
		action = "restart"
	case state == "reloaded" && !running:
		action = "start" // Ansible starts a stopped service asked to reload
	case state == "reloaded":
		action = "reload"
	}
	if action == "" {
		return nil
	}
	cmds, err := sp.mgr.actionCmds(action, name)
	if err != nil {
		return args.Errorf(sp.mod, "", "%s: %w", name, err)
	}
	sp.steps = append(sp.steps, cmds...)
	sp.what = append(sp.what, action+" "+name)
	sp.states["service:"+name] = "started"
	if action == "stop" {
		sp.states["service:"+name] = "stopped"
	}
	return nil
}

func runningWord(ok bool) string {
	if ok {
		return "running"
	}
	return "stopped"
}

func enabledWord(ok bool) string {
	if ok {
		return "enabled"
	}
	return "disabled"
}

func serviceChange(result map[string]any, steps, what []string) *tasks.Change {
	if len(steps) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: fmt.Sprintf("%v is %v", result["name"], result["state"]), Result: result}
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: "would " + strings.Join(what, ", then "),
		Result:  result,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			for _, s := range steps {
				res, err := env.Conn.Run(ctx, s, transport.RunOptions{})
				if err != nil {
					out := map[string]any{}
					if res != nil {
						out["rc"], out["stdout"], out["stderr"] = res.ExitCode, string(res.Stdout), string(res.Stderr)
					}
					var ee *transport.ExitError
					if errors.As(err, &ee) {
						return out, &tasks.Failed{Msg: fmt.Sprintf("host %s: %s failed (exit %d): %s", env.Conn.Host(), s, ee.Code, strings.TrimSpace(ee.Stderr)), Result: out}
					}
					return out, fmt.Errorf("host %s: %s: %w", env.Conn.Host(), s, err)
				}
			}
			return nil, nil
		},
	}
}
