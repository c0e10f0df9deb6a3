package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/sshplay/sshplay/pg"

	pgconf "github.com/sshplay/sshplay/pg/conf"
	pghba "github.com/sshplay/sshplay/pg/hba"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var hbaParams = append([]string{"pg_tls_enforce", "pg_hba_reject_plain"}, commonParams...)

// planHBA turns host lines into hostssl (plus hostnossl reject lines) in the
// server's hba_file. It refuses while ssl would stay off: a hostssl line
// with ssl = off makes the whole file fail to load.
func planHBA(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_hba", env, args, hbaParams...)
	if err != nil {
		return nil, err
	}
	enforce := p.boolean("pg_tls_enforce", true)
	reject := p.boolean("pg_hba_reject_plain", true)
	if p.err != nil {
		return nil, p.err
	}
	if !enforce {
		return &tasks.Change{Action: tasks.None, Summary: "pg_tls_enforce is false: pg_hba.conf left alone"}, nil
	}
	f, err := hostFacts(ctx, env, p, false, pg.PartHBA, pg.PartSettings)
	if err != nil {
		return nil, err
	}
	var reads []tasks.Precondition
	before, _, err := plannedText(ctx, env.Conn, f.HBAFile, f.HBAText, !f.IsStale(pg.PartHBA), &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, f.HBAFile, err)
	}
	after, changed := pghba.EnforceSSL(before, pghba.EnforceOptions{OmitReject: !reject})
	if !changed {
		return &tasks.Change{Action: tasks.None, Summary: f.HBAFile + " already enforces TLS", Result: factsResult(nil, f)}, nil
	}
	if !sslWillBeOn(ctx, env, f) {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: refusing to write hostssl lines to %s while ssl is off (the server would reject the whole file); run pg_conf first in the same run", env.Host, f.HBAFile)}
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: "would rewrite " + f.HBAFile + " to require TLS for TCP (backup first)",
		Reads:   reads,
		Diffs:   []tasks.Diff{tasks.FileDiff(f.HBAFile, string(before), string(after))},
		Writes:  []transport.PlannedFile{{Path: f.HBAFile, Content: after}},
		Result:  factsResult(nil, f, pg.PartHBA, pg.PartJournal),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			j := journaler(ctx, env, p, f)
			if err := writeJournaled(ctx, env, j, f.HBAFile, after, transport.WriteOptions{}); err != nil {
				return nil, err
			}
			return map[string]any{"hba_file": f.HBAFile}, nil
		},
	}, nil
}

// sslWillBeOn decides whether ssl is on after the reload. The server runs
// with ssl on; or, when no module of this run changed the configuration,
// the server's own parse of the files on disk (the applied
// pg_file_settings row for ssl) says on; else the files as this run leaves
// them (the plan's view, which shows pg_conf's planned edits in a check
// run) are read in the server's order: postgresql.conf, the other files
// that set ssl, and postgresql.auto.conf last (ALTER SYSTEM writes there
// and it beats everything). A file an earlier task of this check run will
// write with unknown content (ALTER SYSTEM) is taken to be pg_conf's
// ssl = on.
func sslWillBeOn(ctx context.Context, env *tasks.Env, f *pg.Facts) bool {
	if f.SSLOn() {
		return true
	}
	if !f.IsStale(pg.PartConfig) {
		on := false
		for _, fs := range f.FileSettings {
			if fs.Name == "ssl" && fs.Applied && fs.Error == "" {
				on, _ = toBool(fs.Setting)
			}
		}
		return on
	}
	autoConf := path.Join(f.DataDirectory, "postgresql.auto.conf")
	files := []string{f.ConfigFile}
	for _, fs := range f.FileSettings {
		if fs.Name == "ssl" && fs.SourceFile != "" && fs.SourceFile != f.ConfigFile && fs.SourceFile != autoConf && !slices.Contains(files, fs.SourceFile) {
			files = append(files, fs.SourceFile)
		}
	}
	files = append(files, autoConf)
	result := false
	for _, file := range files {
		b, err := env.Conn.ReadFile(ctx, file)
		if errors.Is(err, transport.ErrPending) {
			result = true
			continue
		}
		if err != nil {
			continue
		}
		if v, _, ok := pgconf.Get(b, "ssl"); ok {
			if bv, err := toBool(v); err == nil {
				result = bv
			}
		}
	}
	return result
}
