package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/sshplay/sshplay/internal/syncio"
	"golang.org/x/sync/errgroup"
)

// Host layouts.
const (
	// LayoutDebian keeps postgresql.conf, pg_hba.conf and pg_ident.conf in
	// DIR/hosts/NAME/etc, outside the data directory (odd hosts).
	LayoutDebian = "debian"
	// LayoutRHEL keeps the configuration in the data directory (even hosts).
	LayoutRHEL = "rhel"
)

// MaxHosts is the most hosts one lab may have (db01..db200; the address
// pool 127.0.0.10-250 is shared by every lab on the machine).
const MaxHosts = 200

// Config says what Up should bring up.
type Config struct {
	// Dir holds the lab's state, keys, inventory and host directories. It
	// and its parents must be traversable by the postgres and sshplay users
	// (so not under /root).
	Dir string
	// N is the number of hosts, db01..dbNN (1..MaxHosts; at least two digits).
	N int
	// Stderr receives one progress line per host created or started; nil
	// discards them.
	Stderr io.Writer
	// ClientCerts are set up once the hosts run (AddClientCertUser), before
	// Standbys, so that a standby of such a host is a clone carrying its
	// TLS files.
	ClientCerts []ClientCertSpec
	// Standbys are made once the hosts run (MakeStandby). A host that is
	// already the standby of the same primary with the same sslmode is not
	// cloned again, only checked to stream.
	Standbys []StandbySpec
}

// Lab is a set of lab hosts sharing a directory. Its state is kept in
// DIR/lab.json.
type Lab struct {
	Dir   string `json:"dir"`
	Hosts []Host `json:"hosts"`
}

// Host is one lab host: an sshd and a PostgreSQL cluster on Addr.
type Host struct {
	Name       string `json:"name"`         // db01, db02, ...
	Addr       string `json:"addr"`         // 127.0.0.X
	SSHPort    int    `json:"ssh_port"`     // 22
	PGPort     int    `json:"pg_port"`      // 5432
	DataDir    string `json:"data_dir"`     // DIR/hosts/NAME/data
	ConfigFile string `json:"config_file"`  // path of postgresql.conf
	HBAFile    string `json:"hba_file"`     // path of pg_hba.conf
	Layout     string `json:"layout"`       // LayoutDebian or LayoutRHEL
	HostKeyPub string `json:"host_key_pub"` // "ssh-ed25519 AAAA..."
	// SocketDir is the cluster's unix_socket_directories (also PGHOST in
	// the host's SSH sessions).
	SocketDir string `json:"socket_dir"`
	// PGPassword is the password of the postgres role (also in DIR/pgpass).
	// A standby's is its primary's: its catalog is a copy.
	PGPassword string `json:"pg_password"`
	// Primary names the lab host this host streams from, once MakeStandby
	// made it a standby; "" for an independent host.
	Primary string `json:"primary,omitempty"`
	// PrimarySSLMode is the sslmode of a standby's primary_conninfo.
	PrimarySSLMode string `json:"primary_sslmode,omitempty"`
}

// HostStatus is what Status reports for one host.
type HostStatus struct {
	Host, Addr, Layout string
	SSHD, Postgres     bool
	// SSL is the value of SHOW ssl ("on"/"off"), "" when postgres is down.
	SSL string
	// Primary and PrimarySSLMode are the Host fields of a standby; "" for
	// an independent host.
	Primary, PrimarySSLMode string
	// WALReceiver is a running standby's pg_stat_wal_receiver.status
	// ("streaming" when all is well), "" otherwise.
	WALReceiver string
	// Standbys names the lab hosts that are standbys of this one.
	Standbys []string
}

// ConfigError is bad input to Up (exit code 5 in the CLI).
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string  { return "lab: " + e.Msg }
func (e *ConfigError) BadInput() bool { return true }

// ErrNoLab is returned by Open when the directory holds no lab.
var ErrNoLab = errors.New("no lab here")

// KeyFile is the client private key that logs in as LoginUser on every host.
func (l *Lab) KeyFile() string { return filepath.Join(l.Dir, "id_ed25519") }

