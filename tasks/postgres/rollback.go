package postgres

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var rollbackParams = append([]string{"reason", "fail", "pg_restart_command", "pg_restart_log", "pg_ready_timeout",
	"ansible_become_password", "ansible_become_pass"}, commonParams...)

// clusterFacts returns the facts registered by pg_facts earlier in the run
// (the server may be down by now), else gathers them.
func clusterFacts(ctx context.Context, env *tasks.Env, p *params) (*pg.Facts, error) {
	if f := registered(env); f != nil {
		return f, nil
	}
	return gather(ctx, env, p)
}

// planRollback restores every file this run changed on the host (from the
// on-host journal), reloads or restarts, proves the server accepts
// connections, and then fails the host with "failed (rolled back)".
func planRollback(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_rollback", env, args, rollbackParams...)
	if err != nil {
		return nil, err
	}
	fail := p.boolean("fail", true)
	reason := p.str("reason", failedMsg(env.Vars))
	timeout := time.Duration(p.integer("pg_ready_timeout", 60)) * time.Second
	if p.err != nil {
		return nil, p.err
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
				return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: failed, and rollback failed: %v (cause: %s)", env.Host, rbErr, reason), Result: res}
			}
			t := targetFor(p, f)
			if _, err := pg.Query(ctx, env.Conn, t, "SELECT pg_reload_conf();"); err != nil {
				// The server is down (a failed restart): start it again.
				rp, perr := pg.DecideRestart(mustProbe(ctx, env.Conn, f), f, p.str("pg_restart_command", ""), p.str("pg_restart_log", ""))
				if perr != nil {
					return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: files restored but the server is down and cannot be restarted: %v", env.Host, perr), Result: res}
				}
				c := env.Conn
				if rp.AsRoot {
					c = c.Become(transport.Become{Enabled: true, Password: p.str("ansible_become_password", p.str("ansible_become_pass", ""))})
				}
				if _, err := c.Run(ctx, rp.Command, transport.RunOptions{}); err != nil {
					return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: files restored but restart failed: %v", env.Host, err), Result: res}
				}
			}
			if err := waitReady(ctx, env.Conn, t, timeout); err != nil {
				return res, &tasks.Failed{Msg: fmt.Sprintf("host %s: files restored but %v", env.Host, err), Result: res}
			}
			res["accepts_connections"] = true
			if fail {
				// A failed result carries no facts (nothing runs after it
				// on this host, and results of failures are printed).
				return res, &tasks.Failed{Msg: "failed (rolled back): " + reason, Result: res}
			}
			res["msg"] = "rolled back: " + reason
			// Everything this run changed is undone: read it all again.
			return factsResult(res, f, pg.PartTLS, pg.PartJournal, pg.PartConfig, pg.PartHBA, pg.PartSettings), nil
		},
	}, nil
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

var commitParams = commonParams

// planCommit ends a successful run: the journal goes, and the backups of
// earlier runs next to the files this run changed are deleted (this run's
// backups stay until the next successful run that changes something).
func planCommit(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_commit", env, args, commitParams...)
	if err != nil {
		return nil, err
	}
	f, err := clusterFacts(ctx, env, p)
	if err != nil {
		return nil, err
	}
	if !f.IsStale(pg.PartJournal) && len(f.Journal) == 0 {
		// No journal when the facts were read, and no module of this run
		// has written one since: nothing to commit, no round trip.
		return &tasks.Change{Action: tasks.None, Summary: "nothing to commit"}, nil
	}
	j, err := pg.ReadJournal(ctx, env.Conn, f.DataDirectory)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return &tasks.Change{Action: tasks.None, Summary: "nothing to commit"}, nil
	}
	var dirs []string
	for _, e := range j.Entries {
		dirs = append(dirs, path.Dir(e.Path))
	}
	// The facts listed the backups; the ones made since are this run's.
	old, listed := f.BackupsFromFacts(dirs, j.Run)
	if !listed {
		if old, err = pg.OldBackups(ctx, env.Conn, dirs, j.Run); err != nil {
			return nil, err
		}
	}
	jp := pg.JournalPath(f.DataDirectory)
	summary := "would clear the journal of run " + j.Run
	if len(old) > 0 {
		summary += " and delete older backups " + strings.Join(old, ", ")
	}
	return &tasks.Change{
		Action:  tasks.Delete,
		Summary: summary,
		Writes:  []transport.PlannedFile{{Path: jp, Removed: true}},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			for _, o := range old {
				if err := env.Conn.Remove(ctx, o); err != nil {
					return nil, fmt.Errorf("host %s: delete old backup %s: %w", env.Host, o, err)
				}
			}
			if err := env.Conn.Remove(ctx, jp); err != nil {
				return nil, fmt.Errorf("host %s: clear journal: %w", env.Host, err)
			}
			nf := f.MarkStale()
			nf.Journal = nil
			nf.Stale = slices.DeleteFunc(nf.Stale, func(s string) bool { return s == pg.PartJournal })
			return factsResult(map[string]any{"run": j.Run, "deleted_backups": old}, nf), nil
		},
	}, nil
}
