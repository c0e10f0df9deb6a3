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
	"sync"
	"time"

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
	PGPassword string `json:"pg_password"`
}

// HostStatus is what Status reports for one host.
type HostStatus struct {
	Host, Addr, Layout string
	SSHD, Postgres     bool
	// SSL is the value of SHOW ssl ("on"/"off"), "" when postgres is down.
	SSL string
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
	if cfg.N < 1 || cfg.N > MaxHosts {
		return nil, &ConfigError{Msg: fmt.Sprintf("number of hosts must be 1..%d, got %d", MaxHosts, cfg.N)}
	}
	if cfg.Dir == "" {
		return nil, &ConfigError{Msg: "no lab dir given"}
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("lab dir %s: %v", cfg.Dir, err)}
	}
	if !safeDir.MatchString(dir) {
		return nil, &ConfigError{Msg: fmt.Sprintf("lab dir %q: use only letters, digits and ._/+@,=~- in the path", dir)}
	}
	if err := Check(); err != nil {
		return nil, err
	}
	if err := traversable(dir); err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("lab dir %s: %v", dir, err)}
	}
	var logw io.Writer = io.Discard
	if cfg.Stderr != nil {
		logw = &lockedWriter{w: cfg.Stderr}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ensureLoginUser(gctx) })
	g.Go(func() error { return ensureTemplate(gctx) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "hosts"), 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
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

	if err := os.MkdirAll(claimsDir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	unlockClaims, err := lock(ctx, filepath.Join(claimsDir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	err = allocate(l)
	if err == nil {
		err = l.save()
	}
	unlockClaims()
	if err != nil {
		return nil, err
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(max(8, 4*runtime.NumCPU()))
	for i := range l.Hosts {
		h := &l.Hosts[i]
		g.Go(func() error {
			return l.ensureHost(gctx, logw, h)
		})
	}
	err = g.Wait()
	if serr := l.save(); err == nil {
		err = serr
	}
	if err != nil {
		return l, err
	}
	if err := l.writeClientFiles(); err != nil {
		return l, err
	}
	return l, nil
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
	if listen, err := confValue(h.ConfigFile, "listen_addresses"); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	} else if listen != h.Addr {
		// The host got a new address (its old one was taken while it was
		// down, or the lab state was lost).
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

// lockedWriter serialises the progress lines of hosts handled in parallel.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
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

// Status reports, per host, whether sshd and postgres run and whether ssl
// is on (SHOW ssl as postgres over the unix socket).
func (l *Lab) Status(ctx context.Context) ([]HostStatus, error) {
	st := make([]HostStatus, len(l.Hosts))
	err := l.eachHost(ctx, func(ctx context.Context, h *Host, p hostPaths) error {
		s := &st[h.index(l)]
		*s = HostStatus{Host: h.Name, Addr: h.Addr, Layout: h.Layout, SSHD: sshdRunning(p), Postgres: pgRunning(p)}
		if !s.Postgres {
			return nil
		}
		out, err := psql(ctx, h, p, "SHOW ssl")
		if err != nil {
			return err
		}
		s.SSL = out
		return nil
	})
	return st, err
}

// Reset puts every host back to its pristine PostgreSQL configuration:
// postgres is stopped, postgresql.conf, pg_hba.conf, pg_ident.conf and
// postgresql.auto.conf are restored, every file added since creation to the
// data and configuration directories (server.crt, server.key, root.crt,
// backups) is removed, and the host is started again.
func (l *Lab) Reset(ctx context.Context) error {
	unlock, err := lock(ctx, l.lockFile())
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlock()
	return l.eachHost(ctx, func(ctx context.Context, h *Host, p hostPaths) error {
		if err := stopPostgres(ctx, h, p); err != nil {
			return err
		}
		if err := restorePristine(h, p); err != nil {
			return err
		}
		return l.startHost(ctx, h, p)
	})
}