// KnownHostsFile lists every host's key under its address.
func (l *Lab) KnownHostsFile() string { return filepath.Join(l.Dir, "known_hosts") }

// PassFile is the pgpass file with the postgres password of every host.
func (l *Lab) PassFile() string { return filepath.Join(l.Dir, "pgpass") }

// InventoryINI and InventoryYAML are the same Ansible inventory in its two
// formats.
func (l *Lab) InventoryINI() string  { return filepath.Join(l.Dir, "inventory.ini") }
func (l *Lab) InventoryYAML() string { return filepath.Join(l.Dir, "inventory.yml") }

// BecomePasswordUser is the second login user, whose sudo rule requires
// its password (unlike LoginUser's): it logs in with KeyFile like LoginUser,
// and BecomePasswordFile holds its become password. It is not in the
// inventory.
func (l *Lab) BecomePasswordUser() string { return BecomePasswordUser }

// BecomePasswordFile is DIR/become_password (mode 0600): the sudo password
// of BecomePasswordUser, on one line.
func (l *Lab) BecomePasswordFile() string { return filepath.Join(l.Dir, "become_password") }

// BecomePassword reads the sudo password of BecomePasswordUser from
// BecomePasswordFile.
func (l *Lab) BecomePassword() (string, error) {
	pw, err := readPassword(l.BecomePasswordFile())
	if err != nil {
		return "", fmt.Errorf("lab: %s: %w", BecomePasswordUser, err)
	}
	return pw, nil
}

// Host returns the host called name.
func (l *Lab) Host(name string) (*Host, error) {
	for i := range l.Hosts {
		if l.Hosts[i].Name == name {
			return &l.Hosts[i], nil
		}
	}
	return nil, fmt.Errorf("lab: no host %q in %s", name, l.Dir)
}

// index returns the position of h, which points into l.Hosts.
func (h *Host) index(l *Lab) int {
	for i := range l.Hosts {
		if &l.Hosts[i] == h {
			return i
		}
	}
	return -1
}

func (l *Lab) clientPub() string { return l.KeyFile() + ".pub" }
func (l *Lab) stateFile() string { return filepath.Join(l.Dir, "lab.json") }
func (l *Lab) lockFile() string  { return filepath.Join(l.Dir, ".lock") }

// hostPaths are the files of one host under DIR/hosts/NAME.
type hostPaths struct {
	root, hostKey, sshdConfig, sshdPid, sshdLog string
	etc, data, run, logDir, pgLog, pristine     string
	password, created                           string
}

func pathsFor(dir, name string) hostPaths {
	r := filepath.Join(dir, "hosts", name)
	return hostPaths{
		root:       r,
		hostKey:    filepath.Join(r, "ssh", "ssh_host_ed25519_key"),
		sshdConfig: filepath.Join(r, "ssh", "sshd_config"),
		sshdPid:    filepath.Join(r, "ssh", "sshd.pid"),
		sshdLog:    filepath.Join(r, "ssh", "sshd.log"),
		etc:        filepath.Join(r, "etc"),
		data:       filepath.Join(r, "data"),
		run:        filepath.Join(r, "run"),
		logDir:     filepath.Join(r, "log"),
		pgLog:      filepath.Join(r, "log", "postgresql.log"),
		pristine:   filepath.Join(r, "pristine"),
		password:   filepath.Join(r, "pg_password"),
		created:    filepath.Join(r, ".created"),
	}
}

// describe fills in the fields of h that follow from its name and lab dir.
func describe(dir string, h *Host, index int) {
	p := pathsFor(dir, h.Name)
	h.SSHPort, h.PGPort = 22, 5432
	h.DataDir, h.SocketDir = p.data, p.run
	h.Layout = LayoutRHEL
	if index%2 == 1 {
		h.Layout = LayoutDebian
	}
	if h.Layout == LayoutDebian {
		h.ConfigFile = filepath.Join(p.etc, "postgresql.conf")
		h.HBAFile = filepath.Join(p.etc, "pg_hba.conf")
	} else {
		h.ConfigFile = filepath.Join(p.data, "postgresql.conf")
		h.HBAFile = filepath.Join(p.data, "pg_hba.conf")
	}
}

