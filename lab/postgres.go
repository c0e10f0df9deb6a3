package lab

// One PostgreSQL 15 cluster per host, copied from a template made once per
// machine by initdb.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// ensureTemplate runs initdb once per machine into templateDir; hosts copy it.
func ensureTemplate(ctx context.Context) error {
	unlock, err := lock(ctx, templateDir+".lock")
	if err != nil {
		return fmt.Errorf("lab: template: %w", err)
	}
	defer unlock()
	done := filepath.Join(templateDir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	uid, gid, err := lookupIDs(PGUser)
	if err != nil {
		return fmt.Errorf("lab: template: %w", err)
	}
	if err := os.RemoveAll(templateDir); err != nil {
		return fmt.Errorf("lab: template: %w", err)
	}
	if err := os.MkdirAll(templateDir, 0o755); err != nil {
		return fmt.Errorf("lab: template: %w", err)
	}
	if err := os.Chown(templateDir, uid, gid); err != nil {
		return fmt.Errorf("lab: template: %w", err)
	}
	if _, err := asPostgres(ctx, "initdb", "-D", filepath.Join(templateDir, "data"), "-U", PGUser,
		"--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale",
		"--no-sync", "--no-instructions", "--wal-segsize=1"); err != nil {
		return fmt.Errorf("lab: template initdb in %s: %w", templateDir, err)
	}
	if err := os.WriteFile(done, []byte("initdb done\n"), 0o644); err != nil {
		return fmt.Errorf("lab: template: %w", err)
	}
	return nil
}

const pgHBA = `# PostgreSQL Client Authentication Configuration File
# ===================================================
#
# Written by sshplay lab for host %s. See "The pg_hba.conf File" in the
# PostgreSQL documentation. Records are read top-down; the first match wins.
#
# TYPE  DATABASE        USER            ADDRESS                 METHOD

# "local" is for Unix domain socket connections only
local   all             all                                     peer
# IPv4 connections: a client on this machine reaching 127.0.0.X shows up
# as coming from 127.0.0.1, hence the whole loopback network.
host    all             all             127.0.0.0/8             scram-sha-256
# IPv6 local connections:
host    all             all             ::1/128                 scram-sha-256
# Allow replication connections from localhost, by a user with the
# replication privilege.
host    replication     all             127.0.0.0/8             scram-sha-256
`

// setConf sets key = value in postgresql.conf text, in place of the last
// active line for key (the one PostgreSQL obeys) if there is one, else of
// its first commented-out default, else at the end; the trailing comment of
// the replaced line is kept.
func setConf(conf, key, value string) string {
	lines := strings.Split(conf, "\n")
	re := regexp.MustCompile(`^(\s*#?\s*)` + regexp.QuoteMeta(key) + `\s*=\s*('(?:[^']|'')*'|[^\s#]*)(.*)$`)
	active, commented := -1, -1
	for i, line := range lines {
		m := re.FindStringSubmatch(line)
		switch {
		case m == nil:
		case !strings.Contains(m[1], "#"):
			active = i
		case commented < 0:
			commented = i
		}
	}
	at := active
	if at < 0 {
		at = commented
	}
	if at < 0 {
		if n := len(lines); n > 0 && lines[n-1] == "" {
			lines = lines[:n-1]
		}
		return strings.Join(append(lines, key+" = "+value, ""), "\n")
	}
	m := re.FindStringSubmatch(lines[at])
	lines[at] = key + " = " + value + m[3]
	return strings.Join(lines, "\n")
}

// confValue returns the value of the active key line of a postgresql.conf
// file, unquoted; "" when there is none.
func confValue(path, key string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(key) + `\s*=\s*('(?:[^']|'')*'|[^\s#]*)`)
	val := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			val = m[1] // the last one wins, as in PostgreSQL
		}
	}
	if strings.HasPrefix(val, "'") && strings.HasSuffix(val, "'") && len(val) >= 2 {
		val = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
	}
	return val, nil
}

