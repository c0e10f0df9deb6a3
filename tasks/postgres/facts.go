package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
)

// nowFunc is the clock (tests pin it).
var nowFunc = time.Now

// factsModule is pg_facts: Plan gathers, CheckVars judges the job's
// variables before anything connects.
type factsModule struct{}

func (factsModule) Plan(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	return planFacts(ctx, env, raw)
}

// CheckVars implements tasks.VarsChecker: the same checks pg_facts makes
// on the host, made on the control machine first.
func (factsModule) CheckVars(host string, vars map[string]any) error {
	env := &tasks.Env{Host: host, Vars: vars}
	p, err := newParams("pg_facts", env, nil)
	if err != nil {
		return err
	}
	if err := checkVars(env, p); err != nil {
		return &args.Error{Err: err}
	}
	return nil
}

// planFacts gathers the cluster's facts; it never changes anything.
func planFacts(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_facts", env, raw, append([]string{"pg_tls_dir"}, commonParams...)...)
	if err != nil {
		return nil, err
	}
	// Every variable of the job is checked before anything changes.
	if err := checkVars(env, p); err != nil {
		return nil, err
	}
	f, err := gatherChecked(ctx, env, p)
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

// gatherChecked is gatherTLS (with the TLS files) that also tries
// pg_ssl_ciphers with the host's openssl in the same round trip, and fails
// the host before anything changes when the server could not use it.
func gatherChecked(ctx context.Context, env *tasks.Env, p *args.Args) (*pg.Facts, error) {
	o := pg.GatherOptions{Target: target(p), TLS: true, TLSDir: p.Str("pg_tls_dir", "")}
	f, cc, err := pg.GatherChecked(ctx, env.Conn, o, p.Str("pg_ssl_ciphers", ""))
	if err != nil {
		return nil, err
	}
	if err := refuse(env, f); err != nil {
		return nil, err
	}
	return f, cipherProblem(env, f, cc)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
