package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// Register adds the PostgreSQL modules to r, each under its name and
// sshplay.postgres.NAME (tls_sign also as pg_tls_sign).
func Register(r *tasks.Registry) {
	r.Add(factsModule{}, "pg_facts", "sshplay.postgres.pg_facts")
	r.Add(tasks.ModuleFunc(planLock), "pg_tls_lock", "sshplay.postgres.pg_tls_lock")
	r.Add(tasks.ModuleFunc(planKey), "pg_tls_key", "sshplay.postgres.pg_tls_key")
	r.Add(tasks.ModuleFunc(planSign), "tls_sign", "pg_tls_sign", "sshplay.postgres.tls_sign")
	r.Add(tasks.ModuleFunc(planConf), "pg_conf", "sshplay.postgres.pg_conf")
	r.Add(tasks.ModuleFunc(planReplication), "pg_replication", "sshplay.postgres.pg_replication")
	r.Add(tasks.ModuleFunc(planHBA), "pg_hba", "sshplay.postgres.pg_hba")
	r.Add(tasks.ModuleFunc(planReload), "pg_reload", "sshplay.postgres.pg_reload")
	r.Add(tasks.ModuleFunc(planVerify), "pg_tls_verify", "sshplay.postgres.pg_tls_verify")
	r.Add(tasks.ModuleFunc(planRollback), "pg_tls_rollback", "sshplay.postgres.pg_tls_rollback")
	r.Add(tasks.ModuleFunc(planCommit), "pg_tls_commit", "sshplay.postgres.pg_tls_commit")
}

// newParams decodes a PostgreSQL module's arguments (tasks/args). Its
// parameters are the job's variables too: one the task does not give is
// looked up in the host's variables, so the playbook's documented vars
// work, and so are names a module reads only as variables
// (inventory_hostname, ansible_host). Blank text means the default, as
// `pg_tls_dir=` in an INI inventory does.
func newParams(mod string, env *tasks.Env, raw map[string]any, known ...string) (*args.Args, error) {
	vars := env.Vars
	if vars == nil {
		vars = map[string]any{}
	}
	return args.Options{Vars: vars, TrimText: true}.Parse(mod, raw, known...)
}

// lookup reads the job's settings as pg's helpers (pg.CADir, pg.TrustDir)
// want them: text, "" when unset.
func lookup(p *args.Args) func(name string) string {
	return func(name string) string { return p.Str(name, "") }
}

// common parameters every module accepts.
var commonParams = []string{"pg_socket_dir", "pg_port", "pg_database", "pg_os_user"}

func target(p *args.Args) pg.Target {
	return pg.Target{SocketDir: p.Str("pg_socket_dir", ""), Port: p.Int("pg_port", 5432)}
}

// targetFor is target with the server's own psql (and the socket directory
// it was found through) when the facts know them.
func targetFor(p *args.Args, f *pg.Facts) pg.Target {
	t := target(p)
	if f != nil && f.Bindir != "" {
		t.Bindir = f.Bindir
		if t.SocketDir == "" {
			t.SocketDir = f.SocketDir
		}
	}
	return t
}

// gather reads the cluster's facts (one round trip; with the TLS files when
// withTLS) and refuses clusters sshplay must not touch.
func gather(ctx context.Context, env *tasks.Env, p *args.Args) (*pg.Facts, error) {
	return gatherTLS(ctx, env, p, false)
}

func gatherTLS(ctx context.Context, env *tasks.Env, p *args.Args, withTLS bool) (*pg.Facts, error) {
	f, err := pg.Gather(ctx, env.Conn, pg.GatherOptions{Target: target(p), TLS: withTLS, TLSDir: p.Str("pg_tls_dir", "")})
	if err != nil {
		return nil, err
	}
	return f, refuse(env, f)
}

// refuse rejects clusters sshplay must not touch: Patroni-managed, or psql
// not connected as a superuser.
func refuse(env *tasks.Env, f *pg.Facts) error {
	if managed, why := f.Patroni(); managed {
		return fmt.Errorf("host %s: refusing: this cluster is managed by Patroni (%s); Patroni overwrites postgresql.conf and pg_hba.conf, so set TLS through Patroni's configuration (postgresql.parameters, pg_hba) instead", env.Host, why)
	}
	if !f.IsSuperuser {
		return fmt.Errorf("host %s: psql connected as %q, which is not a superuser; run the task as the cluster's OS user (become_user: postgres)", env.Host, f.User)
	}
	return nil
}

