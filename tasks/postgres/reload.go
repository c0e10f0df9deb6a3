package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var reloadParams = append([]string{"changed", "pg_tls_dir", "pg_ssl_min_protocol_version", "pg_ssl_ciphers",
	"pg_restart_command", "pg_restart_log", "pg_ready_timeout", "ansible_become_password", "ansible_become_pass"}, commonParams...)

// planReload decides reload or restart from what this run changes: ssl
// settings whose running value differs from the wanted one (their
// pg_settings.context says sighup or postmaster), pending_restart, files
// journaled by this run, or changed: true from the playbook. Apply
// validates the files on disk first, then reloads or restarts and waits.
func planReload(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_reload", env, args, reloadParams...)
	if err != nil {
		return nil, err
	}
	changedArg := p.boolean("changed", false)
	timeout := time.Duration(p.integer("pg_ready_timeout", 60)) * time.Second
	if p.err != nil {
		return nil, p.err
	}
	f, err := gather(ctx, env, p)
	if err != nil {
		return nil, err
	}
	var reasons []string
	restart := false
	want := wantedSettings(p, f)
	for _, s := range want {
		st, ok := f.Setting(s.Name)
		if !ok || sameSetting(f, s.Name, s.Value, st.Setting) {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("%s: %s -> %s (%s)", s.Name, st.Setting, s.Value, st.Context))
		if st.Context == "postmaster" {
			restart = true
		}
	}
	for _, st := range f.Settings {
		if st.PendingRestart {
			restart = true
			reasons = append(reasons, st.Name+" is pending a restart")
		}
	}
	j, err := pg.ReadJournal(ctx, env.Conn, f.DataDirectory)
	if err != nil {
		return nil, err
	}
	if j != nil && len(j.Entries) > 0 {
		reasons = append(reasons, fmt.Sprintf("%d file(s) changed in this run", len(j.Entries)))
	} else if changedArg {
		reasons = append(reasons, "earlier tasks changed TLS files")
	}
	if len(reasons) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: "nothing to reload", Result: map[string]any{"action": "none"}}, nil
	}
	if f.ServerVersionNum < 100000 {
		restart = true
		reasons = append(reasons, "PostgreSQL before 10 reads TLS files only at start")
	}
	rp, err := restartPlan(ctx, env.Conn, p, f)
	if err != nil {
		if restart {
			return nil, fmt.Errorf("host %s: %w", env.Host, err)
		}
		rp = nil // a reload does not need it; a pending_restart later fails clearly
	}
	verb := "reload"
	if restart {
		verb = "restart (" + rp.Method + ")"
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: "would " + verb + ": " + strings.Join(reasons, "; "),
		Result:  map[string]any{"action": strings.Fields(verb)[0], "reasons": reasons},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			return applyReload(ctx, env, p, f, restart, rp, timeout)
		},
	}, nil
}

func restartPlan(ctx context.Context, c transport.Conn, p *params, f *pg.Facts) (*pg.RestartPlan, error) {
	probe := &pg.RestartProbe{}
	if p.str("pg_restart_command", "") == "" {
		var err error
		if probe, err = pg.ProbeRestart(ctx, c, f.PostmasterPID); err != nil {
			return nil, err
		}
	}
	rp, err := pg.DecideRestart(probe, f, p.str("pg_restart_command", ""), p.str("pg_restart_log", ""))
	if err != nil {
		return nil, err
	}
	return &rp, nil
}

// validate re-reads the configuration and hba files as they are on disk now
// and fails naming file:line for the first error.
func validate(ctx context.Context, env *tasks.Env, p *params) (*pg.Facts, error) {
	f, err := gather(ctx, env, p)
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, fs := range f.FileSettings {
		if fs.Error != "" {
			errs = append(errs, fmt.Sprintf("%s:%d: %s", fs.SourceFile, fs.SourceLine, fs.Error))
		}
	}
	// pg_hba_file_rules judges hostssl lines by the running ssl setting;
	// a reload reads postgresql.conf first, so with ssl = on on disk that
	// complaint does not apply.
	sslOnDisk := false
	for _, fs := range f.FileSettings {
		if fs.Name == "ssl" && fs.Applied {
			sslOnDisk, _ = toBool(fs.Setting)
		}
	}
	for _, h := range f.HBAErrors {
		if sslOnDisk && strings.Contains(h.Error, "because SSL is disabled") {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s:%d: %s", h.File, h.Line, h.Error))
	}
	if len(errs) > 0 {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: validation failed, not reloading: %s", env.Host, strings.Join(errs, "; ")),
			Result: map[string]any{"validation_errors": errs}}
	}
	return f, nil
}

func applyReload(ctx context.Context, env *tasks.Env, p *params, f *pg.Facts, restart bool, rp *pg.RestartPlan, timeout time.Duration) (map[string]any, error) {
	if _, err := validate(ctx, env, p); err != nil {
		return nil, err
	}
	if restart {
		if err := doRestart(ctx, env, p, rp, timeout); err != nil {
			return nil, err
		}
		return map[string]any{"action": "restart", "method": rp.Method}, nil
	}
	if err := pg.Exec(ctx, env.Conn, target(p), "SELECT pg_reload_conf();"); err != nil {
		return nil, err
	}
	// The postmaster applies the files shortly after the signal: poll until
	// the wanted values show, then look for settings that need a restart.
	want := wantedSettings(p, f)
	deadline := time.Now().Add(10 * time.Second)
	var nf *pg.Facts
	for {
		var err error
		nf, err = pg.GatherFacts(ctx, env.Conn, target(p))
		if err != nil {
			return nil, err
		}
		done := true
		for _, s := range want {
			if st, ok := nf.Setting(s.Name); ok && !sameSetting(nf, s.Name, s.Value, st.Setting) && !st.PendingRestart {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	var pending []string
	for _, st := range nf.Settings {
		if st.PendingRestart {
			pending = append(pending, st.Name)
		}
	}
	if len(pending) == 0 {
		return map[string]any{"action": "reload"}, nil
	}
	if rp == nil {
		return nil, fmt.Errorf("host %s: %s need a restart and no restart method was found; set pg_restart_command", env.Host, strings.Join(pending, ", "))
	}
	if err := doRestart(ctx, env, p, rp, timeout); err != nil {
		return nil, err
	}
	return map[string]any{"action": "restart", "method": rp.Method, "pending_restart": pending}, nil
}

// doRestart runs the restart command (as root for systemctl and
// pg_ctlcluster) and waits until the server accepts connections.
func doRestart(ctx context.Context, env *tasks.Env, p *params, rp *pg.RestartPlan, timeout time.Duration) error {
	c := env.Conn
	if rp.AsRoot {
		c = c.Become(transport.Become{Enabled: true, Password: p.str("ansible_become_password", p.str("ansible_become_pass", ""))})
	}
	if _, err := c.Run(ctx, rp.Command, transport.RunOptions{}); err != nil {
		return fmt.Errorf("host %s: restart (%s): %w", env.Host, rp.Method, err)
	}
	return waitReady(ctx, env.Conn, target(p), timeout)
}

// waitReady polls `SELECT 1` through the socket until it answers.
func waitReady(ctx context.Context, c transport.Conn, t pg.Target, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := pg.Query(ctx, c, t, "SELECT 1;")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s: server did not accept connections within %s: %w", c.Host(), timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
