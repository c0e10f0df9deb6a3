package lab

// Streaming standbys: a lab host turned into a physical standby of another,
// cloned with pg_basebackup as a DBA would, so that the flagship job meets
// walsenders, primary_conninfo and TLS files carried over by the clone.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ReplicationUser is the role (LOGIN REPLICATION, scram-sha-256 password)
// that standbys log in as on their primary.
const ReplicationUser = "replicator"

// sslModes are the sslmode values libpq knows, in its order.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// StandbyOptions say how MakeStandby links a standby to its primary.
type StandbyOptions struct {
	// SSLMode is the sslmode of the standby's primary_conninfo (and of the
	// pg_basebackup that clones it): one of disable, allow, prefer,
	// require, verify-ca, verify-full; "" means prefer, libpq's default.
	// It decides whether the replication link uses TLS, which is what
	// enforcing TLS on the primary can break.
	SSLMode string
}

// mode returns the sslmode to use, or a *ConfigError.
func (o StandbyOptions) mode() (string, error) {
	if o.SSLMode == "" {
		return "prefer", nil
	}
	if !slices.Contains(sslModes, o.SSLMode) {
		return "", &ConfigError{Msg: fmt.Sprintf("sslmode %q: want one of %s", o.SSLMode, strings.Join(sslModes, ", "))}
	}
	return o.SSLMode, nil
}

// MakeStandby turns lab host standby into a streaming standby of lab host
// primary, as a DBA does it: the primary gets the role ReplicationUser and
// a `host replication` pg_hba record ahead of its other TCP records; the
// standby's data directory is replaced by a pg_basebackup of the primary
// (so it carries whatever the primary's has, server.key included), its
// own address, port, socket directory and cluster name are put back, and
// primary_conninfo (with o.SSLMode) plus standby.signal are written as
// `pg_basebackup -R` would. It returns once the standby streams
// (pg_stat_wal_receiver), or with the standby's log tail. A RHEL-layout
// standby's postgresql.conf is the clone's (the primary's TLS settings
// included) with the host's own identity; a Debian-layout standby keeps
// its own configuration files, outside the data directory, as they are.
// Calling it again clones the standby afresh.
//
// The standby's postgres password becomes the primary's (its catalog is a
// copy): Host.PGPassword and the pgpass file follow. Reset turns every
// standby back into an independent host. A standby cannot have standbys
// of its own, be a primary already, or have client-certificate users.
func (l *Lab) MakeStandby(ctx context.Context, standby, primary string, o StandbyOptions) error {
	unlock, err := lock(ctx, l.lockFile())
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlock()
	err = l.makeStandby(ctx, standby, primary, o)
	if serr := l.saveAll(); err == nil {
		err = serr
	}
	return err
}

// makeStandby is MakeStandby for a caller holding the lab lock; the caller
// saves the state.
func (l *Lab) makeStandby(ctx context.Context, standby, primary string, o StandbyOptions) error {
	mode, err := o.mode()
	if err != nil {
		return err
	}
	s, pr, err := l.standbyPair(standby, primary)
	if err != nil {
		return err
	}
	sp, pp := pathsFor(l.Dir, s.Name), pathsFor(l.Dir, pr.Name)
	if err := ensureTemplate(ctx); err != nil { // Reset needs it to undo this
		return err
	}
	pw, err := ensureReplicator(ctx, pr, pp, mode)
	if err != nil {
		return err
	}
	if err := cloneStandby(ctx, s, sp, pr, pw, mode); err != nil {
		return err
	}
	// From here on the host is a standby, whatever happens next: Reset
	// must know to give it a fresh cluster.
	s.Primary, s.PrimarySSLMode = pr.Name, mode
	if s.PGPassword, err = readPassword(pp.password); err != nil {
		return fmt.Errorf("host %s: postgres %w", pr.Name, err)
	}
	if err := removeIfExists(rolesFile(sp)); err != nil { // they went with its catalog
		return fmt.Errorf("host %s: %w", s.Name, err)
	}
	if err := startPostgres(ctx, s, sp); err != nil {
		return err
	}
	return waitStreaming(ctx, s, sp, pr)
}

