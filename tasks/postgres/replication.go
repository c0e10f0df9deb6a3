package postgres

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pg/pgconf"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

var replicationParams = append([]string{"pg_tls_dir", "tls_ca_mode", "tls_ca_dir", "tls_csr_dir", "inventory_dir",
	"sshplay_inventory_dir", "pg_replication_timeout"}, commonParams...)

// ReplicationRootFile is the file, in the standby's TLS directory, that
// primary_conninfo's sslrootcert names: sshplay's root alone (root.crt may
// also trust client CAs, which must not vouch for the primary).
const ReplicationRootFile = "replication-root.crt"

// replicationLink is what a standby tells its primary's pg_hba step
// through the registered result: the primary it follows, the name its
// walsender shows, and whether the link uses (or will use) TLS.
type replicationLink struct {
	Standby     bool   `json:"standby"`
	PrimaryHost string `json:"primary_host,omitempty"`
	PrimaryPort int    `json:"primary_port,omitempty"`
	Application string `json:"application_name,omitempty"`
	// TLS: the link verifies the primary with sshplay's root (already, or
	// planned in this run: the primary's enforcement counts on it).
	TLS bool `json:"tls"`
	// Reason says why the link is left as it is.
	Reason string `json:"reason,omitempty"`
}

func (l replicationLink) result(summary string) map[string]any {
	return map[string]any{"standby": l.Standby, "primary_host": l.PrimaryHost, "primary_port": l.PrimaryPort,
		"application_name": l.Application, "tls": l.TLS, "reason": l.Reason, "msg": summary, tasks.OutcomeKey: summary}
}

// planReplication makes a standby's link to its primary use TLS with
// verify-full against sshplay's root, before its primary starts refusing
// plaintext. The new primary_conninfo is tried from the standby first
// (IDENTIFY_SYSTEM over a replication connection); if the primary does not
// pass, the link is left as it is and the primary's pg_hba step will then
// refuse to enforce (its impact preview sees the plaintext walsender).
func planReplication(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	p, err := newParams("pg_replication", env, raw, replicationParams...)
	if err != nil {
		return nil, err
	}
	timeout := p.Int("pg_replication_timeout", 30)
	if p.Err() != nil {
		return nil, p.Err()
	}
	f, err := hostFacts(ctx, env, p, false)
	if err != nil {
		return nil, err
	}
	if f.Impact == nil || !f.Impact.Standby() {
		return &tasks.Change{Action: tasks.None, Summary: "not a streaming standby", Result: replicationLink{}.result("not a streaming standby")}, nil
	}
	ci, err := pg.ParseConninfo(f.Impact.PrimaryConninfo)
	if err != nil {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: primary_conninfo in %s: %v", env.Host, f.Impact.PrimaryConninfoFile, err)}
	}
	link := linkOf(ci, f)
	files := filesFor(p, f)
	rootPath := path.Join(files.Dir, ReplicationRootFile)
	if why := cannotSwitch(f, ci, link); why != "" {
		link.Reason = why
		return &tasks.Change{Action: tasks.None, Summary: "replication link left as it is: " + why, Result: link.result(why)}, nil
	}
	want := switchedConninfo(ci, rootPath)
	root, err := trustRoot(p)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", env.Host, err)
	}
	var reads []tasks.Precondition
	have, _, pending, err := readPlanned(ctx, env.Conn, rootPath, &reads)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, rootPath, err)
	}
	rootOK := root != nil && !pending && string(have) == string(root)
	if rootOK && sameConninfo(ci, want) {
		link.TLS = true
		s := fmt.Sprintf("replication from %s:%d already verify-full with the sshplay root", link.PrimaryHost, link.PrimaryPort)
		return &tasks.Change{Action: tasks.None, Summary: s, Result: link.result(s)}, nil
	}
	link.TLS = true
	sw := &conninfoSwitch{p: p, f: f, link: link, want: want, rootPath: rootPath, timeout: time.Duration(timeout) * time.Second}
	summary := fmt.Sprintf("would switch primary_conninfo in %s to sslmode=verify-full sslrootcert=%s (tried from this host first: left as it is if %s:%d does not pass), reload and wait for streaming",
		f.Impact.PrimaryConninfoFile, rootPath, link.PrimaryHost, link.PrimaryPort)
	return &tasks.Change{
		Action:  tasks.Update,
		Summary: summary,
		Reads:   reads,
		Writes: []overlay.PlannedFile{{Path: rootPath, Content: root, Pending: root == nil, Mode: 0o644},
			{Path: f.Impact.PrimaryConninfoFile, Pending: true}},
		Result: factsResult(link.result(summary), f, pg.PartConfig, pg.PartJournal),
		Apply:  sw.apply,
	}, nil
}

// linkOf reads the primary's address and the walsender's name from a
// standby's conninfo (the walreceiver names itself cluster_name, else
// "walreceiver", unless application_name is set).
func linkOf(ci *pg.Conninfo, f *pg.Facts) replicationLink {
	l := replicationLink{Standby: true, PrimaryPort: 5432}
	l.PrimaryHost, _ = ci.Get("host")
	if v, ok := ci.Get("port"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			l.PrimaryPort = n
		}
	}
	l.Application, _ = ci.Get("application_name")
	if l.Application == "" {
		l.Application = f.ClusterName
	}
	if l.Application == "" {
		l.Application = "walreceiver"
	}
	return l
}

