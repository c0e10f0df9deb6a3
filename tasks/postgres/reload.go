package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sshplay/sshplay/pg"
	pgconf "github.com/sshplay/sshplay/pg/conf"
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
	f, err := hostFacts(ctx, env, p, false, pg.PartSettings)
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
	if changedArg {
		reasons = append(reasons, "earlier tasks changed TLS files")
	} else {
		// Files journaled by this run (the facts' copy unless a module
		// of this run has written the journal since).
		var j *pg.Journal
		if f.IsStale(pg.PartJournal) {
			if j, err = pg.ReadJournal(ctx, env.Conn, f.DataDirectory); err != nil {
				return nil, err
			}
		} else if len(f.Journal) > 0 {
			if j, err = pg.DecodeJournal(f.Journal); err != nil {
				return nil, fmt.Errorf("host %s: %s: %w", env.Host, pg.JournalPath(f.DataDirectory), err)
			}
		}
		if j != nil && len(j.Entries) > 0 {
			reasons = append(reasons, fmt.Sprintf("%d file(s) changed in this run", len(j.Entries)))
		}
	}
	if len(reasons) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: "nothing to reload", Result: factsResult(map[string]any{"action": "none"}, f)}, nil
	}
	if f.ServerVersionNum < 100000 {
		restart = true
		reasons = append(reasons, "PostgreSQL before 10 reads TLS files only at start")
	}
	verb := "reload"
	var rp *pg.RestartPlan
	if restart {
		// The restart method is only probed when a restart is planned; a
		// reload that leaves pending_restart probes it then.
		if rp, err = restartPlan(ctx, env.Conn, p, f); err != nil {
			return nil, fmt.Errorf("host %s: %w", env.Host, err)
		}
		verb = "restart (" + rp.Method + ")"
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: "would " + verb + ": " + strings.Join(reasons, "; "),
		Result:  factsResult(map[string]any{"action": strings.Fields(verb)[0], "reasons": reasons}, f, pg.PartSettings),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			res, err := applyReload(ctx, env, p, f, restart, rp, timeout)
			if err != nil {
				return res, err
			}
			return factsResult(res, f, pg.PartSettings), nil
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
// (one query) and fails naming file:line for the first error.
func validate(ctx context.Context, env *tasks.Env, t pg.Target, f *pg.Facts, keyFile string) error {
	d, err := pg.ReadDiskState(ctx, env.Conn, t)
	if err != nil {
		return err
	}
	var errs []string
	// The server refuses a key with group or world access, or owned by
	// someone else ("private key file ... has group or world access"),
	// and a reload then keeps the old TLS setup silently.
	if why := keyFileProblem(ctx, env, f, keyFile); why != "" {
		errs = append(errs, why)
	}
	for _, fs := range d.FileSettings {
		if fs.Error != "" {
			errs = append(errs, fmt.Sprintf("%s:%d: %s", fs.SourceFile, fs.SourceLine, fs.Error))
		}
	}
	// pg_hba_file_rules judges hostssl lines by the running ssl setting;
	// a reload reads postgresql.conf first, so with ssl = on on disk that
	// complaint does not apply.
	sslOnDisk := false
	for _, fs := range d.FileSettings {
		if fs.Name == "ssl" && fs.Applied {
			sslOnDisk, _ = toBool(fs.Setting)
		}
	}
	for _, h := range d.HBAErrors {
		if sslOnDisk && strings.Contains(h.Error, "because SSL is disabled") {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s:%d: %s", h.File, h.Line, h.Error))
	}
	if len(errs) > 0 {
		return &tasks.Failed{Msg: fmt.Sprintf("host %s: validation failed, not reloading: %s", env.Host, strings.Join(errs, "; ")),
			Result: map[string]any{"validation_errors": errs}}
	}
	return nil
}

// reloadPoll is how often the running settings are read after a reload
// until the new values show (the postmaster applies them asynchronously).
const reloadPoll = 20 * time.Millisecond

// reloadWait is how long the new values may take to show after a reload.
var reloadWait = 10 * time.Second

// notLive lists the wanted settings the running server does not show yet:
// "ssl_min_protocol_version = TLSv1.2 (want TLSv1.3)".
func notLive(f *pg.Facts, want []pgconf.Setting, settings []pg.Setting) string {
	nf := *f
	nf.Settings = settings
	var out []string
	for _, s := range want {
		if st, ok := nf.Setting(s.Name); ok && !sameSetting(&nf, s.Name, s.Value, st.Setting) && !st.PendingRestart {
			out = append(out, fmt.Sprintf("%s = %s (want %s)", s.Name, st.Setting, s.Value))
		}
	}
	return strings.Join(out, ", ")
}

func applyReload(ctx context.Context, env *tasks.Env, p *params, f *pg.Facts, restart bool, rp *pg.RestartPlan, timeout time.Duration) (map[string]any, error) {
	t := targetFor(p, f)
	if err := validate(ctx, env, t, f, filesFor(p, f).Key); err != nil {
		return nil, err
	}
	if restart {
		if err := doRestart(ctx, env, p, t, rp, timeout); err != nil {
			return nil, err
		}
		return map[string]any{"action": "restart", "method": rp.Method}, nil
	}
	// Reload, wait a moment in the same session, read the settings; poll
	// until the wanted values show, then look for settings that need a
	// restart.
	want := wantedSettings(p, f)
	live := func(settings []pg.Setting) bool {
		nf := *f
		nf.Settings = settings
		for _, s := range want {
			if st, ok := nf.Setting(s.Name); ok && !sameSetting(&nf, s.Name, s.Value, st.Setting) && !st.PendingRestart {
				return false
			}
		}
		return true
	}
	settings, err := pg.Reload(ctx, env.Conn, t, "0.02")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(reloadWait)
	for !live(settings) {
		if !time.Now().Before(deadline) {
			// The server did not take the new values: fail (the rescue
			// rolls the host back) rather than report a reload that did
			// not happen.
			return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: after the reload pg_settings still shows %s (waited %s); the server did not apply the new configuration, see its log",
				env.Host, notLive(f, want, settings), reloadWait)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(reloadPoll):
		}
		if settings, err = pg.ReadSettings(ctx, env.Conn, t); err != nil {
			return nil, err
		}
	}
	var pending []string
	for _, st := range settings {
		if st.PendingRestart {
			pending = append(pending, st.Name)
		}
	}
	if len(pending) == 0 {
		return map[string]any{"action": "reload"}, nil
	}
	if rp == nil {
		if rp, err = restartPlan(ctx, env.Conn, p, f); err != nil {
			return nil, fmt.Errorf("host %s: %s need a restart and no restart method was found (%w); set pg_restart_command", env.Host, strings.Join(pending, ", "), err)
		}
	}
	if err := doRestart(ctx, env, p, t, rp, timeout); err != nil {
		return nil, err
	}
	return map[string]any{"action": "restart", "method": rp.Method, "pending_restart": pending}, nil
}

// doRestart runs the restart command (as root for systemctl and
// pg_ctlcluster) and waits until the server accepts connections.
func doRestart(ctx context.Context, env *tasks.Env, p *params, t pg.Target, rp *pg.RestartPlan, timeout time.Duration) error {
	c := env.Conn
	if rp.AsRoot {
		c = c.Become(transport.Become{Enabled: true, Password: p.str("ansible_become_password", p.str("ansible_become_pass", ""))})
	}
	if _, err := c.Run(ctx, rp.Command, transport.RunOptions{}); err != nil {
		return fmt.Errorf("host %s: restart (%s): %w", env.Host, rp.Method, err)
	}
	return waitReady(ctx, env.Conn, t, timeout)
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
		case <-time.After(100 * time.Millisecond):
		}
	}
}
