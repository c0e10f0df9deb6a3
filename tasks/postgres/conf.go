package postgres

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var confParams = append([]string{"pg_tls_dir", "pg_ssl_min_protocol_version", "pg_ssl_ciphers", "pg_conf_method"}, commonParams...)

// wantedSettings are the ssl settings the job enforces on this server.
func wantedSettings(p *args.Args, f *pg.Facts) []pgconf.Setting {
	files := filesFor(p, f)
	s := []pgconf.Setting{
		{Name: "ssl", Value: "on"},
		{Name: "ssl_cert_file", Value: files.Cert},
		{Name: "ssl_key_file", Value: files.Key},
		{Name: "ssl_ca_file", Value: files.Root},
	}
	if f.ServerVersionNum >= 120000 {
		v := p.Str("pg_ssl_min_protocol_version", "TLSv1.2")
		if canon, err := protocolVersion("pg_ssl_min_protocol_version", v); err == nil {
			v = canon // the server's spelling: tlsv1.3 -> TLSv1.3
		}
		s = append(s, pgconf.Setting{Name: "ssl_min_protocol_version", Value: v})
	}
	if c := p.Str("pg_ssl_ciphers", ""); c != "" {
		s = append(s, pgconf.Setting{Name: "ssl_ciphers", Value: c})
	}
	return s
}

// sameSetting compares a wanted value with one the server reports
// (booleans as booleans, file paths resolved against the data directory).
func sameSetting(f *pg.Facts, name, want, have string) bool {
	if strings.HasSuffix(name, "_file") {
		return f.ResolvePath(want) == f.ResolvePath(have)
	}
	if b1, err1 := boolean.Parse(want); err1 == nil && name == "ssl" {
		b2, err2 := boolean.Parse(have)
		return err2 == nil && b1 == b2
	}
	if enumSetting(name) {
		return strings.EqualFold(want, have)
	}
	return want == have
}

// planConf makes the ssl settings the ones the server reads: postgresql.conf
// is edited in place (layout kept) and ssl lines that would override it in
// postgresql.auto.conf or later include files are commented out; or, with
// pg_conf_method: alter_system, ALTER SYSTEM writes postgresql.auto.conf.
func planConf(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_conf", env, raw, confParams...)
	if err != nil {
		return nil, err
	}
	method := p.Str("pg_conf_method", "file")
	if method != "file" && method != "alter_system" {
		return nil, args.Errorf("pg_conf", "pg_conf_method", "want file or alter_system, got %q", method)
	}
	if _, err := protocolVersion("pg_ssl_min_protocol_version", p.Str("pg_ssl_min_protocol_version", "TLSv1.2")); err != nil {
		return nil, args.Errorf("pg_conf", "", "%w", err)
	}
	f, err := hostFacts(ctx, env, p, false, pg.PartConfig, pg.PartSettings)
	if err != nil {
		return nil, err
	}
	want := wantedSettings(p, f)
	if err := refuseConf(env, f, want); err != nil {
		return nil, err
	}
	autoConf := path.Join(f.DataDirectory, "postgresql.auto.conf")
	if method == "alter_system" {
		return planAlterSystem(ctx, env, p, f, want, autoConf)
	}
	var reads []tasks.Precondition
	edits, err := confEdits(ctx, env, f, want, autoConf, &reads)
	if err != nil {
		return nil, err
	}
	if len(edits) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: "ssl settings already in " + f.ConfigFile, Result: factsResult(map[string]any{"changed_settings": []string{}, tasks.OutcomeKey: "ssl settings unchanged"}, f)}, nil
	}
	return confChange(p, f, want, edits, reads, autoConf), nil
}

// refuseConf fails the host where editing files cannot work: a wanted
// setting given on the server's command line (it beats every file), or a
// configuration that already has an error on disk.
func refuseConf(env *tasks.Env, f *pg.Facts, want []pgconf.Setting) error {
	for _, s := range want {
		if st, ok := f.Setting(s.Name); ok && st.Source == "command line" && !sameSetting(f, s.Name, s.Value, st.Setting) {
			return &tasks.Failed{Msg: fmt.Sprintf("host %s: %s is set to %q on the server's command line (-c), which beats every file; change it where the server is started", env.Host, s.Name, st.Setting)}
		}
	}
	for _, fs := range f.FileSettings {
		if fs.FileError() {
			return &tasks.Failed{Msg: fmt.Sprintf("host %s: the configuration on disk already has an error at %s:%d: %s; fix it first", env.Host, fs.SourceFile, fs.SourceLine, fs.Error)}
		}
	}
	return nil
}

