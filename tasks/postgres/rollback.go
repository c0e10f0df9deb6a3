package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var rollbackParams = append([]string{"reason", "fail", "pg_restart_command", "pg_restart_log", "pg_ready_timeout",
	"ansible_become_password", "ansible_become_pass"}, commonParams...)

// clusterFacts returns the facts registered by pg_facts earlier in the run
// (the server may be down by now), else gathers them.
func clusterFacts(ctx context.Context, env *tasks.Env, p *args.Args) (*pg.Facts, error) {
	if f := registered(env); f != nil {
		return f, nil
	}
	return gather(ctx, env, p)
}

// planRollback restores every file this run changed on the host (from the
// on-host journal), reloads or restarts, proves the server accepts
// connections, and then fails the host with "failed (rolled back)".
func planRollback(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_rollback", env, raw, rollbackParams...)
	if err != nil {
		return nil, err
	}
	fail := p.Bool("fail", true)
	reason := p.Str("reason", failedMsg(env.Vars))
	timeout := time.Duration(p.Int("pg_ready_timeout", 60)) * time.Second
	if p.Err() != nil {
		return nil, p.Err()
	}
	f, err := clusterFacts(ctx, env, p)
	if err != nil {
		return nil, err
	}
	j, err := pg.ReadJournal(ctx, env.Conn, f.DataDirectory)
	if err != nil {
		return nil, err
	}
	var files []string
	if j != nil {
		for _, e := range j.Entries {
			files = append(files, e.Path)
		}
	}
	summary := "would roll back: nothing to restore; would confirm the server accepts connections"
	if len(files) > 0 {
		summary = "would roll back: restore " + strings.Join(files, ", ") + " and reload"
	}
	summary += " (cause: " + reason + ")"
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: summary,
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			done, rbErr := pg.Rollback(ctx, env.Conn, f.DataDirectory)
			res := map[string]any{"rolled_back": rbErr == nil, "restored": done}
			if rbErr != nil {
				return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: %s, and rollback failed: %v (cause: %s)", env.Host, leftAt(env.Vars), rbErr, reason), Result: res}
			}
			t := targetFor(p, f)
			if err := reloadRestored(ctx, env, p, f, t, res); err != nil {
				return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: files restored but %v", env.Host, err), Result: res}
			}
			if err := waitReady(ctx, env.Conn, t, timeout); err != nil {
				return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: files restored but %v", env.Host, err), Result: res}
			}
			res["accepts_connections"] = true
			why := withServerStarted(reason, res)
			if fail {
				// A failed result carries no facts (nothing runs after it
				// on this host, and results of failures are printed).
				return res, &tasks.Failed{Msg: "failed (rolled back): " + why, Result: res}
			}
			res["msg"] = "rolled back: " + why
			// Everything this run changed is undone: read it all again.
			return factsResult(res, f, pg.PartTLS, pg.PartJournal, pg.PartConfig, pg.PartHBA, pg.PartSettings), nil
		},
	}, nil
}

// reloadRestored reloads the restored files and proves the reload took; a
// server that is down (a failed restart left it so) is started again. A
// fault the restored files carried from before the run is reported in res
// (reload_problems), not as a failure: the server keeps what it had.
func reloadRestored(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts, t pg.Target, res map[string]any) error {
	r, err := reloadConfirmed(ctx, env, t, f, reloadCheck{What: "restored"})
	var pe *pg.PsqlError
	switch {
	case err == nil:
		return nil
	case r != nil && len(r.Log.Failures) > 0:
		res["reload_problems"] = r.Log.Failures
		return nil
	case r == nil && errors.As(err, &pe):
	default:
		return fmt.Errorf("the reload failed: %w", err)
	}
	rp, err := pg.DecideRestart(mustProbe(ctx, env.Conn, f), f, p.Str("pg_restart_command", ""), p.Str("pg_restart_log", ""))
	if err != nil {
		return fmt.Errorf("the server is down and cannot be restarted: %w", err)
	}
	c := env.Conn
	if rp.AsRoot {
		c = asRoot(env, p)
	}
	out, err := c.Run(ctx, rp.Command, transport.RunOptions{})
	var stdout []byte
	if out != nil {
		stdout = out.Stdout
	}
	if err != nil {
		return fmt.Errorf("the server was down and starting it again with %s failed: %w", rp.Describe(stdout), err)
	}
	// Starting a stopped server is a step of its own: say so, and where
	// its log went.
	res["server_started"] = "the server was down; started it again with " + rp.Describe(stdout)
	return nil
}

// withServerStarted adds to msg that the rollback started a stopped
// server, when it did (res["server_started"]).
func withServerStarted(msg string, res map[string]any) string {
	if s, ok := res["server_started"].(string); ok {
		return msg + "; " + s
	}
	return msg
}

// leftAt says how the run ended on the host when its rollback cannot
// finish: "interrupted (left at step X)" after an interrupt, else
// "failed".
func leftAt(vars map[string]any) string {
	r, _ := vars["ansible_failed_result"].(map[string]any)
	if r == nil || r["interrupted"] != true {
		return "failed"
	}
	step := "?"
	if t, ok := vars["ansible_failed_task"].(map[string]any); ok {
		step = fmt.Sprint(t["name"])
	}
	return fmt.Sprintf("interrupted (left at step %q)", step)
}

// failedMsg is the message of the task that failed (ansible_failed_result
// in a rescue section), or a generic phrase.
func failedMsg(vars map[string]any) string {
	if r, ok := vars["ansible_failed_result"].(map[string]any); ok {
		if m, ok := r["msg"].(string); ok && m != "" {
			return m
		}
	}
	return "a task failed"
}