// safeDir is what a lab dir may contain: it ends up unquoted in sshd_config
// and in inventory values.
var safeDir = regexp.MustCompile(`^/[A-Za-z0-9._/+@,=~-]*$`)

// Up creates and starts cfg.N hosts in cfg.Dir, or just starts what is
// stopped when they exist, adding hosts when N grew (a lab never shrinks).
// It returns once every sshd accepts TCP connections and every cluster
// accepts connections. On error the state written so far stays in Dir, so
// Open + Down can clean up.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	dir, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := Check(); err != nil {
		return nil, err
	}
	if err := traversable(dir); err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("lab dir %s: %v", dir, err)}
	}
	var logw io.Writer = io.Discard
	if cfg.Stderr != nil {
		logw = syncio.NewWriter(cfg.Stderr)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ensureLoginUser(gctx) })
	g.Go(func() error { return ensureTemplate(gctx) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := makeLabDir(dir); err != nil {
		return nil, err
	}
	unlock, err := lock(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer unlock()

	l, err := Open(dir)
	if errors.Is(err, ErrNoLab) {
		l, err = &Lab{Dir: dir}, nil
	}
	if err != nil {
		return nil, err
	}
	l.Dir = dir
	for i := len(l.Hosts); i < cfg.N; i++ {
		l.Hosts = append(l.Hosts, Host{Name: fmt.Sprintf("db%02d", i+1)})
	}
	if cfg.N < len(l.Hosts) {
		fmt.Fprintf(logw, "lab: %s already has %d hosts; keeping all of them\n", dir, len(l.Hosts))
	}
	for i := range l.Hosts {
		describe(dir, &l.Hosts[i], i+1)
	}
	if _, err := os.Stat(l.KeyFile()); err != nil {
		if _, err := newKeyPair(l.KeyFile(), "sshplay-lab"); err != nil {
			return nil, fmt.Errorf("lab: client key: %w", err)
		}
	}

	if err := l.claimAddresses(ctx); err != nil {
		return nil, err
	}

	if err := l.ensureHosts(ctx, logw); err != nil {
		return l, err
	}
	if err := l.writeClientFiles(); err != nil {
		return l, err
	}
	return l, l.applySpecs(ctx, cfg)
}

// makeLabDir creates the lab dir and its hosts directory, mode 0755 so that
// the postgres and sshplay users can traverse them.
func makeLabDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "hosts"), 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// ensureHosts runs ensureHost for every host in parallel, then saves the
// state (also after an error, so that Open + Down can clean up).
func (l *Lab) ensureHosts(ctx context.Context, logw io.Writer) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(8, 4*runtime.NumCPU()))
	for i := range l.Hosts {
		h := &l.Hosts[i]
		g.Go(func() error {
			return l.ensureHost(gctx, logw, h)
		})
	}
	err := g.Wait()
	if serr := l.save(); err == nil {
		err = serr
	}
	return err
}

