package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
)

// nowFunc is the clock (tests pin it).
var nowFunc = time.Now

// planFacts gathers the cluster's facts; it never changes anything.
func planFacts(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_facts", env, args, append([]string{"pg_tls_dir"}, commonParams...)...)
	if err != nil {
		return nil, err
	}
	// Every variable of the job is checked before anything changes.
	if err := checkVars(env, p); err != nil {
		return nil, err
	}
	f, err := gatherTLS(ctx, env, p, true)
	if err != nil {
		return nil, err
	}
	summary := fmt.Sprintf("PostgreSQL %s, data %s, ssl %s", f.ServerVersion, f.DataDirectory, onOff(f.SSLOn()))
	if f.InRecovery {
		summary += " (standby)"
	}
	if j, err := pg.DecodeJournal(f.Journal); len(f.Journal) > 0 && err == nil {
		f.UnfinishedRun = j.Run
		summary += "; journal of unfinished run " + j.Run + " present (pg_tls_rollback undoes it)"
	}
	return &tasks.Change{
		Action:  tasks.None,
		Summary: summary,
		Result:  map[string]any{"ansible_facts": map[string]any{"pg": f}, "pg": f, "msg": summary},
	}, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
