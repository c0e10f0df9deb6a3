package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

var reloadParams = append([]string{"changed", "stage", "pg_allow_restart", "pg_tls_dir", "pg_ssl_min_protocol_version", "pg_ssl_ciphers",
	"pg_restart_command", "pg_restart_log", "pg_ready_timeout", "ansible_become_password", "ansible_become_pass"}, commonParams...)

// planReload decides reload or restart from what this run changes: ssl
// settings whose running value differs from the wanted one (their
// pg_settings.context says sighup or postmaster), pending_restart, files
// journaled by this run, or changed: true from the playbook. Apply
// validates the files on disk first, then reloads or restarts and waits.
func planReload(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_reload", env, raw, reloadParams...)
	if err != nil {
		return nil, err
	}
	changedArg := p.Bool("changed", false)
	stage := p.Str("stage", "tls")
	timeout := time.Duration(p.Int("pg_ready_timeout", 60)) * time.Second
	if p.Err() != nil {
		return nil, p.Err()
	}
	allowRestart := p.Bool("pg_allow_restart", false)
	if p.Err() != nil {
		return nil, p.Err()
	}
	var f *pg.Facts
	var reasons []string
	restart := false
	note := ""
	switch stage {
	case "tls":
		if f, err = hostFacts(ctx, env, p, false, pg.PartSettings); err != nil {
			return nil, err
		}
		if reasons, restart, err = reloadReasons(ctx, env, p, f, changedArg); err != nil {
			return nil, err
		}
		if other := otherPending(f); len(other) > 0 && allowRestart {
			restart = true
			reasons = append(reasons, strings.Join(other, ", ")+" pending a restart (pg_allow_restart)")
		} else if len(other) > 0 {
			note = strings.Join(other, ", ") + " pending a restart, not needed for TLS: left pending (pg_allow_restart: true restarts)"
		}
	case "hba":
		// The second reload of the job: only pg_hba.conf's change counts
		// (the TLS reload before it applied everything else).
		if f, err = hostFacts(ctx, env, p, false); err != nil {
			return nil, err
		}
		if changedArg {
			reasons = []string{"pg_hba.conf changed"}
		}
	default:
		return nil, args.Errorf("pg_reload", "stage", "want tls or hba, got %q", stage)
	}
	if len(reasons) == 0 {
		s := withNote("nothing to reload", note)
		return &tasks.Change{Action: tasks.None, Summary: s, Result: factsResult(map[string]any{"action": "none", tasks.OutcomeKey: s}, f)}, nil
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
		Summary: withNote("would "+verb+": "+strings.Join(reasons, "; "), note),
		Result:  factsResult(map[string]any{"action": strings.Fields(verb)[0], "reasons": reasons}, f, pg.PartSettings),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			res, err := applyReload(ctx, env, p, f, restart, rp, timeout)
			if err != nil {
				return res, err
			}
			if o, _ := res[tasks.OutcomeKey].(string); note != "" {
				res[tasks.OutcomeKey] = withNote(o, note)
			}
			return factsResult(res, f, pg.PartSettings), nil
		},
	}, nil
}

// otherPending lists the settings other than ssl ones that wait for a
// restart: normal on a live cluster, and no reason to fail the TLS job.
func otherPending(f *pg.Facts) []string {
	var out []string
	for _, n := range f.PendingRestart {
		if !strings.HasPrefix(n, "ssl") {
			out = append(out, n)
		}
	}
	return out
}

func withNote(s, note string) string {
	if note == "" {
		return s
	}
	return s + "; " + note
}

// reloadReasons says why the TLS stage reloads (or restarts): wanted ssl
// settings the server does not run yet (a postmaster-context one needs a
// restart), pending restarts, changed: true from the playbook, or files
// journaled by this run (an interrupted run left them edited).
func reloadReasons(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts, changedArg bool) (reasons []string, restart bool, err error) {
	for _, s := range wantedSettings(p, f) {
		st, ok := f.Setting(s.Name)
		if !ok || sameSetting(f, s.Name, s.Value, st.Setting) {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("%s: %s -> %s (%s)", s.Name, st.Setting, s.Value, st.Context))
		restart = restart || st.Context == "postmaster"
	}
	for _, st := range f.Settings {
		if st.PendingRestart {
			restart = true
			reasons = append(reasons, st.Name+" is pending a restart")
		}
	}
	if changedArg {
		return append(reasons, "earlier tasks changed TLS files"), restart, nil
	}
	// Files journaled by this run (the facts' copy unless a module of
	// this run has written the journal since).
	var j *pg.Journal
	if f.IsStale(pg.PartJournal) {
		if j, err = pg.ReadJournal(ctx, env.Conn, f.DataDirectory); err != nil {
			return nil, false, err
		}
	} else if len(f.Journal) > 0 {
		if j, err = pg.DecodeJournal(f.Journal); err != nil {
			return nil, false, fmt.Errorf("host %s: %s: %w", env.Host, pg.JournalPath(f.DataDirectory), err)
		}
	}
	if j != nil && len(j.Entries) > 0 {
		reasons = append(reasons, fmt.Sprintf("%d file(s) changed in this run", len(j.Entries)))
	}
	return reasons, restart, nil
}