func mustProbe(ctx context.Context, c transport.Conn, f *pg.Facts) *pg.RestartProbe {
	probe, err := pg.ProbeRestart(ctx, c, f.PostmasterPID)
	if err != nil {
		return &pg.RestartProbe{}
	}
	return probe
}

var commitParams = append([]string{"pg_tls_dir", "keep_csr"}, commonParams...)

// planCommit ends a successful run: the journal goes, the backups of
// earlier runs next to the files this run changed are deleted, and so is
// whatever the run left inside the data directory that a pg_basebackup
// clone must not carry: this run's backups there and the CSR (unless
// keep_csr: an external CA has not answered yet). Backups outside the data
// directory stay until the next successful run that changes something.
func planCommit(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_commit", env, raw, commitParams...)
	if err != nil {
		return nil, err
	}
	keepCSR := p.Bool("keep_csr", false)
	if p.Err() != nil {
		return nil, p.Err()
	}
	f, err := clusterFacts(ctx, env, p)
	if err != nil {
		return nil, err
	}
	var doomed []string
	if csr := filesFor(p, f).CSR; !keepCSR && insideDir(f.DataDirectory, csr) && csrLeft(ctx, env.Conn, p, f, csr) {
		doomed = append(doomed, csr)
	}
	if !f.IsStale(pg.PartJournal) && len(f.Journal) == 0 && len(doomed) == 0 {
		// No journal when the facts were read, and no module of this run
		// has written one since: nothing to commit, no round trip.
		return &tasks.Change{Action: tasks.None, Summary: "nothing to commit"}, nil
	}
	j, err := pg.ReadJournal(ctx, env.Conn, f.DataDirectory)
	if err != nil {
		return nil, err
	}
	jp := pg.JournalPath(f.DataDirectory)
	var summary []string
	switch {
	case j != nil:
		old, err := oldBackups(ctx, env, f, j)
		if err != nil {
			return nil, err
		}
		doomed = append(doomed, old...)
		for _, e := range j.Entries {
			if e.Backup != "" && insideDir(f.DataDirectory, e.Backup) {
				doomed = append(doomed, e.Backup)
			}
		}
		summary = append(summary, "would clear the journal of run "+j.Run)
	case f.IsStale(pg.PartJournal):
		// A check run: the journal and backups are planned by earlier
		// tasks, not written.
		summary = append(summary, "would clear this run's journal and delete its backups inside "+f.DataDirectory)
	}
	if len(doomed) > 0 {
		summary = append(summary, "delete "+strings.Join(doomed, ", "))
	}
	if len(summary) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: "nothing to commit"}, nil
	}
	run := ""
	if j != nil {
		run = j.Run
	}
	return &tasks.Change{
		Action:  tasks.Delete,
		Summary: strings.Join(summary, "; "),
		Writes:  []overlay.PlannedFile{{Path: jp, Removed: true}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			// The backups and the CSR go together (one round trip), the
			// journal only after them: a failure leaves it to say what
			// this run changed.
			if err := removeAll(ctx, env, doomed); err != nil {
				return nil, err
			}
			if err := removeAll(ctx, env, []string{jp}); err != nil {
				return nil, err
			}
			nf := f.MarkStale(pg.PartTLS)
			nf.Journal = nil
			nf.Stale = slices.DeleteFunc(nf.Stale, func(s string) bool { return s == pg.PartJournal })
			return factsResult(map[string]any{"run": run, "deleted": doomed,
				tasks.OutcomeKey: fmt.Sprintf("committed; %d file(s) deleted", len(doomed))}, nf), nil
		},
	}, nil
}

// removeAll deletes paths on the host, all requests in flight together;
// a missing path is not an error. It returns the first failure in order.
func removeAll(ctx context.Context, env *tasks.Env, paths []string) error {
	errs := inParallel(len(paths), func(i int) error {
		if err := env.Conn.Remove(ctx, paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("host %s: delete %s: %w", env.Host, paths[i], err)
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// oldBackups are the backups of earlier runs next to the files run j
// changed (from the facts' listing when it covers those directories).
func oldBackups(ctx context.Context, env *tasks.Env, f *pg.Facts, j *pg.Journal) ([]string, error) {
	var dirs []string
	for _, e := range j.Entries {
		dirs = append(dirs, path.Dir(e.Path))
	}
	if old, listed := f.BackupsFromFacts(dirs, j.Run); listed {
		return old, nil
	}
	return pg.OldBackups(ctx, env.Conn, dirs, j.Run)
}

// insideDir reports whether p lies inside dir.
func insideDir(dir, p string) bool {
	return dir != "" && strings.HasPrefix(path.Clean(p), path.Clean(dir)+"/")
}

// csrLeft reports whether the CSR is on the host: from the TLS facts when
// they are fresh (no round trip on a run that changed nothing), else asked.
func csrLeft(ctx context.Context, c transport.Conn, p *args.Args, f *pg.Facts, csr string) bool {
	if ts := tlsFacts(p, f); ts != nil {
		return ts.CSR.Exists
	}
	return mayExist(ctx, c, csr)
}

// mayExist reports whether a file exists on the host or is planned by an
// earlier task of this check run.
func mayExist(ctx context.Context, c transport.Conn, p string) bool {
	_, err := c.Stat(ctx, p)
	return err == nil || errors.Is(err, overlay.ErrPending)
}