// standbyPair finds the two hosts and refuses pairs the lab does not make.
func (l *Lab) standbyPair(standby, primary string) (*Host, *Host, error) {
	bad := func(format string, a ...any) (*Host, *Host, error) {
		return nil, nil, &ConfigError{Msg: fmt.Sprintf("standby %s of %s: ", standby, primary) + fmt.Sprintf(format, a...)}
	}
	s, err := l.Host(standby)
	if err != nil {
		return bad("no host %s in %s", standby, l.Dir)
	}
	pr, err := l.Host(primary)
	if err != nil {
		return bad("no host %s in %s", primary, l.Dir)
	}
	switch {
	case s == pr:
		return bad("a host cannot be its own standby")
	case pr.Primary != "":
		return bad("%s is itself a standby (of %s); the lab makes no cascading standbys", pr.Name, pr.Primary)
	}
	for _, h := range l.Hosts {
		if h.Primary == s.Name {
			return bad("%s is the primary of %s; reset the lab first", s.Name, h.Name)
		}
	}
	if _, err := os.Stat(tlsDir(pathsFor(l.Dir, s.Name))); err == nil {
		return bad("%s has client-certificate users; make it a standby before adding them, or reset the lab", s.Name)
	}
	return s, pr, nil
}

// replicatorPasswordFile keeps the password of ReplicationUser on a primary
// (root only, 0600); it also ends up in its standbys' primary_conninfo.
func replicatorPasswordFile(p hostPaths) string { return filepath.Join(p.root, "replicator_password") }

// ensureReplicator gives the primary the replication role (with the
// password kept in replicatorPasswordFile, made on first use) and its
// pg_hba record, reloads when the record is new and waits until a
// replication connection as that role gets in. It returns the password.
func ensureReplicator(ctx context.Context, pr *Host, pp hostPaths, mode string) (string, error) {
	pw, err := readPassword(replicatorPasswordFile(pp))
	if err != nil {
		if pw, err = newPassword(); err != nil {
			return "", fmt.Errorf("host %s: %s password: %w", pr.Name, ReplicationUser, err)
		}
		if err := writeFileAtomic(replicatorPasswordFile(pp), []byte(pw+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("host %s: %w", pr.Name, err)
		}
	}
	sql := fmt.Sprintf("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%[1]s') THEN CREATE ROLE %[1]s; END IF; END$$;\n"+
		"ALTER ROLE %[1]s WITH LOGIN REPLICATION PASSWORD %[2]s;\n", ReplicationUser, quoteConf(pw))
	if _, err := psqlSecret(ctx, pr, pp, sql, pw); err != nil {
		return "", err
	}
	if err := recordRole(pp, ReplicationUser); err != nil {
		return "", fmt.Errorf("host %s: %w", pr.Name, err)
	}
	changed, err := addHBARecord(pr, hbaRecord("host", "replication", ReplicationUser, "127.0.0.0/8", "scram-sha-256"))
	if err != nil {
		return "", err
	}
	if changed {
		if _, err := psql(ctx, pr, pp, "SELECT pg_reload_conf()"); err != nil {
			return "", err
		}
	}
	return pw, waitReplicationLogin(ctx, pr, pp, pw, mode)
}

// waitReplicationLogin polls until a replication connection as
// ReplicationUser is let in: a reload is applied shortly after
// pg_reload_conf returns, and pg_basebackup must not race it.
func waitReplicationLogin(ctx context.Context, pr *Host, pp hostPaths, pw, mode string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=replication replication=true sslmode=%s connect_timeout=5",
			pr.Addr, pr.PGPort, ReplicationUser, mode))
		if err != nil {
			return fmt.Errorf("host %s: replication login: %w", pr.Name, err)
		}
		cfg.Password = pw
		c, err := pgconn.ConnectConfig(ctx, cfg)
		if err == nil {
			return c.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: replication login as %s (sslmode=%s): %s; log: %s", pr.Name, ReplicationUser, mode, redactPW(err.Error(), pw), tail(pp.pgLog, 3))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// primaryConninfo is the standby's primary_conninfo, in the form
// `pg_basebackup -R` writes (password included, as there).
func primaryConninfo(s, pr *Host, pw, mode string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s application_name=%s sslmode=%s",
		pr.Addr, pr.PGPort, ReplicationUser, pw, s.Name, mode)
}