// registered returns the facts pg_facts (or a module after it) registered
// for this host in this run, or nil.
func registered(env *tasks.Env) *pg.Facts {
	f := pg.FactsFrom(env.Vars["pg"])
	if f == nil || f.DataDirectory == "" || f.ServerVersionNum == 0 {
		return nil
	}
	return f
}

// hostFacts returns the facts a module plans with: the registered ones when
// none of the parts it relies on (need) was changed since by this run, else
// a fresh gather (which also reads the TLS files when withTLS). Modules thus
// work alone (sshplay exec -m) and, in a playbook, do not probe again.
func hostFacts(ctx context.Context, env *tasks.Env, p *args.Args, withTLS bool, need ...string) (*pg.Facts, error) {
	reg := registered(env)
	if reg != nil {
		fresh := true
		for _, n := range need {
			fresh = fresh && !reg.IsStale(n)
		}
		if fresh {
			return reg, refuse(env, reg)
		}
		if withTLS && reg.IsStale(pg.PartTLS) {
			// The TLS files changed in this run: the module reads them
			// through the plan's view (which sees planned files in --check).
			withTLS = false
		}
	}
	f, err := gatherTLS(ctx, env, p, withTLS)
	if err != nil || reg == nil {
		return f, err
	}
	// A gather refreshes everything but the TLS files it did not read,
	// and the journal: in a check run the one earlier modules planned is
	// not on the host, so the gather cannot see it.
	if !withTLS && reg.IsStale(pg.PartTLS) {
		f = f.MarkStale(pg.PartTLS)
	}
	if reg.IsStale(pg.PartJournal) {
		f = f.MarkStale(pg.PartJournal)
	}
	return f, nil
}

// tlsFacts returns the TLS file state from f when it is fresh and for the
// wanted directory, else nil: the caller reads the files itself.
func tlsFacts(p *args.Args, f *pg.Facts) *pg.TLSState {
	if f.TLS == nil || f.IsStale(pg.PartTLS) || f.TLS.Dir != filesFor(p, f).Dir {
		return nil
	}
	return f.TLS
}

// factsResult registers f (with parts marked stale) as the host's pg facts,
// so that later modules know what this one changed.
func factsResult(res map[string]any, f *pg.Facts, stale ...string) map[string]any {
	if res == nil {
		res = map[string]any{}
	}
	// The facts themselves, not a map: later modules use them as they are
	// and every result shares their texts (see pg.Facts.Map).
	res["ansible_facts"] = map[string]any{"pg": f.MarkStale(stale...)}
	res[tasks.RepeatedFactsKey] = true
	return res
}

// plannedText returns a file's content for a plan: from the facts when they
// hold it and it is fresh (recorded as a precondition, so Apply re-checks
// it), else read through the plan's view.
func plannedText(ctx context.Context, c transport.Conn, file string, fromFacts []byte, fresh bool, reads *[]tasks.Precondition) ([]byte, bool, error) {
	if fresh {
		*reads = append(*reads, tasks.Precondition{Path: file, Exists: true, SHA256: transport.Checksum(fromFacts)})
		return fromFacts, false, nil
	}
	data, _, pending, err := readPlanned(ctx, c, file, reads)
	return data, pending, err
}

// tlsFiles are the paths of the TLS files on the host.
type tlsFiles struct {
	Dir, Key, Cert, Root, CSR string
}

func filesFor(p *args.Args, f *pg.Facts) tlsFiles {
	dir := p.Str("pg_tls_dir", f.DataDirectory)
	return tlsFiles{
		Dir:  dir,
		Key:  path.Join(dir, "server.key"),
		Cert: path.Join(dir, "server.crt"),
		Root: path.Join(dir, "root.crt"),
		CSR:  path.Join(dir, "server.csr"),
	}
}