// claimAddresses gives every host an address (allocate, under the
// machine-wide claims lock) and saves the state while still holding it.
func (l *Lab) claimAddresses(ctx context.Context) error {
	if err := os.MkdirAll(claimsDir, 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	unlockClaims, err := lock(ctx, filepath.Join(claimsDir, ".lock"))
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlockClaims()
	if err := allocate(l); err != nil {
		return err
	}
	return l.save()
}

// checkConfig rejects bad input to Up before anything is done, and returns
// the absolute lab dir. Standbys and client-certificate users may name any
// host the lab will have: db01..dbNN, or more when it has more already.
func checkConfig(cfg Config) (string, error) {
	if cfg.N < 1 || cfg.N > MaxHosts {
		return "", &ConfigError{Msg: fmt.Sprintf("number of hosts must be 1..%d, got %d", MaxHosts, cfg.N)}
	}
	if cfg.Dir == "" {
		return "", &ConfigError{Msg: "no lab dir given"}
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return "", &ConfigError{Msg: fmt.Sprintf("lab dir %s: %v", cfg.Dir, err)}
	}
	if !safeDir.MatchString(dir) {
		return "", &ConfigError{Msg: fmt.Sprintf("lab dir %q: use only letters, digits and ._/+@,=~- in the path", dir)}
	}
	n, current := cfg.N, map[string]string{}
	if old, err := Open(dir); err == nil {
		n = max(n, len(old.Hosts))
		for _, h := range old.Hosts {
			if h.Primary != "" {
				current[h.Name] = h.Primary
			}
		}
	}
	return dir, checkSpecs(cfg, n, current)
}

// ensureHost creates h if it was never (completely) created, follows an
// address change, and starts what is not running.
func (l *Lab) ensureHost(ctx context.Context, logw io.Writer, h *Host) error {
	p := pathsFor(l.Dir, h.Name)
	start := time.Now()
	if _, err := os.Stat(p.created); err != nil {
		if _, err := os.Stat(p.root); err == nil {
			// A half-made host from an interrupted up: stop what of it runs
			// and start over.
			if err := l.stopHost(ctx, h, p); err != nil {
				return err
			}
			if err := os.RemoveAll(p.root); err != nil {
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
		}
		if err := l.createHost(ctx, h, p); err != nil {
			return err
		}
		fmt.Fprintf(logw, "lab: %s %s created (%s layout) in %s\n", h.Name, h.Addr, h.Layout, time.Since(start).Round(time.Millisecond))
		return nil
	}
	var err error
	if h.HostKeyPub, err = readPubKey(p.hostKey + ".pub"); err != nil {
		return fmt.Errorf("host %s: host key: %w", h.Name, err)
	}
	if h.PGPassword, err = readPassword(p.password); err != nil {
		return fmt.Errorf("host %s: postgres %w", h.Name, err)
	}
	if err := l.followAddress(ctx, logw, h, p); err != nil {
		return err
	}
	if h.Primary != "" {
		if err := l.refreshStandby(ctx, h, p); err != nil {
			return err
		}
	}
	changed, err := l.writeSSHDConfig(h, p)
	if err != nil {
		return err
	}
	if changed && sshdRunning(p) {
		if err := stopSSHD(ctx, h, p); err != nil {
			return err
		}
	}
	wasUp := sshdRunning(p) && pgRunning(p)
	if err := startPostgres(ctx, h, p); err != nil {
		return err
	}
	if err := startSSHD(ctx, h, p); err != nil {
		return err
	}
	if !wasUp {
		fmt.Fprintf(logw, "lab: %s %s started in %s\n", h.Name, h.Addr, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// followAddress rewrites listen_addresses (live and pristine) when the
// host got a new address: its old one was taken while it was down, or the
// lab state was lost. Its postgres and sshd are stopped first.
func (l *Lab) followAddress(ctx context.Context, logw io.Writer, h *Host, p hostPaths) error {
	listen, err := confValue(h.ConfigFile, "listen_addresses")
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if listen == h.Addr {
		return nil
	}
	if err := l.stopHost(ctx, h, p); err != nil {
		return err
	}
	uid, gid := pgIDs()
	if err := readdressConf(h.ConfigFile, h.Addr, uid, gid); err != nil {
		return fmt.Errorf("host %s: move to %s: %w", h.Name, h.Addr, err)
	}
	if err := readdressConf(filepath.Join(p.pristine, "postgresql.conf"), h.Addr, 0, 0); err != nil {
		return fmt.Errorf("host %s: move to %s: %w", h.Name, h.Addr, err)
	}
	fmt.Fprintf(logw, "lab: %s moved from %s to %s\n", h.Name, listen, h.Addr)
	return nil
}

func pgIDs() (int, int) {
	uid, gid, err := lookupIDs(PGUser)
	if err != nil {
		return -1, -1 // Chown leaves the owner as it is.
	}
	return uid, gid
}

// createHost makes a new host: directories, host key, cluster, password,
// sshd. The .created marker is written last.
func (l *Lab) createHost(ctx context.Context, h *Host, p hostPaths) error {
	for _, d := range []string{p.root, filepath.Dir(p.hostKey)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	var err error
	if h.HostKeyPub, err = newKeyPair(p.hostKey, "root@"+h.Name); err != nil {
		return fmt.Errorf("host %s: host key: %w", h.Name, err)
	}
	if h.PGPassword, err = newPassword(); err != nil {
		return fmt.Errorf("host %s: password: %w", h.Name, err)
	}
	if err := writeFileAtomic(p.password, []byte(h.PGPassword+"\n"), 0o600); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := createCluster(ctx, h, p); err != nil {
		return err
	}
	if err := startPostgres(ctx, h, p); err != nil {
		return err
	}
	if err := setPassword(ctx, h, p); err != nil {
		return err
	}
	if _, err := l.writeSSHDConfig(h, p); err != nil {
		return err
	}
	if err := startSSHD(ctx, h, p); err != nil {
		return err
	}
	if err := os.WriteFile(p.created, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return nil
}

// writeSSHDConfig writes the host's sshd_config and reports whether it
// changed.
func (l *Lab) writeSSHDConfig(h *Host, p hostPaths) (bool, error) {
	want := sshdConfig(l, h, p)
	if b, err := os.ReadFile(p.sshdConfig); err == nil && string(b) == want {
		return false, nil
	}
	if err := writeFileAtomic(p.sshdConfig, []byte(want), 0o644); err != nil {
		return false, fmt.Errorf("host %s: sshd config: %w", h.Name, err)
	}
	return true, nil
}

func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	pw := string(b)
	for len(pw) > 0 && (pw[len(pw)-1] == '\n' || pw[len(pw)-1] == '\r') {
		pw = pw[:len(pw)-1]
	}
	if pw == "" {
		return "", fmt.Errorf("password: %s is empty", path)
	}
	return pw, nil
}

// Open loads the lab kept in dir (DIR/lab.json). It returns an error
// wrapping ErrNoLab when there is none.
func Open(dir string) (*Lab, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lab: open %s: %w", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "lab.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lab: open %s: %w (run `sshplay lab up N --dir %s`)", dir, ErrNoLab, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lab: open %s: %w", dir, err)
	}
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("lab: open %s: lab.json: %w", dir, err)
	}
	l.Dir = dir
	return &l, nil
}

// saveAll saves the state and rewrites the client files (pgpass follows
// the postgres passwords, which change when a host becomes a standby).
func (l *Lab) saveAll() error {
	if err := l.save(); err != nil {
		return err
	}
	return l.writeClientFiles()
}

func (l *Lab) save() error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("lab: save state: %w", err)
	}
	if err := writeFileAtomic(l.stateFile(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("lab: save state: %w", err)
	}
	return nil
}

// eachHost runs f for every host in parallel and joins the errors.
func (l *Lab) eachHost(ctx context.Context, f func(ctx context.Context, h *Host, p hostPaths) error) error {
	errs := make([]error, len(l.Hosts))
	var g errgroup.Group
	g.SetLimit(max(8, 4*runtime.NumCPU()))
	for i := range l.Hosts {
		g.Go(func() error {
			errs[i] = f(ctx, &l.Hosts[i], pathsFor(l.Dir, l.Hosts[i].Name))
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

// Down stops every sshd and postgres of the lab (only the processes named in
// its pid files) and releases the lab's addresses. The hosts' files stay, so
// a later Up brings them back.
func (l *Lab) Down(ctx context.Context) error {
	unlock, err := lock(ctx, l.lockFile())
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlock()
	err = l.eachHost(ctx, l.stopHost)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(claimsDir, 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	unlockClaims, err := lock(ctx, filepath.Join(claimsDir, ".lock"))
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlockClaims()
	return releaseClaims(l)
}

func (l *Lab) stopHost(ctx context.Context, h *Host, p hostPaths) error {
	return errors.Join(stopSSHD(ctx, h, p), stopPostgres(ctx, h, p))
}

func (l *Lab) startHost(ctx context.Context, h *Host, p hostPaths) error {
	if err := startPostgres(ctx, h, p); err != nil {
		return err
	}
	return startSSHD(ctx, h, p)
}

// StopHost stops the sshd and postgres of one host: connections to its
// ports 22 and 5432 are refused until StartHost. Its address stays claimed.
func (l *Lab) StopHost(ctx context.Context, name string) error {
	h, err := l.Host(name)
	if err != nil {
		return err
	}
	return l.stopHost(ctx, h, pathsFor(l.Dir, name))
}

// StartHost starts the sshd and postgres of one host and waits until both
// accept connections.
func (l *Lab) StartHost(ctx context.Context, name string) error {
	h, err := l.Host(name)
	if err != nil {
		return err
	}
	return l.startHost(ctx, h, pathsFor(l.Dir, name))
}

// Status reports, per host, whether sshd and postgres run, whether ssl is
// on (SHOW ssl as postgres over the unix socket) and, for standbys and
// their primaries, how they are linked.
func (l *Lab) Status(ctx context.Context) ([]HostStatus, error) {
	st := make([]HostStatus, len(l.Hosts))
	err := l.eachHost(ctx, func(ctx context.Context, h *Host, p hostPaths) error {
		s := &st[h.index(l)]
		*s = HostStatus{Host: h.Name, Addr: h.Addr, Layout: h.Layout, SSHD: sshdRunning(p), Postgres: pgRunning(p),
			Primary: h.Primary, PrimarySSLMode: h.PrimarySSLMode, Standbys: l.standbysOf(h.Name)}
		if !s.Postgres {
			return nil
		}
		if h.Primary == "" {
			out, err := psql(ctx, h, p, "SHOW ssl")
			s.SSL = out
			return err
		}
		out, err := psql(ctx, h, p, "SELECT current_setting('ssl') || '|' || coalesce((SELECT status FROM pg_stat_wal_receiver), 'stopped')")
		s.SSL, s.WALReceiver, _ = strings.Cut(out, "|")
		return err
	})
	return st, err
}

// Reset puts every host back to how Up created it: postgres is stopped,
// postgresql.conf, pg_hba.conf, pg_ident.conf and postgresql.auto.conf are
// restored, every file added since creation to the data and configuration
// directories (server.crt, server.key, root.crt, backups) is removed, and
// the host is started again. A standby gets a fresh copy of the template
// cluster and its own postgres password back, and is independent again;
// roles the lab added (ReplicationUser, client-certificate users) are
// dropped and the host's client CA copy removed.
func (l *Lab) Reset(ctx context.Context) error {
	unlock, err := lock(ctx, l.lockFile())
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlock()
	for _, h := range l.Hosts {
		if h.Primary != "" { // its fresh cluster comes from the template
			if err := ensureTemplate(ctx); err != nil {
				return err
			}
			break
		}
	}
	err = l.eachHost(ctx, l.resetHost)
	if serr := l.saveAll(); err == nil {
		err = serr
	}
	return err
}

// resetHost is Reset for one host.
func (l *Lab) resetHost(ctx context.Context, h *Host, p hostPaths) error {
	if err := stopPostgres(ctx, h, p); err != nil {
		return err
	}
	standby := h.Primary != ""
	if standby {
		if err := recloneTemplate(ctx, h, p); err != nil {
			return err
		}
	}
	if err := restorePristine(h, p); err != nil {
		return err
	}
	for _, f := range []string{tlsDir(p), replicatorPasswordFile(p)} {
		if err := removeIfExists(f); err != nil {
			return fmt.Errorf("host %s: reset: %w", h.Name, err)
		}
	}
	if err := l.startHost(ctx, h, p); err != nil {
		return err
	}
	if !standby {
		return dropLabRoles(ctx, h, p)
	}
	// A fresh cluster: no lab roles, and the postgres role has no password.
	pw, err := readPassword(p.password)
	if err != nil {
		return fmt.Errorf("host %s: postgres %w", h.Name, err)
	}
	h.PGPassword = pw
	if err := setPassword(ctx, h, p); err != nil {
		return err
	}
	h.Primary, h.PrimarySSLMode = "", ""
	return removeIfExists(rolesFile(p))
}

// Query runs sql (one statement, or several separated by semicolons) as
// the postgres superuser on host over its unix socket, with psql -XAt, and
// returns the output: one line per row, columns separated by "|". It works
// on a standby too (read-only).
func (l *Lab) Query(ctx context.Context, host, sql string) (string, error) {
	h, err := l.Host(host)
	if err != nil {
		return "", err
	}
	return psqlSecret(ctx, h, pathsFor(l.Dir, h.Name), sql, "")
}