func restartPlan(ctx context.Context, c transport.Conn, p *args.Args, f *pg.Facts) (*pg.RestartPlan, error) {
	probe := &pg.RestartProbe{}
	if p.Str("pg_restart_command", "") == "" {
		var err error
		if probe, err = pg.ProbeRestart(ctx, c, f.PostmasterPID); err != nil {
			return nil, err
		}
	}
	rp, err := pg.DecideRestart(probe, f, p.Str("pg_restart_command", ""), p.Str("pg_restart_log", ""))
	if err != nil {
		return nil, err
	}
	return &rp, nil
}

// validate judges the configuration and hba files as they are on disk
// (d, read in the reload's own psql session) and the key file (keyWhy,
// keyFileProblem's verdict), and fails naming file:line for the first
// error.
func validate(env *tasks.Env, keyWhy string, d *pg.DiskState) error {
	var errs []string
	if keyWhy != "" {
		errs = append(errs, keyWhy)
	}
	errs = append(errs, diskErrors(d)...)
	if len(errs) > 0 {
		return &tasks.Failed{Msg: fmt.Sprintf("host %s: validation failed, not reloading: %s", env.Host, strings.Join(errs, "; ")),
			Result: map[string]any{"validation_errors": errs}}
	}
	return nil
}

// diskErrors are the errors in what pg_file_settings and
// pg_hba_file_rules say of the files on disk, as file:line: message.
func diskErrors(d *pg.DiskState) []string {
	var errs []string
	for _, fs := range d.FileSettings {
		if fs.FileError() {
			errs = append(errs, fmt.Sprintf("%s:%d: %s", fs.SourceFile, fs.SourceLine, fs.Error))
		}
	}
	// pg_hba_file_rules judges hostssl lines by the running ssl setting;
	// a reload reads postgresql.conf first, so with ssl = on on disk that
	// complaint does not apply.
	sslOnDisk := false
	for _, fs := range d.FileSettings {
		if fs.Name == "ssl" && fs.Applied {
			sslOnDisk, _ = boolean.Parse(fs.Setting)
		}
	}
	for _, h := range d.HBAErrors {
		if sslOnDisk && strings.Contains(h.Error, "because SSL is disabled") {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s:%d: %s", h.File, h.Line, h.Error))
	}
	return errs
}

// reloadPoll is how often a reload's progress is read again while the
// postmaster has not handled it or the new values do not show yet.
const reloadPoll = 20 * time.Millisecond

// reloadWait is how long a reload may take to show.
const reloadWait = 10 * time.Second

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

// reloadCheck says what reloadConfirmed waits for and how it names the
// configuration in a failure.
type reloadCheck struct {
	// NotLive, when set, names the wanted values the running settings
	// do not show yet ("" once they all show).
	NotLive func([]pg.Setting) string
	// What qualifies "configuration" in a failure: "new TLS", "restored".
	What string
}

// reloadConfirmed reloads the server and proves that the reload took,
// because pg_reload_conf() returns true whatever the postmaster makes of
// the files: it waits (up to reloadWait) until the postmaster has handled
// the reload and check.NotLive is satisfied, and fails with the server
// log's own lines when they say a part was not applied (SSL files,
// pg_hba.conf, a setting): pg_settings shows new values then, while the
// old SSL context stays live. A log that cannot be found or read is no
// failure: the result says so (Log.Checked false) and the certificate
// fingerprint in pg_tls_verify stays the proof. pg_reload calls it; so
// should pg_tls_rollback after restoring files (What: "restored").
func reloadConfirmed(ctx context.Context, env *tasks.Env, t pg.Target, f *pg.Facts, check reloadCheck) (*pg.ReloadResult, error) {
	r, err := pg.Reload(ctx, env.Conn, t, pg.ReloadOptionsFor(f))
	if err != nil {
		return nil, err
	}
	return awaitReload(ctx, env, t, r, check)
}

// awaitReload is reloadConfirmed after the signal: r is the first look.
func awaitReload(ctx context.Context, env *tasks.Env, t pg.Target, r *pg.ReloadResult, check reloadCheck) (*pg.ReloadResult, error) {
	deadline := time.Now().Add(reloadWait)
	for {
		missing := ""
		if r.Processed {
			if len(r.Log.Failures) > 0 {
				quoted := make([]string, len(r.Log.Failures))
				for i, l := range r.Log.Failures {
					quoted[i] = strconv.Quote(l)
				}
				return r, &tasks.Failed{Msg: fmt.Sprintf("host %s: the server did not apply the %s configuration: %s", env.Host, check.What, strings.Join(quoted, ", ")),
					Result: logResult(map[string]any{"action": "reload"}, r)}
			}
			if check.NotLive == nil {
				return r, nil
			}
			if missing = check.NotLive(r.Settings); missing == "" {
				return r, nil
			}
		}
		if !time.Now().Before(deadline) {
			// Fail (the rescue rolls the host back) rather than report a
			// reload that did not happen.
			msg := fmt.Sprintf("host %s: the postmaster did not handle the reload within %s (new sessions' pg_conf_load_time() did not advance)", env.Host, reloadWait)
			if r.Processed {
				msg = fmt.Sprintf("host %s: after the reload pg_settings still shows %s (waited %s); the server did not apply the %s configuration, see its log", env.Host, missing, reloadWait, check.What)
			}
			return r, &tasks.Failed{Msg: msg, Result: logResult(map[string]any{"action": "reload"}, r)}
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(reloadPoll):
		}
		var err error
		if r, err = pg.ReloadProgress(ctx, env.Conn, t, r); err != nil {
			return nil, err
		}
	}
}

// logResult adds to res what the server log said about reload r, and the
// task's one-line outcome, which says when the log could not be checked.
func logResult(res map[string]any, r *pg.ReloadResult) map[string]any {
	if r == nil || !r.Processed {
		return res
	}
	res["log_checked"], res["log_file"] = r.Log.Checked, r.LogFile
	if len(r.Log.Failures) > 0 {
		res["log_lines"] = r.Log.Failures
	}
	if r.Log.Checked {
		res[tasks.OutcomeKey] = "reloaded; the server log shows it applied"
		return res
	}
	res["log_not_checked"] = r.Log.Why
	res[tasks.OutcomeKey] = "reloaded; server log not checked (" + r.Log.Why + "); pg_tls_verify's certificate fingerprint is the proof"
	return res
}

func applyReload(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts, restart bool, rp *pg.RestartPlan, timeout time.Duration) (map[string]any, error) {
	t := targetFor(p, f)
	keyFile := filesFor(p, f).Key
	r, err := validatedReload(ctx, env, t, f, keyFile, restart)
	if err != nil {
		return nil, err
	}
	if restart {
		if err := doRestart(ctx, env, p, t, rp, timeout); err != nil {
			return nil, err
		}
		return map[string]any{"action": "restart", "method": rp.Method}, nil
	}
	// Prove the reload took, then look for settings that need a restart.
	want := wantedSettings(p, f)
	check := reloadCheck{What: "new TLS", NotLive: func(s []pg.Setting) string { return notLive(f, want, s) }}
	if r == nil {
		r, err = reloadConfirmed(ctx, env, t, f, check)
	} else {
		r, err = awaitReload(ctx, env, t, r, check)
	}
	if err != nil {
		return nil, err
	}
	res := logResult(map[string]any{"action": "reload"}, r)
	var pending []string
	for _, st := range r.Settings {
		if st.PendingRestart {
			pending = append(pending, st.Name)
		}
	}
	if len(pending) == 0 {
		return res, nil
	}
	if rp == nil {
		if rp, err = restartPlan(ctx, env.Conn, p, f); err != nil {
			return nil, fmt.Errorf("host %s: %s need a restart and no restart method was found (%w); set pg_restart_command", env.Host, strings.Join(pending, ", "), err)
		}
	}
	if err := doRestart(ctx, env, p, t, rp, timeout); err != nil {
		return nil, err
	}
	res["action"], res["method"], res["pending_restart"] = "restart", rp.Method, pending
	res[tasks.OutcomeKey] = "restarted (" + rp.Method + ") for " + strings.Join(pending, ", ")
	return res, nil
}

// validatedReload validates the files on disk and the key, and, unless
// restart, reloads in the same psql session (pg.ValidateReload): the
// session reloads only when its own verdict on the files finds no error,
// and that verdict is at least as strict as validate's; a key problem
// (read before, over the file protocol) keeps it from reloading at all.
// It returns the reload's first look, or nil when the session did not
// reload (restart, or a server where the caller must reload itself).
func validatedReload(ctx context.Context, env *tasks.Env, t pg.Target, f *pg.Facts, keyFile string, restart bool) (*pg.ReloadResult, error) {
	// The server refuses a key with group or world access, or owned by
	// someone else ("private key file ... has group or world access"),
	// and a reload then keeps the old TLS setup silently.
	keyWhy := keyFileProblem(ctx, env, f, keyFile)
	o := pg.ReloadOptionsFor(f)
	o.NoReload = restart || keyWhy != ""
	d, r, err := pg.ValidateReload(ctx, env.Conn, t, o)
	if err != nil {
		return nil, err
	}
	if err := validate(env, keyWhy, d); err != nil {
		// Only reached with r == nil: the session's verdict is stricter.
		return nil, err
	}
	return r, nil
}

// doRestart runs the restart command (as root for systemctl and
// pg_ctlcluster) and waits until the server accepts connections.
func doRestart(ctx context.Context, env *tasks.Env, p *args.Args, t pg.Target, rp *pg.RestartPlan, timeout time.Duration) error {
	c := env.Conn
	if rp.AsRoot {
		c = c.Become(transport.Become{Enabled: true, Password: p.Str("ansible_become_password", p.Str("ansible_become_pass", ""))})
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