// wantedNames are the certificate names from the inventory.
func wantedNames(env *tasks.Env, p *args.Args) (pg.Names, error) {
	in := pg.SANInput{
		InventoryHostname: p.Str("inventory_hostname", env.Host),
		AnsibleHost:       p.Str("ansible_host", ""),
		PGHost:            p.Str("pg_host", ""),
		Extra:             p.List("tls_san"),
	}
	n, err := pg.WantedNames(in)
	if err != nil {
		return n, args.Errorf("", "", "host %s: %w", env.Host, err)
	}
	if len(n.DNS) == 0 && len(n.IPs) == 0 {
		return n, fmt.Errorf("host %s: no certificate names: set ansible_host, pg_host or tls_san", env.Host)
	}
	return n, nil
}

// caDir and csrDir are the control machine's CA and CSR directories, with
// the defaults `sshplay pg status` uses too (pg.CADir, pg.CSRDir).
func caDir(p *args.Args) string  { return pg.CADir(lookup(p)) }
func csrDir(p *args.Args) string { return pg.CSRDir(lookup(p)) }

// journaler journals this run's changes on the host. Its backups carry the
// run id sshplay_run_id when the engine sets it, else the one of a journal
// already started on this host, else now. The configuration files the
// playbook edits are backed up with the first command that copies
// anything (see pg.Journaler.Also).
func journaler(ctx context.Context, env *tasks.Env, p *args.Args, f *pg.Facts) *pg.Journaler {
	return &pg.Journaler{Conn: env.Conn, DataDir: f.DataDirectory, Run: p.Str("sshplay_run_id", pg.NewRunID(nowFunc())),
		Also: []string{f.ConfigFile, f.HBAFile, path.Join(f.DataDirectory, "postgresql.auto.conf")}}
}

// writeJournaled backs up and journals path, then writes data atomically.
func writeJournaled(ctx context.Context, env *tasks.Env, j *pg.Journaler, path string, data []byte, opts transport.WriteOptions) error {
	if err := j.Before(ctx, path); err != nil {
		return err
	}
	if err := env.Conn.WriteFile(ctx, path, data, opts); err != nil {
		return fmt.Errorf("host %s: write %s: %w", env.Host, path, err)
	}
	return nil
}

// fileWrite is one file writeAll writes (mode 0644: certificates).
type fileWrite struct {
	path string
	data []byte
}

// writeAll writes files on the host, each atomically, all in flight
// together (the server reads none of them before the reload that
// follows). It returns every failure, joined.
func writeAll(ctx context.Context, env *tasks.Env, files []fileWrite) error {
	errs := inParallel(len(files), func(i int) error {
		w := files[i]
		if err := env.Conn.WriteFile(ctx, w.path, w.data, transport.WriteOptions{Mode: 0o644}); err != nil {
			return fmt.Errorf("host %s: write %s: %w", env.Host, w.path, err)
		}
		return nil
	})
	return errors.Join(errs...)
}

// inParallel runs f(0) .. f(n-1) at once (a host's SFTP requests in
// flight together) and returns their errors in order.
func inParallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// readPlanned reads a file for a plan: the content, whether it exists, and
// whether an earlier task of this check run would write it (pending).
func readPlanned(ctx context.Context, c transport.Conn, path string, reads *[]tasks.Precondition) (data []byte, exists, pending bool, err error) {
	data, exists, err = tasks.ReadFileFor(ctx, c, path, reads)
	if errors.Is(err, overlay.ErrPending) {
		return nil, true, true, nil
	}
	return data, exists, false, err
}

// tlsTarget is what the key and certificate steps both plan against: the
// cluster's facts (with the TLS files), where the files go, the names the
// certificate must carry, and the TLS state the facts already hold (nil
// when they hold none).
type tlsTarget struct {
	facts *pg.Facts
	files tlsFiles
	names pg.Names
	tls   *pg.TLSState
}

func loadTLSTarget(ctx context.Context, env *tasks.Env, p *args.Args) (*tlsTarget, error) {
	f, err := hostFacts(ctx, env, p, true)
	if err != nil {
		return nil, err
	}
	names, err := wantedNames(env, p)
	if err != nil {
		return nil, err
	}
	return &tlsTarget{facts: f, files: filesFor(p, f), names: names, tls: tlsFacts(p, f)}, nil
}