// cloneStandby replaces the (stopped) standby's data directory by a
// pg_basebackup of the primary and makes it a standby configured as the
// host itself. When the backup fails the old data directory stays and the
// host is started again.
func cloneStandby(ctx context.Context, s *Host, sp hostPaths, pr *Host, pw, mode string) error {
	if err := stopPostgres(ctx, s, sp); err != nil {
		return err
	}
	own, err := ownConfig(s)
	if err != nil {
		return err
	}
	clone, err := baseBackup(ctx, s, sp, pr, pw, mode)
	if err != nil {
		return errors.Join(err, startPostgres(ctx, s, sp))
	}
	if err := os.RemoveAll(sp.data); err != nil {
		return fmt.Errorf("host %s: replace data directory: %w", s.Name, err)
	}
	if err := os.Rename(clone, sp.data); err != nil {
		return fmt.Errorf("host %s: replace data directory: %w", s.Name, err)
	}
	if err := placeStandbyConfig(s, sp, own); err != nil {
		return err
	}
	if _, err := writeStandbyConninfo(s, sp, primaryConninfo(s, pr, pw, mode)); err != nil {
		return err
	}
	uid, gid := pgIDs()
	if err := writeOwned(filepath.Join(sp.data, "standby.signal"), nil, 0o600, uid, gid); err != nil {
		return fmt.Errorf("host %s: %w", s.Name, err)
	}
	return ownTree(sp.data, uid, gid)
}

// baseBackup runs pg_basebackup from the primary over TCP as
// ReplicationUser (password in the environment, never in argv) into a new
// directory next to the standby's data directory and returns its path.
func baseBackup(ctx context.Context, s *Host, sp hostPaths, pr *Host, pw, mode string) (string, error) {
	clone := sp.data + ".clone"
	uid, gid := pgIDs()
	if err := os.RemoveAll(clone); err != nil {
		return "", fmt.Errorf("host %s: %w", s.Name, err)
	}
	if err := mkdirOwned(clone, 0o700, uid, gid); err != nil {
		return "", fmt.Errorf("host %s: %w", s.Name, err)
	}
	conn := fmt.Sprintf("host=%s port=%d user=%s application_name=%s sslmode=%s", pr.Addr, pr.PGPort, ReplicationUser, s.Name, mode)
	_, err := asPostgresIn(ctx, cmdInput{env: []string{"PGPASSWORD=" + pw}}, "pg_basebackup",
		"-D", clone, "-X", "stream", "-c", "fast", "--no-sync", "-w", "-d", conn)
	if err != nil {
		os.RemoveAll(clone)
		return "", fmt.Errorf("host %s: clone %s: %s", s.Name, pr.Name, redactPW(err.Error(), pw))
	}
	return clone, nil
}

// configFile is one configuration file a RHEL-layout host keeps in its
// data directory.
type configFile struct {
	body []byte
	mode fs.FileMode
}