// confEdit is one file pg_conf changes.
type confEdit struct {
	path          string
	before, after []byte
	// reset: ALTER SYSTEM RESET these names instead of writing after
	// (postgresql.auto.conf belongs to ALTER SYSTEM; after is then the
	// file as that statement rewrites it).
	reset []string
}

// confEdits are the wanted settings in postgresql.conf, and every other
// file that sets one of them (it would override or shadow it) with those
// lines neutralised: commented out, or reset in postgresql.auto.conf.
func confEdits(ctx context.Context, env *tasks.Env, f *pg.Facts, want []pgconf.Setting, autoConf string, reads *[]tasks.Precondition) ([]confEdit, error) {
	var edits []confEdit
	main, pending, err := plannedText(ctx, env.Conn, f.ConfigFile, f.ConfigText, !f.IsStale(pg.PartConfig), reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, f.ConfigFile, err)
	}
	if pending {
		return nil, fmt.Errorf("host %s: %s is planned by an earlier task with unknown content", env.Host, f.ConfigFile)
	}
	newMain, changed, err := pgconf.Set(main, want)
	if err != nil {
		return nil, fmt.Errorf("host %s: %s: %w", env.Host, f.ConfigFile, err)
	}
	if changed {
		edits = append(edits, confEdit{path: f.ConfigFile, before: main, after: newMain})
	}
	var patterns []string
	for _, s := range want {
		patterns = append(patterns, s.Name)
	}
	for _, o := range otherConfFiles(f, patterns) {
		before, _, _, err := readPlanned(ctx, env.Conn, o, reads)
		if err != nil {
			return nil, fmt.Errorf("host %s: read %s: %w", env.Host, o, err)
		}
		after, ch := pgconf.Remove(before, patterns)
		if !ch {
			continue
		}
		e := confEdit{path: o, before: before, after: after}
		if o == autoConf {
			for _, s := range want {
				if _, _, set := pgconf.Get(before, s.Name); set {
					e.reset = append(e.reset, s.Name)
				}
			}
			// The run's ALTER SYSTEM RESET rewrites the file: show that.
			e.after = pgconf.ResetAuto(before, e.reset)
		}
		edits = append(edits, e)
	}
	return edits, nil
}

// otherConfFiles are the files besides postgresql.conf that set one of
// names, sorted.
func otherConfFiles(f *pg.Facts, names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, fs := range f.FileSettings {
		if slices.Contains(names, fs.Name) && fs.SourceFile != "" && fs.SourceFile != f.ConfigFile && !seen[fs.SourceFile] {
			seen[fs.SourceFile] = true
			out = append(out, fs.SourceFile)
		}
	}
	sort.Strings(out)
	return out
}

