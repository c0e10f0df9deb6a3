package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks/overlay"

	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/pg/pghba"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

var hbaParams = append([]string{"pg_tls_enforce", "pg_hba_reject_plain", "replication", "pg_host", "ansible_host", "inventory_hostname", "tls_san"}, commonParams...)

// planHBA turns host and hostnogssenc lines into hostssl (plus hostnossl
// reject lines placed behind hostgssenc and deliberate hostnossl rules) in
// the server's hba_file, after an impact preview: live plaintext sessions
// it would refuse make it leave the file alone unless pg_tls_enforce is
// force. It refuses while ssl would stay off: a hostssl line
// with ssl = off makes the whole file fail to load.
func planHBA(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_hba", env, raw, hbaParams...)
	if err != nil {
		return nil, err
	}
	enforce, force := enforceMode(p)
	reject := p.Bool("pg_hba_reject_plain", true)
	if p.Err() != nil {
		return nil, p.Err()
	}
	if !enforce {
		return &tasks.Change{Action: tasks.None, Summary: "pg_tls_enforce is false: pg_hba.conf left alone"}, nil
	}
	// Running settings may be stale (the TLS reload comes first): only
	// ssl matters here, and sslWillBeOn reads the files as the run
	// leaves them.
	f, err := hostFacts(ctx, env, p, false, pg.PartHBA)
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
		return &tasks.Change{Action: tasks.None, Summary: f.HBAFile + " already enforces TLS", Result: factsResult(map[string]any{tasks.OutcomeKey: withWarnings("TLS already required", hbaWarnings(before))}, f)}, nil
	}
	if !sslWillBeOn(ctx, env, f) {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: refusing to write hostssl lines to %s while ssl is off (the server would reject the whole file); run pg_conf first in the same run", env.Host, f.HBAFile)}
	}
	// Who is connected now (earlier steps of this run may have moved
	// standbys to TLS, so the facts' copy is too old).
	im, err := pg.ReadImpact(ctx, env.Conn, targetFor(p, f))
	if err != nil {
		return nil, err
	}
	report := preview(im, after, decodeLinks(raw["replication"]), ownNames(env, p))
	warnings := hbaWarnings(after)
	res := map[string]any{"would_cut_off": report.Cut, "kept": report.Spare, "warnings": warnings}
	if len(report.Cut) > 0 && !force {
		msg := fmt.Sprintf("NOT enforcing TLS in %s: %d live session(s) would be refused at their next connection: %s; move them to TLS (sslmode=verify-full) or set pg_tls_enforce: force",
			f.HBAFile, len(report.Cut), strings.Join(report.Cut, "; "))
		res["enforce_refused"], res["msg"] = true, msg
		res[tasks.OutcomeKey] = fmt.Sprintf("NOT enforced: %d live session(s) would be cut off", len(report.Cut))
		return &tasks.Change{Action: tasks.None, Summary: msg, Result: factsResult(res, f)}, nil
	}
	summary := "would rewrite " + f.HBAFile + " to require TLS for TCP (backup first)"
	if len(report.Cut) > 0 {
		summary += "; pg_tls_enforce is force: " + strings.Join(report.Cut, "; ") + " will be refused at the next connection"
	}
	if len(report.Spare) > 0 {
		summary += "; not cut off: " + strings.Join(report.Spare, "; ")
	}
	summary = withWarnings(summary, warnings)
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: summary,
		Reads:   reads,
		Diffs:   []tasks.Diff{tasks.FileDiff(f.HBAFile, string(before), string(after))},
		Writes:  []overlay.PlannedFile{{Path: f.HBAFile, Content: after}},
		Result:  factsResult(res, f, pg.PartHBA, pg.PartJournal),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			j := journaler(ctx, env, p, f)
			if err := writeJournaled(ctx, env, j, f.HBAFile, after, transport.WriteOptions{}); err != nil {
				return nil, err
			}
			outcome := "TLS required for TCP in " + f.HBAFile
			if len(report.Spare) > 0 {
				outcome += "; not cut off: " + strings.Join(report.Spare, "; ")
			}
			return map[string]any{"hba_file": f.HBAFile, tasks.OutcomeKey: withWarnings(outcome, warnings)}, nil
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
				on, _ = boolean.Parse(fs.Setting)
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
		if errors.Is(err, overlay.ErrPending) {
			result = true
			continue
		}
		if err != nil {
			continue
		}
		if v, _, ok := pgconf.Get(b, "ssl"); ok {
			if bv, err := boolean.Parse(v); err == nil {
				result = bv
			}
		}
	}
	return result
}

// hbaWarnings are the rules of the new pg_hba.conf a person should look
// at (trust over TCP, plaintext kept on purpose), one line each.
func hbaWarnings(content []byte) []string {
	var out []string
	for _, w := range pghba.Review(content) {
		out = append(out, w.String())
	}
	return out
}

func withWarnings(s string, warnings []string) string {
	if len(warnings) == 0 {
		return s
	}
	return s + "; WARNING: " + strings.Join(warnings, "; ")
}