// ownConfig reads the configuration files of a RHEL-layout host's data
// directory before the clone replaces it (a Debian-layout host keeps its
// own outside, untouched).
func ownConfig(h *Host) (map[string]configFile, error) {
	own := map[string]configFile{}
	if h.Layout != LayoutRHEL {
		return own, nil
	}
	for _, name := range []string{"postgresql.conf", "pg_hba.conf", "pg_ident.conf"} {
		path := filepath.Join(h.DataDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		own[name] = configFile{b, fi.Mode().Perm()}
	}
	return own, nil
}

// identitySettings are the pgSettings that make a cluster this host rather
// than the one it was cloned from. ssl is left out: a clone of a TLS
// primary keeps the primary's TLS settings with its TLS files, as a real
// clone does.
func identitySettings(h *Host, p hostPaths) [][2]string {
	var s [][2]string
	for _, kv := range pgSettings(h, p) {
		if kv[0] != "ssl" {
			s = append(s, kv)
		}
	}
	return s
}

// placeStandbyConfig makes the cloned data directory the standby's own.
// Debian layout: the configuration lives outside, so the copies the clone
// brought from a RHEL-layout primary go. RHEL layout: the clone's
// postgresql.conf is the primary's, so the host's own address, port,
// sockets and cluster name are written into it; files the clone lacks (a
// Debian-layout primary keeps them elsewhere) are the host's previous
// ones. Leftover temporary files of the lab's own writes go too; TLS files
// and anything else of the primary's stay, as in a real clone.
func placeStandbyConfig(s *Host, sp hostPaths, own map[string]configFile) error {
	uid, gid := pgIDs()
	if err := removeLabTemps(sp.data); err != nil {
		return fmt.Errorf("host %s: %w", s.Name, err)
	}
	if s.Layout == LayoutDebian {
		for _, name := range []string{"postgresql.conf", "pg_hba.conf", "pg_ident.conf"} {
			if err := removeIfExists(filepath.Join(sp.data, name)); err != nil {
				return fmt.Errorf("host %s: %w", s.Name, err)
			}
		}
		return nil
	}
	for name, f := range own {
		path := filepath.Join(sp.data, name)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := writeOwned(path, f.body, f.mode, uid, gid); err != nil {
			return fmt.Errorf("host %s: %w", s.Name, err)
		}
	}
	return editConf(s, s.ConfigFile, identitySettings(s, sp))
}

// editConf sets key = value pairs in a postgresql.conf file, keeping its
// mode and giving it to postgres; an unchanged file is not rewritten.
func editConf(h *Host, path string, settings [][2]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	conf := string(b)
	for _, kv := range settings {
		conf = setConf(conf, kv[0], kv[1])
	}
	if conf == string(b) {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	uid, gid := pgIDs()
	if err := writeOwned(path, []byte(conf), fi.Mode().Perm(), uid, gid); err != nil {
		return fmt.Errorf("host %s: %s: %w", h.Name, filepath.Base(path), err)
	}
	return nil
}

// removeLabTemps removes the temporary files of writeOwned and
// writeFileAtomic left in dir by an interrupted write.
func removeLabTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sshplay-lab-tmp") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeStandbyConninfo sets primary_conninfo in the standby's
// postgresql.auto.conf and reports whether it changed.
func writeStandbyConninfo(s *Host, sp hostPaths, conninfo string) (bool, error) {
	path := filepath.Join(sp.data, "postgresql.auto.conf")
	before, err := confValue(path, "primary_conninfo")
	if err != nil {
		return false, fmt.Errorf("host %s: %w", s.Name, err)
	}
	if before == conninfo {
		return false, nil
	}
	return true, editConf(s, path, [][2]string{{"primary_conninfo", quoteConf(conninfo)}})
}

// ownTree gives every file under dir to uid:gid and dir mode 0700, as
// PostgreSQL wants its data directory.
func ownTree(dir string, uid, gid int) error {
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err == nil {
		err = os.Chmod(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	return nil
}

// waitStreaming polls pg_stat_wal_receiver on the standby until its status
// is streaming.
func waitStreaming(ctx context.Context, s *Host, sp hostPaths, pr *Host) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	status := ""
	for {
		out, err := psql(ctx, s, sp, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'no wal receiver')")
		if err == nil {
			status = out
		}
		if status == "streaming" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: standby of %s not streaming (%s); log: %s", s.Name, pr.Name, status, tail(sp.pgLog, 5))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// refreshStandby is what Up does for a standby that exists: its postgres
// password is its primary's, and its primary_conninfo follows the
// primary's current address (a host may move while the lab is down).
func (l *Lab) refreshStandby(ctx context.Context, s *Host, sp hostPaths) error {
	pr, err := l.Host(s.Primary)
	if err != nil {
		return fmt.Errorf("host %s: %w", s.Name, err)
	}
	pp := pathsFor(l.Dir, pr.Name)
	if s.PGPassword, err = readPassword(pp.password); err != nil {
		return fmt.Errorf("host %s: postgres %w", pr.Name, err)
	}
	pw, err := readPassword(replicatorPasswordFile(pp))
	if err != nil {
		return fmt.Errorf("host %s: %s %w", pr.Name, ReplicationUser, err)
	}
	changed, err := writeStandbyConninfo(s, sp, primaryConninfo(s, pr, pw, s.PrimarySSLMode))
	if err != nil || !changed || !pgRunning(sp) {
		return err
	}
	_, err = psql(ctx, s, sp, "SELECT pg_reload_conf()")
	return err
}

// recloneTemplate gives a host that was a standby a fresh copy of the
// template cluster, as at creation; restorePristine then puts its own
// configuration back. The cluster must be stopped.
func recloneTemplate(ctx context.Context, h *Host, p hostPaths) error {
	if err := os.RemoveAll(p.data); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if _, err := run(ctx, "cp", "-a", filepath.Join(templateDir, "data"), p.data); err != nil {
		return fmt.Errorf("host %s: copy cluster template: %w", h.Name, err)
	}
	return nil
}

// standbysOf lists the hosts whose primary is name.
func (l *Lab) standbysOf(name string) []string {
	var s []string
	for _, h := range l.Hosts {
		if h.Primary == name {
			s = append(s, h.Name)
		}
	}
	return s
}