// confChange is the change that writes edits (and resets what ALTER
// SYSTEM owns), all backed up first.
func confChange(p *args.Args, f *pg.Facts, want []pgconf.Setting, edits []confEdit, reads []tasks.Precondition, autoConf string) *tasks.Change {
	var changedNames []string
	for _, s := range want {
		if st, ok := f.Setting(s.Name); !ok || !sameSetting(f, s.Name, s.Value, st.Setting) {
			changedNames = append(changedNames, s.Name)
		}
	}
	ch := &tasks.Change{Action: tasks.Update, Reads: reads, Result: factsResult(map[string]any{"changed_settings": changedNames}, f, pg.PartConfig, pg.PartJournal)}
	var paths, resets []string
	var resetSQL strings.Builder
	for _, e := range edits {
		paths = append(paths, e.path)
		d := tasks.FileDiff(e.path, string(e.before), string(e.after))
		if len(e.reset) > 0 {
			for _, n := range e.reset {
				fmt.Fprintf(&resetSQL, "ALTER SYSTEM RESET %s;\n", n)
			}
			resets = append(resets, e.reset...)
			d.Unified = "ALTER SYSTEM:\n" + resetSQL.String() + d.Unified
		}
		ch.Diffs = append(ch.Diffs, d)
		ch.Writes = append(ch.Writes, overlay.PlannedFile{Path: e.path, Content: e.after})
	}
	ch.Summary = "would edit " + strings.Join(paths, ", ") + " (backup first): " + settingsText(want)
	if len(resets) > 0 {
		ch.Summary += "; ALTER SYSTEM RESET " + strings.Join(resets, ", ") + " (they override postgresql.conf from " + autoConf + ")"
	}
	ch.Apply = func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
		j := journaler(ctx, env, p, f)
		if err := j.Before(ctx, paths...); err != nil {
			return nil, err
		}
		for _, e := range edits {
			if len(e.reset) > 0 {
				continue
			}
			if err := env.Conn.WriteFile(ctx, e.path, e.after, transport.WriteOptions{}); err != nil {
				return nil, fmt.Errorf("host %s: write %s: %w", env.Host, e.path, err)
			}
		}
		if resetSQL.Len() > 0 {
			// The backup of postgresql.auto.conf is taken above: a
			// rollback restores the file as it was.
			if err := pg.Exec(ctx, env.Conn, targetFor(p, f), resetSQL.String()); err != nil {
				return nil, err
			}
		}
		return map[string]any{"changed_settings": changedNames, "files": paths,
			tasks.OutcomeKey: "edited " + strings.Join(paths, ", ") + ": " + strings.Join(changedNames, ", ")}, nil
	}
	return ch
}

func settingsText(s []pgconf.Setting) string {
	var out []string
	for _, x := range s {
		out = append(out, x.Name+"="+x.Value)
	}
	return strings.Join(out, " ")
}

// planAlterSystem compares the wanted values with what the files say now
// (the applied pg_file_settings row) and runs ALTER SYSTEM for each that
// differs, outside a transaction (ALTER SYSTEM refuses to run in one).
func planAlterSystem(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts, want []pgconf.Setting, autoConf string) (*tasks.Change, error) {
	applied := map[string]string{}
	for _, fs := range f.FileSettings {
		if fs.Applied {
			applied[fs.Name] = fs.Setting
		}
	}
	var todo []pgconf.Setting
	for _, s := range want {
		have, ok := applied[s.Name]
		if !ok {
			if st, ok2 := f.Setting(s.Name); ok2 && st.Source != "default" {
				have, ok = st.Setting, true
			}
		}
		if !ok || !sameSetting(f, s.Name, s.Value, have) {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return &tasks.Change{Action: tasks.None, Summary: "ssl settings already set", Result: factsResult(map[string]any{"changed_settings": []string{}, tasks.OutcomeKey: "ssl settings unchanged"}, f)}, nil
	}
	var sql strings.Builder
	var changed []string
	for _, s := range todo {
		// One statement per line; psql runs each outside a transaction.
		fmt.Fprintf(&sql, "ALTER SYSTEM SET %s = %s;\n", s.Name, pg.QuoteLiteral(s.Value))
		changed = append(changed, s.Name)
	}
	var reads []tasks.Precondition
	before, _, _, err := readPlanned(ctx, env.Conn, autoConf, &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, autoConf, err)
	}
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: "would run ALTER SYSTEM for " + settingsText(todo) + " (backup of " + autoConf + " first)",
		Reads:   reads,
		Diffs:   []tasks.Diff{{Path: autoConf, Before: string(before), Unified: "ALTER SYSTEM:\n" + sql.String()}},
		Writes:  []overlay.PlannedFile{{Path: autoConf, Pending: true, Mode: 0o600}},
		Result:  factsResult(map[string]any{"changed_settings": changed}, f, pg.PartConfig, pg.PartJournal),
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			j := journaler(ctx, env, p, f)
			if err := j.Before(ctx, autoConf); err != nil {
				return nil, err
			}
			if err := pg.Exec(ctx, env.Conn, targetFor(p, f), sql.String()); err != nil {
				return nil, err
			}
			return map[string]any{"changed_settings": changed, "files": []string{autoConf}, tasks.OutcomeKey: "ALTER SYSTEM SET " + strings.Join(changed, ", ")}, nil
		},
	}, nil
}