func quoteConf(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgSettings are the values the lab puts into postgresql.conf.
func pgSettings(h *Host, p hostPaths) [][2]string {
	s := [][2]string{
		{"listen_addresses", quoteConf(h.Addr)},
		{"port", strconv.Itoa(h.PGPort)},
		{"max_connections", "20"},
		{"unix_socket_directories", quoteConf(p.run)},
		{"ssl", "off"},
		{"shared_buffers", "16MB"},
		{"cluster_name", quoteConf(h.Name)},
	}
	if h.Layout == LayoutDebian {
		s = append([][2]string{
			{"data_directory", quoteConf(p.data)},
			{"hba_file", quoteConf(h.HBAFile)},
			{"ident_file", quoteConf(filepath.Join(p.etc, "pg_ident.conf"))},
		}, s...)
	}
	return s
}

// manifest lists the files a pristine host has, for Reset to remove the rest.
type manifest struct {
	Etc  []string `json:"etc"`
	Data []string `json:"data"`
}

// createCluster copies the template into the host's data directory, writes
// its configuration in the host's layout and keeps pristine copies.
func createCluster(ctx context.Context, h *Host, p hostPaths) error {
	uid, gid, err := lookupIDs(PGUser)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	for _, d := range []string{p.run, p.logDir} {
		if err := mkdirOwned(d, 0o755, uid, gid); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if _, err := run(ctx, "cp", "-a", filepath.Join(templateDir, "data"), p.data); err != nil {
		return fmt.Errorf("host %s: copy cluster template: %w", h.Name, err)
	}
	b, err := os.ReadFile(filepath.Join(p.data, "postgresql.conf"))
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	conf := string(b)
	for _, kv := range pgSettings(h, p) {
		conf = setConf(conf, kv[0], kv[1])
	}
	hba := fmt.Sprintf(pgHBA, h.Name)
	confMode := os.FileMode(0o600)
	if h.Layout == LayoutDebian {
		confMode = 0o644 // as postgresql-common has it
		if err := mkdirOwned(p.etc, 0o755, uid, gid); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
		if err := os.Rename(filepath.Join(p.data, "pg_ident.conf"), filepath.Join(p.etc, "pg_ident.conf")); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
		for _, f := range []string{"postgresql.conf", "pg_hba.conf"} {
			if err := os.Remove(filepath.Join(p.data, f)); err != nil {
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
		}
	}
	if err := writeOwned(h.ConfigFile, []byte(conf), confMode, uid, gid); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := writeOwned(h.HBAFile, []byte(hba), 0o640, uid, gid); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return savePristine(h, p)
}

// savePristine keeps copies of the configuration files and a list of the
// files present, for Reset.
func savePristine(h *Host, p hostPaths) error {
	if err := os.MkdirAll(p.pristine, 0o700); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	for name, src := range pristineFiles(h, p) {
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("host %s: keep pristine %s: %w", h.Name, name, err)
		}
		if err := writeFileAtomic(filepath.Join(p.pristine, name), b, 0o600); err != nil {
			return fmt.Errorf("host %s: keep pristine %s: %w", h.Name, name, err)
		}
	}
	var m manifest
	var err error
	if m.Data, err = dirNames(p.data); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if h.Layout == LayoutDebian {
		if m.Etc, err = dirNames(p.etc); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return writeFileAtomic(filepath.Join(p.pristine, "manifest.json"), b, 0o600)
}

// pristineFiles maps pristine copy names to the live files.
func pristineFiles(h *Host, p hostPaths) map[string]string {
	m := map[string]string{
		"postgresql.conf":      h.ConfigFile,
		"pg_hba.conf":          h.HBAFile,
		"postgresql.auto.conf": filepath.Join(p.data, "postgresql.auto.conf"),
	}
	if h.Layout == LayoutDebian {
		m["pg_ident.conf"] = filepath.Join(p.etc, "pg_ident.conf")
	} else {
		m["pg_ident.conf"] = filepath.Join(p.data, "pg_ident.conf")
	}
	return m
}

// restorePristine puts the pristine configuration back and removes every
// file that was not there at creation (certificates, keys, backups). The
// cluster must be stopped.
func restorePristine(h *Host, p hostPaths) error {
	uid, gid, err := lookupIDs(PGUser)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	for name, dst := range pristineFiles(h, p) {
		b, err := os.ReadFile(filepath.Join(p.pristine, name))
		if err != nil {
			return fmt.Errorf("host %s: reset %s: %w", h.Name, name, err)
		}
		mode := os.FileMode(0o600)
		if h.Layout == LayoutDebian && name == "postgresql.conf" {
			mode = 0o644
		} else if name == "pg_hba.conf" {
			mode = 0o640
		}
		if err := writeOwned(dst, b, mode, uid, gid); err != nil {
			return fmt.Errorf("host %s: reset %s: %w", h.Name, name, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(p.pristine, "manifest.json"))
	if err != nil {
		return fmt.Errorf("host %s: reset: %w", h.Name, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("host %s: reset: manifest: %w", h.Name, err)
	}
	// Files postgres itself leaves in the data directory.
	keep := append(m.Data, "postmaster.opts", "postmaster.pid", "current_logfiles")
	if err := removeExtra(p.data, keep); err != nil {
		return fmt.Errorf("host %s: reset: %w", h.Name, err)
	}
	if h.Layout == LayoutDebian {
		if err := removeExtra(p.etc, m.Etc); err != nil {
			return fmt.Errorf("host %s: reset: %w", h.Name, err)
		}
	}
	return nil
}

// removeExtra removes the entries of dir not named in keep.
func removeExtra(dir string, keep []string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if slices.Contains(keep, e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func pgRunning(p hostPaths) bool {
	return procAlive(readPidFile(filepath.Join(p.data, "postmaster.pid")), "postgres")
}

// startPostgres starts the cluster unless it runs and waits until it accepts
// connections on its address (pg_isready after a start; a TCP connect is
// enough for a postmaster that was already running).
func startPostgres(ctx context.Context, h *Host, p hostPaths) error {
	if pgRunning(p) {
		addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.PGPort))
		if err := waitTCP(ctx, addr, 15*time.Second); err != nil {
			return fmt.Errorf("host %s: postgres on %s: %w; log: %s", h.Name, addr, err, tail(p.pgLog, 3))
		}
		return nil
	}
	args := []string{"-D", p.data, "-l", p.pgLog, "-w", "-t", "60", "-s"}
	if h.Layout == LayoutDebian {
		args = append(args, "-o", "-c "+shellescape.Quote("config_file="+h.ConfigFile))
	}
	if _, err := asPostgres(ctx, "pg_ctl", append(args, "start")...); err != nil {
		return fmt.Errorf("host %s: start postgres: %w; log: %s", h.Name, err, tail(p.pgLog, 3))
	}
	return waitPostgres(ctx, h, p)
}

// waitPostgres polls pg_isready on the host's TCP address.
func waitPostgres(ctx context.Context, h *Host, p hostPaths) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := asPostgres(ctx, "pg_isready", "-q", "-h", h.Addr, "-p", strconv.Itoa(h.PGPort), "-t", "5")
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: postgres on %s:%d not ready: %w; log: %s", h.Name, h.Addr, h.PGPort, err, tail(p.pgLog, 3))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopPostgres stops the cluster through its postmaster.pid (pg_ctl).
func stopPostgres(ctx context.Context, h *Host, p hostPaths) error {
	if !pgRunning(p) {
		return nil
	}
	if _, err := asPostgres(ctx, "pg_ctl", "-D", p.data, "-m", "fast", "-w", "-t", "60", "-s", "stop"); err != nil {
		if !pgRunning(p) {
			return nil
		}
		return fmt.Errorf("host %s: stop postgres: %w", h.Name, err)
	}
	return nil
}

// psql runs one statement as the postgres superuser over the host's socket.
func psql(ctx context.Context, h *Host, p hostPaths, sql string) (string, error) {
	out, err := asPostgres(ctx, "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", p.run, "-p", strconv.Itoa(h.PGPort), "-U", PGUser, "-d", "postgres", "-c", sql)
	if err != nil {
		return "", fmt.Errorf("host %s: psql: %w", h.Name, err)
	}
	return out, nil
}

// psqlSecret runs SQL that holds secret (a password) as the postgres
// superuser over the host's socket. The SQL goes on psql's stdin, never on
// its command line, and secret is masked in the error.
func psqlSecret(ctx context.Context, h *Host, p hostPaths, sql, secret string) (string, error) {
	out, err := asPostgresIn(ctx, cmdInput{stdin: sql}, "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", p.run, "-p", strconv.Itoa(h.PGPort), "-U", PGUser, "-d", "postgres", "-f", "-")
	if err != nil {
		return "", fmt.Errorf("host %s: psql: %s", h.Name, redactPW(err.Error(), secret))
	}
	return out, nil
}

// setPassword gives the postgres role the host's password (scram-sha-256).
func setPassword(ctx context.Context, h *Host, p hostPaths) error {
	_, err := psqlSecret(ctx, h, p, "ALTER ROLE "+PGUser+" PASSWORD "+quoteConf(h.PGPassword), h.PGPassword)
	return err
}

// newPassword returns a random password safe in pgpass and SQL literals.
func newPassword() (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 24)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

func dirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

func mkdirOwned(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	return os.Chown(dir, uid, gid)
}

func writeOwned(path string, b []byte, mode os.FileMode, uid, gid int) error {
	tmp := path + ".sshplay-lab-tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeFileAtomic writes a root-owned file through a temporary file.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".sshplay-lab-tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// readdressConf rewrites listen_addresses in a postgresql.conf file (live or
// pristine copy) after its host got a new address; the file keeps its mode
// and gets owner uid:gid.
func readdressConf(path, addr string, uid, gid int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return writeOwned(path, []byte(setConf(string(b), "listen_addresses", quoteConf(addr))), fi.Mode().Perm(), uid, gid)
}
