package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

var lockParams = append([]string{"pg_lock_timeout", "sshplay_run_id", "sshplay_run_started"}, commonParams...)

// planLock takes the cluster's run lock for the rest of the run (see
// pg.AcquireRunLock): a second run of the job on the same cluster waits up
// to pg_lock_timeout seconds (default 0) and then fails that host naming
// the holder, before it reads or changes anything (the playbook runs it
// before pg_facts, so the facts are read under the lock). A check run
// takes no lock (it changes nothing) and says so.
func planLock(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_tls_lock", env, raw, lockParams...)
	if err != nil {
		return nil, err
	}
	wait := time.Duration(p.Int("pg_lock_timeout", 0)) * time.Second
	if p.Err() != nil {
		return nil, p.Err()
	}
	if wait < 0 {
		return nil, args.Errorf("pg_tls_lock", "", "pg_lock_timeout %s: want 0 or more seconds", wait)
	}
	holder := lockHolder(p)
	// The engine's run identity; a module run without one counts as
	// started now.
	started := p.Str("sshplay_run_started", nowFunc().UTC().Format("20060102T150405.000000000Z"))
	t := targetFor(p, registered(env))
	return &tasks.Change{
		Action:  tasks.Run,
		Summary: "would take the run lock " + pg.LockName + " in the data directory (one run at a time per cluster)",
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			if _, err := pg.AcquireRunLock(ctx, env.Conn, t, started, holder, wait); err != nil {
				var held *pg.LockHeldError
				if errors.As(err, &held) {
					return nil, &tasks.Failed{Msg: held.Error() + " (nothing was changed)"}
				}
				return nil, err
			}
			return map[string]any{"changed": false, "lock_holder": holder, tasks.OutcomeKey: "run lock taken"}, nil
		},
	}, nil
}

// lockHolder says who holds the lock, for a run that finds it taken: the
// run id, the control machine's user, host name and process, and since
// when.
func lockHolder(p *args.Args) string {
	who := "?"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	run := "sshplay run"
	if id := p.Str("sshplay_run_id", ""); id != "" {
		run += " " + id
	}
	return fmt.Sprintf("%s by %s@%s (pid %d), since %s", run, who, host, os.Getpid(), nowFunc().UTC().Format(time.RFC3339))
}