// cannotSwitch says why a standby's link cannot be switched by a reload.
func cannotSwitch(f *pg.Facts, ci *pg.Conninfo, l replicationLink) string {
	switch {
	case f.ServerVersionNum < 130000:
		return "PostgreSQL before 13 reads primary_conninfo only at start; set sslmode=verify-full there at the next restart"
	case l.PrimaryHost == "" || strings.HasPrefix(l.PrimaryHost, "/"):
		return "primary_conninfo reaches the primary through a unix socket (no TLS there)"
	case strings.Contains(l.PrimaryHost, ","):
		return "primary_conninfo names several hosts (" + l.PrimaryHost + "); switch them by hand"
	case f.Impact.PrimaryConninfoFile == "":
		return "cannot tell which file sets primary_conninfo"
	}
	return ""
}

// switchedConninfo is ci with sslmode=verify-full and sslrootcert=root;
// every other parameter (password, sslcert, application_name) stays.
func switchedConninfo(ci *pg.Conninfo, root string) *pg.Conninfo {
	c, _ := pg.ParseConninfo(ci.Encode())
	c.Set("sslmode", "verify-full")
	c.Set("sslrootcert", root)
	return c
}

func sameConninfo(a, b *pg.Conninfo) bool {
	for _, k := range []string{"sslmode", "sslrootcert"} {
		x, _ := a.Get(k)
		y, _ := b.Get(k)
		if x != y {
			return false
		}
	}
	return true
}

// conninfoSwitch is the apply half of planReplication.
type conninfoSwitch struct {
	p        *args.Args
	f        *pg.Facts
	link     replicationLink
	want     *pg.Conninfo
	rootPath string
	timeout  time.Duration
}

func (s *conninfoSwitch) apply(ctx context.Context, env *tasks.Env) (map[string]any, error) {
	root, err := trustRoot(s.p)
	if err != nil || root == nil {
		return nil, fmt.Errorf("host %s: the sshplay root for %s: %v", env.Host, s.rootPath, err)
	}
	j := journaler(ctx, env, s.p, s.f)
	if err := writeJournaled(ctx, env, j, s.rootPath, root, transport.WriteOptions{Mode: 0o644}); err != nil {
		return nil, err
	}
	t := targetFor(s.p, s.f)
	if err := tryConninfo(ctx, env.Conn, t, s.want); err != nil {
		s.link.TLS = false
		s.link.Reason = fmt.Sprintf("%s:%d does not pass verify-full from this standby (%v); primary_conninfo left as it is", s.link.PrimaryHost, s.link.PrimaryPort, err)
		return factsResult(s.link.result(s.link.Reason), s.f, pg.PartJournal), nil
	}
	file := s.f.Impact.PrimaryConninfoFile
	before, err := env.Conn.ReadFile(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Host, file, err)
	}
	after, _, err := pgconf.Set(before, []pgconf.Setting{{Name: "primary_conninfo", Value: s.want.Encode()}})
	if err != nil {
		return nil, fmt.Errorf("host %s: %s: %w", env.Host, file, err)
	}
	if err := writeJournaled(ctx, env, j, file, after, transport.WriteOptions{}); err != nil {
		return nil, err
	}
	if err := waitStreamingTLS(ctx, env.Conn, t, s.timeout); err != nil {
		return nil, &tasks.Failed{Msg: fmt.Sprintf("host %s: after switching primary_conninfo to verify-full: %v", env.Host, err)}
	}
	msg := fmt.Sprintf("replication from %s:%d switched to verify-full; streaming", s.link.PrimaryHost, s.link.PrimaryPort)
	return factsResult(s.link.result(msg), s.f, pg.PartConfig, pg.PartJournal), nil
}

// tryConninfo opens a replication connection with c from the standby, as
// its walreceiver would, and runs IDENTIFY_SYSTEM. The password goes on
// stdin into PGPASSWORD, never on a command line.
func tryConninfo(ctx context.Context, conn transport.Conn, t pg.Target, c *pg.Conninfo) error {
	pw, _ := c.Get("password")
	noPW, _ := pg.ParseConninfo(c.Encode())
	noPW.Delete("password")
	noPW.Set("replication", "true")
	noPW.Set("connect_timeout", "10")
	psql := "psql"
	if t.Bindir != "" {
		psql = path.Join(t.Bindir, "psql")
	}
	cmd := `IFS= read -r PGPASSWORD; if [ -n "$PGPASSWORD" ]; then export PGPASSWORD; else unset PGPASSWORD; fi; ` +
		shellescape.Quote(psql) + " -XAtq -v ON_ERROR_STOP=1 " + shellescape.Quote(noPW.Encode()) + " -c IDENTIFY_SYSTEM >/dev/null"
	if _, err := conn.Run(ctx, cmd, transport.RunOptions{Stdin: strings.NewReader(pw + "\n")}); err != nil {
		return err
	}
	return nil
}

// waitStreamingTLS reloads and waits, in one psql session on the host,
// until the WAL receiver streams with the new conninfo.
func waitStreamingTLS(ctx context.Context, c transport.Conn, t pg.Target, timeout time.Duration) error {
	tries := int(timeout / (100 * time.Millisecond))
	if tries < 1 {
		tries = 1
	}
	sql := `SELECT pg_reload_conf();
DO $$ BEGIN FOR i IN 1..` + strconv.Itoa(tries) + ` LOOP
  PERFORM 1 FROM pg_stat_wal_receiver WHERE status = 'streaming' AND conninfo LIKE '%sslmode=verify-full%';
  IF FOUND THEN RETURN; END IF;
  PERFORM pg_sleep(0.1);
END LOOP;
RAISE EXCEPTION 'the WAL receiver is not streaming with sslmode=verify-full after ` + timeout.String() + `';
END $$;
`
	_, err := pg.Query(ctx, c, t, sql)
	return err
}
