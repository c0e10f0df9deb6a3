package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var once sync.Once

// Register adds the PostgreSQL modules to the tasks registry. It is safe to
// call more than once.
func Register() {
	once.Do(func() {
		tasks.Register(factsModule{}, "pg_facts", "sshplay.postgres.pg_facts")
		tasks.Register(tasks.ModuleFunc(planLock), "pg_tls_lock", "sshplay.postgres.pg_tls_lock")
		tasks.Register(tasks.ModuleFunc(planKey), "pg_tls_key", "sshplay.postgres.pg_tls_key")
		tasks.Register(tasks.ModuleFunc(planSign), "tls_sign", "pg_tls_sign", "sshplay.postgres.tls_sign")
		tasks.Register(tasks.ModuleFunc(planConf), "pg_conf", "sshplay.postgres.pg_conf")
		tasks.Register(tasks.ModuleFunc(planReplication), "pg_replication", "sshplay.postgres.pg_replication")
		tasks.Register(tasks.ModuleFunc(planHBA), "pg_hba", "sshplay.postgres.pg_hba")
		tasks.Register(tasks.ModuleFunc(planReload), "pg_reload", "sshplay.postgres.pg_reload")
		tasks.Register(tasks.ModuleFunc(planVerify), "pg_tls_verify", "sshplay.postgres.pg_tls_verify")
		tasks.Register(tasks.ModuleFunc(planRollback), "pg_tls_rollback", "sshplay.postgres.pg_tls_rollback")
		tasks.Register(tasks.ModuleFunc(planCommit), "pg_tls_commit", "sshplay.postgres.pg_tls_commit")
	})
}

// argError is bad module input (exit 5).
type argError struct{ msg string }

func (e *argError) Error() string  { return e.msg }
func (e *argError) BadInput() bool { return true }

// params looks a parameter up in the task's arguments, then in the host's
// variables (so the playbook's documented vars work), then a default.
type params struct {
	mod  string
	args map[string]any
	vars map[string]any
	err  error
}

func newParams(mod string, env *tasks.Env, args map[string]any, known ...string) (*params, error) {
	ok := map[string]bool{}
	for _, k := range known {
		ok[k] = true
	}
	var unknown []string
	for k := range args {
		if !ok[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		sort.Strings(known)
		return nil, &argError{fmt.Sprintf("%s: unknown argument(s) %s (known: %s)", mod, strings.Join(unknown, ", "), strings.Join(known, ", "))}
	}
	return &params{mod: mod, args: args, vars: env.Vars}, nil
}

func (p *params) raw(name string) (any, bool) {
	if v, ok := p.args[name]; ok && v != nil {
		return v, true
	}
	if v, ok := p.vars[name]; ok && v != nil {
		return v, true
	}
	return nil, false
}

func (p *params) str(name, def string) string {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	s := strings.TrimSpace(fmt.Sprint(v))
	if s == "" {
		return def
	}
	return s
}

func (p *params) integer(name string, def int) int {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	s := strings.TrimSpace(fmt.Sprint(v))
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil && p.err == nil {
		p.err = &argError{fmt.Sprintf("%s: %s: want an integer, got %q", p.mod, name, s)}
	}
	if err != nil {
		return def
	}
	return n
}

func (p *params) boolean(name string, def bool) bool {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	b, err := toBool(v)
	if err != nil {
		if p.err == nil {
			p.err = &argError{fmt.Sprintf("%s: %s: %v", p.mod, name, err)}
		}
		return def
	}
	return b
}

func toBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	switch strings.ToLower(strings.TrimSpace(fmt.Sprint(v))) {
	case "true", "yes", "on", "1", "y":
		return true, nil
	case "false", "no", "off", "0", "n", "", "none":
		return false, nil
	}
	return false, fmt.Errorf("want a boolean, got %q", fmt.Sprint(v))
}

// list accepts a YAML list or a comma-separated string.
func (p *params) list(name string) []string {
	v, ok := p.raw(name)
	if !ok {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s := strings.TrimSpace(fmt.Sprint(e)); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, x...)
	default:
		s := strings.Trim(strings.TrimSpace(fmt.Sprint(x)), "[]")
		for _, e := range strings.Split(s, ",") {
			e = strings.Trim(strings.TrimSpace(e), `'"`)
			if e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// common parameters every module accepts.
var commonParams = []string{"pg_socket_dir", "pg_port", "pg_database", "pg_os_user"}

func target(p *params) pg.Target {
	return pg.Target{SocketDir: p.str("pg_socket_dir", ""), Port: p.integer("pg_port", 5432)}
}

// targetFor is target with the server's own psql (and the socket directory
// it was found through) when the facts know them.
func targetFor(p *params, f *pg.Facts) pg.Target {
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
func gather(ctx context.Context, env *tasks.Env, p *params) (*pg.Facts, error) {
	return gatherTLS(ctx, env, p, false)
}

func gatherTLS(ctx context.Context, env *tasks.Env, p *params, withTLS bool) (*pg.Facts, error) {
	f, err := pg.Gather(ctx, env.Conn, pg.GatherOptions{Target: target(p), TLS: withTLS, TLSDir: p.str("pg_tls_dir", "")})
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
func hostFacts(ctx context.Context, env *tasks.Env, p *params, withTLS bool, need ...string) (*pg.Facts, error) {
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
func tlsFacts(p *params, f *pg.Facts) *pg.TLSState {
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

func filesFor(p *params, f *pg.Facts) tlsFiles {
	dir := p.str("pg_tls_dir", f.DataDirectory)
	return tlsFiles{
		Dir:  dir,
		Key:  path.Join(dir, "server.key"),
		Cert: path.Join(dir, "server.crt"),
		Root: path.Join(dir, "root.crt"),
		CSR:  path.Join(dir, "server.csr"),
	}
}

// wantedNames are the certificate names from the inventory.
func wantedNames(env *tasks.Env, p *params) (pg.Names, error) {
	in := pg.SANInput{
		InventoryHostname: p.str("inventory_hostname", env.Host),
		AnsibleHost:       p.str("ansible_host", ""),
		PGHost:            p.str("pg_host", ""),
		Extra:             p.list("tls_san"),
	}
	n, err := pg.WantedNames(in)
	if err != nil {
		return n, &argError{fmt.Sprintf("host %s: %v", env.Host, err)}
	}
	if len(n.DNS) == 0 && len(n.IPs) == 0 {
		return n, fmt.Errorf("host %s: no certificate names: set ansible_host, pg_host or tls_san", env.Host)
	}
	return n, nil
}

// get looks a parameter up as pg's trust-anchor helpers want it ("" when
// unset): the task's arguments, then the host's variables.
func (p *params) get(name string) string { return p.str(name, "") }

// caDir and csrDir are the control machine's CA and CSR directories, with
// the defaults `sshplay pg status` uses too (pg.CADir, pg.CSRDir).
func caDir(p *params) string  { return pg.CADir(p.get) }
func csrDir(p *params) string { return pg.CSRDir(p.get) }

// journaler journals this run's changes on the host. Its backups carry the
// run id sshplay_run_id when the engine sets it, else the one of a journal
// already started on this host, else now. The configuration files the
// playbook edits are backed up with the first command that copies
// anything (see pg.Journaler.Also).
func journaler(ctx context.Context, env *tasks.Env, p *params, f *pg.Facts) *pg.Journaler {
	return &pg.Journaler{Conn: env.Conn, DataDir: f.DataDirectory, Run: p.str("sshplay_run_id", pg.NewRunID(nowFunc())),
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

func loadTLSTarget(ctx context.Context, env *tasks.Env, p *params) (*tlsTarget, error) {
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
