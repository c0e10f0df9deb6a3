// Package pgtest starts throwaway PostgreSQL servers for tests that must
// ask a real server whether it accepts a file sshplay wrote
// (pg_file_settings, pg_hba_file_rules). It is the one place that finds the
// server binaries and runs them as the "postgres" user when the tests run
// as root (initdb refuses root). A server listens on a Unix socket only,
// so tests never compete for TCP ports.
//
// It never touches a lab host and is imported by tests only.
package pgtest

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/testenv"
)

// Bindir returns the directory of the newest installed server binaries
// (pg_config's, else /usr/lib/postgresql/*/bin or /usr/pgsql-*/bin), or
// skips the test (fails it under CI) when there is none.
func Bindir(t testing.TB) string {
	t.Helper()
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	m2, _ := filepath.Glob("/usr/pgsql-*/bin/initdb")
	m = append(m, m2...)
	if len(m) == 0 {
		testenv.SkipOrFail(t, "no PostgreSQL server binaries (initdb) found")
	}
	return filepath.Dir(m[len(m)-1])
}

// ServerUser says how to run a server command and hand a file to the
// server's user: as root, commands run as "postgres" through runuser and
// Chown gives files to it; otherwise both act as the current user.
type ServerUser struct {
	Command func(name string, args ...string) *exec.Cmd
	Chown   func(path string)
}

// AsServerUser returns the ServerUser of this test process.
func AsServerUser(t testing.TB) ServerUser {
	t.Helper()
	if os.Geteuid() != 0 {
		return ServerUser{Command: exec.Command, Chown: func(string) {}}
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		testenv.SkipOrFail(t, "running as root without a postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return ServerUser{
		Command: func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		},
		Chown: func(path string) { os.Chown(path, uid, gid) },
	}
}

// Cluster is an initdb'd data directory, not yet started: the test edits
// its files (owned by the server user) and then calls Start.
type Cluster struct {
	ServerUser
	Bindir string
	Base   string // temporary directory holding everything; removed at cleanup
	Data   string // the data directory
	Socket string // the Unix socket directory
	Log    string // the server log
	t      testing.TB
}

// NewCluster runs initdb (local connections trusted, superuser
// "postgres") in a fresh temporary directory, with extra initdb args.
func NewCluster(t testing.TB, initdbArgs ...string) *Cluster {
	t.Helper()
	c := &Cluster{ServerUser: AsServerUser(t), Bindir: Bindir(t), t: t}
	base, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	c.Chown(base)
	c.Base, c.Data, c.Socket, c.Log = base, filepath.Join(base, "data"), base, filepath.Join(base, "log")
	args := append([]string{"-D", c.Data, "--auth-local=trust", "-U", "postgres", "-N"}, initdbArgs...)
	c.Run(c.Command(filepath.Join(c.Bindir, "initdb"), args...))
	return c
}

// Run runs cmd and returns its combined output, failing the test on error.
func (c *Cluster) Run(cmd *exec.Cmd) string {
	c.t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

// AppendConf appends settings to postgresql.conf. The server listens on
// the cluster's socket only (listen_addresses = ”) unless conf says
// otherwise later in the file.
func (c *Cluster) AppendConf(conf string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(c.Data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		c.t.Fatal(err)
	}
}

// WriteFile writes a file for the server (mode perm, owned by its user).
func (c *Cluster) WriteFile(path string, data []byte, perm os.FileMode) {
	c.t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		c.t.Fatal(err)
	}
	c.Chown(path)
}

// Start starts the server on the cluster's socket, with no TCP listener,
// and stops it at cleanup. It returns pg_ctl's error and the server log
// when the server refuses to start, so a test can say which file it
// refused.
func (c *Cluster) Start() error {
	c.t.Helper()
	c.AppendConf("\nlisten_addresses = ''\nunix_socket_directories = '" + c.Socket + "'\nfsync = off\n")
	start := c.Command(filepath.Join(c.Bindir, "pg_ctl"), "-D", c.Data, "-l", c.Log, "-w", "-t", "60", "start")
	if out, err := start.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(c.Log)
		return &StartError{Err: err, Output: string(out), Log: string(log)}
	}
	c.t.Cleanup(func() {
		c.Command(filepath.Join(c.Bindir, "pg_ctl"), "-D", c.Data, "-m", "immediate", "-w", "stop").Run()
	})
	return nil
}

// StartError is a server that did not start: pg_ctl's output and the log.
type StartError struct {
	Err         error
	Output, Log string
}

func (e *StartError) Error() string { return e.Err.Error() + "\n" + e.Output + "\n" + e.Log }

// Psql runs one SQL command as "postgres" over the socket and returns its
// unaligned, tuples-only output, trimmed.
func (c *Cluster) Psql(sql string) string {
	c.t.Helper()
	return strings.TrimSpace(c.Run(c.Command(filepath.Join(c.Bindir, "psql"),
		"-X", "-q", "-At", "-h", c.Socket, "-U", "postgres", "-d", "postgres", "-c", sql)))
}

// Version is the server's server_version_num (150004 for 15.4).
func (c *Cluster) Version() int {
	c.t.Helper()
	v, _ := strconv.Atoi(c.Psql("SHOW server_version_num"))
	return v
}
