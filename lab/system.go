package lab

// This file holds what lab needs from the machine: prerequisite checks, the
// login user, locks, running commands and inspecting its own processes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Paths and names lab relies on.
const (
	// PGBinDir holds the PostgreSQL 15 server binaries.
	PGBinDir = "/usr/lib/postgresql/15/bin"
	// LoginUser is the unprivileged user the lab's sshd lets in; it has
	// passwordless sudo.
	LoginUser = "sshplay"
	// PGUser is both the OS user running postgres and the database superuser.
	PGUser = "postgres"
	// BecomePasswordUser is a second login user whose sudo rule requires
	// its password (see Lab.BecomePasswordFile). It logs in with the same
	// client key as LoginUser.
	BecomePasswordUser = "sshplay-pw"
	// CachedBecomeUser is the become user for which sudo keeps
	// BecomePasswordUser's credential across SSH sessions (sudoers
	// timestamp_type=global): after one become with the password, the next
	// ones (any session, until `sudo -K` or the timeout) get no prompt. For
	// every other become user each session prompts.
	CachedBecomeUser = "nobody"

	sshdPath    = "/usr/sbin/sshd"
	sftpServer  = "/usr/lib/openssh/sftp-server"
	privsepDir  = "/run/sshd"
	templateDir = "/var/tmp/sshplay-lab-template-15"
	claimsDir   = "/var/tmp/sshplay-lab-claims"
	sudoersFile = "/etc/sudoers.d/sshplay-lab"
	// pwSudoersFile is the sudo rule of BecomePasswordUser.
	pwSudoersFile = "/etc/sudoers.d/sshplay-lab-pw"
	// pwFile keeps BecomePasswordUser's password (root only, 0600), shared
	// by every lab on the machine since the OS user is.
	pwFile       = "/var/tmp/sshplay-lab-claims/become-password"
	installHint  = "apt-get install -y --no-install-recommends openssh-server sudo"
	commandLimit = 2 * time.Minute
)

// MissingError says that something lab needs is not on this machine, and
// what to do about it.
type MissingError struct {
	What string // what is missing, e.g. "sshd (/usr/sbin/sshd)"
	Fix  string // the one thing to do, e.g. a command to run
}

func (e *MissingError) Error() string { return "lab: " + e.What + " missing: " + e.Fix }

// Check reports why lab hosts cannot run on this machine (a *MissingError),
// or nil when they can. It never installs anything.
func Check() error {
	if os.Geteuid() != 0 {
		return &MissingError{What: "root privileges", Fix: "run as root (lab starts sshd and creates the sshplay user)"}
	}
	apt := "run `" + installHint + "` (apt-get update first on a new machine)"
	for _, f := range []struct{ what, path, fix string }{
		{"sshd", sshdPath, apt},
		{"sftp-server", sftpServer, apt},
		{"PostgreSQL 15 server", filepath.Join(PGBinDir, "postgres"), "run `apt-get install -y postgresql-15`"},
		{"initdb", filepath.Join(PGBinDir, "initdb"), "run `apt-get install -y postgresql-15`"},
		{"pg_ctl", filepath.Join(PGBinDir, "pg_ctl"), "run `apt-get install -y postgresql-15`"},
		{"pg_isready", filepath.Join(PGBinDir, "pg_isready"), "run `apt-get install -y postgresql-15`"},
		{"psql", filepath.Join(PGBinDir, "psql"), "run `apt-get install -y postgresql-client-15`"},
	} {
		if _, err := os.Stat(f.path); err != nil {
			return &MissingError{What: f.what + " (" + f.path + ")", Fix: f.fix}
		}
	}
	for _, bin := range []string{"sudo", "runuser", "useradd", "usermod", "chpasswd", "cp"} {
		if _, err := exec.LookPath(bin); err != nil {
			fix := apt
			if bin != "sudo" {
				fix = "put " + bin + " on PATH (it lives in /usr/sbin or /usr/bin)"
			}
			return &MissingError{What: bin, Fix: fix}
		}
	}
	if _, err := user.Lookup(PGUser); err != nil {
		return &MissingError{What: "OS user " + PGUser, Fix: "run `apt-get install -y postgresql-15` (it creates the user)"}
	}
	return nil
}

// run runs a command and returns its combined output. Output goes through a
// file, not a pipe, so a daemon that keeps an inherited descriptor open can
// never make run hang.
func run(ctx context.Context, name string, args ...string) (string, error) {
	return runIn(ctx, cmdInput{}, name, args...)
}

// cmdInput is what a command gets besides its arguments. Secrets travel
// here (stdin, environment), never in argv, where any local user could read
// them in /proc.
type cmdInput struct {
	// env, when not nil, replaces the PG* variables of our environment, so
	// that a PGHOST or PGSSLMODE of the caller never changes what a lab
	// command connects to.
	env []string
	// stdin is fed to the command ("" gives it an empty stdin).
	stdin string
}

// environ returns the environment a command with in runs with.
func (in cmdInput) environ() []string {
	if in.env == nil {
		return nil // exec: inherit ours
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, in.env...)
}

// runIn is run with stdin and environment from in.
func runIn(ctx context.Context, in cmdInput, name string, args ...string) (string, error) {
	f, err := os.CreateTemp("", "sshplay-lab-out-")
	if err != nil {
		return "", fmt.Errorf("run %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, commandLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = "/"
	cmd.Env = in.environ()
	if in.stdin != "" {
		cmd.Stdin = strings.NewReader(in.stdin)
	}
	runErr := cmd.Run()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return "", fmt.Errorf("run %s: read output: %w", name, err)
	}
	out := strings.TrimSpace(string(b))
	if runErr != nil {
		if out != "" {
			return out, fmt.Errorf("%s: %w: %s", commandName(name, args), runErr, lastLines(out, 3))
		}
		return out, fmt.Errorf("%s: %w", commandName(name, args), runErr)
	}
	return out, nil
}

// asPostgres runs a PostgreSQL binary as the postgres OS user.
func asPostgres(ctx context.Context, bin string, args ...string) (string, error) {
	return asPostgresIn(ctx, cmdInput{}, bin, args...)
}

// asPostgresIn is asPostgres with stdin and environment from in (runuser
// without --login passes the environment on).
func asPostgresIn(ctx context.Context, in cmdInput, bin string, args ...string) (string, error) {
	return runIn(ctx, in, "runuser", append([]string{"-u", PGUser, "--", filepath.Join(PGBinDir, bin)}, args...)...)
}

func commandName(name string, args []string) string {
	if name == "runuser" && len(args) > 3 {
		return filepath.Base(args[3])
	}
	return filepath.Base(name)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// tail returns the last lines of a log file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return "(no log at " + path + ")"
	}
	return lastLines(string(b), n)
}

// lock takes an exclusive flock on path, waiting until ctx is done.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// ensureLoginUser creates the sshplay user (if missing) with an unlocked
// password field, so that public-key login works with UsePAM no, and gives
// it passwordless sudo. PGHOST is kept through sudo so that `sudo -u
// postgres psql` reaches the host's own socket directory (sshd sets PGHOST
// per host with SetEnv). It also sets up BecomePasswordUser (see
// ensurePasswordUser).
func ensureLoginUser(ctx context.Context) error {
	if err := os.MkdirAll(claimsDir, 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	unlock, err := lock(ctx, filepath.Join(claimsDir, ".setup.lock"))
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer unlock()
	if _, err := user.Lookup(LoginUser); err != nil {
		if _, err := run(ctx, "useradd", "-m", "-s", "/bin/bash", LoginUser); err != nil {
			return fmt.Errorf("lab: create user %s: %w", LoginUser, err)
		}
	}
	if locked, err := passwordLocked(LoginUser); err != nil {
		return fmt.Errorf("lab: user %s: %w", LoginUser, err)
	} else if locked {
		if _, err := run(ctx, "usermod", "-p", "*", LoginUser); err != nil {
			return fmt.Errorf("lab: unlock user %s for key login: %w", LoginUser, err)
		}
	}
	want := "# Written by sshplay lab: the lab login user may run anything as anyone.\n" +
		LoginUser + " ALL=(ALL:ALL) NOPASSWD: ALL\n" +
		"Defaults:" + LoginUser + " env_keep += \"PGHOST\"\n"
	if err := installSudoers(ctx, sudoersFile, want); err != nil {
		return err
	}
	return ensurePasswordUser(ctx)
}

// ensurePasswordUser creates BecomePasswordUser (if missing), gives it a
// random password (kept in pwFile; set again with chpasswd only when the
// shadow entry no longer is the one lab set) and a sudo rule that requires
// that password. sudo authenticates through PAM (pam_unix, the shadow
// password) even though the lab's sshd runs with UsePAM no.
func ensurePasswordUser(ctx context.Context) error {
	if _, err := user.Lookup(BecomePasswordUser); err != nil {
		if _, err := run(ctx, "useradd", "-m", "-s", "/bin/bash", BecomePasswordUser); err != nil {
			return fmt.Errorf("lab: create user %s: %w", BecomePasswordUser, err)
		}
	}
	pw, err := readPassword(pwFile)
	if err != nil {
		if pw, err = newPassword(); err != nil {
			return fmt.Errorf("lab: user %s: password: %w", BecomePasswordUser, err)
		}
		if err := writeFileAtomic(pwFile, []byte(pw+"\n"), 0o600); err != nil {
			return fmt.Errorf("lab: user %s: %w", BecomePasswordUser, err)
		}
		os.Remove(pwFile + ".hash")
	}
	// The shadow field lab set last time: when it is still there, the
	// password is pw and chpasswd (slow: it hashes) is skipped.
	hash, err := shadowField(BecomePasswordUser)
	if err != nil {
		return fmt.Errorf("lab: user %s: %w", BecomePasswordUser, err)
	}
	if set, err := os.ReadFile(pwFile + ".hash"); err != nil || string(set) != hash || hash == "" || hash[0] == '!' || hash[0] == '*' {
		if err := chpasswd(ctx, BecomePasswordUser, pw); err != nil {
			return err
		}
		if hash, err = shadowField(BecomePasswordUser); err != nil {
			return fmt.Errorf("lab: user %s: %w", BecomePasswordUser, err)
		}
		if err := writeFileAtomic(pwFile+".hash", []byte(hash), 0o600); err != nil {
			return fmt.Errorf("lab: user %s: %w", BecomePasswordUser, err)
		}
	}
	want := "# Written by sshplay lab: this lab login user may run anything as anyone,\n" +
		"# but only with its password (sudo -S; the lab keeps it in DIR/become_password).\n" +
		BecomePasswordUser + " ALL=(ALL:ALL) ALL\n" +
		"Defaults:" + BecomePasswordUser + " env_keep += \"PGHOST\"\n" +
		"# sudo caches a credential per session (no tty: per parent process), so\n" +
		"# every SSH session prompts again. Running as " + CachedBecomeUser + " it caches\n" +
		"# across sessions, so tests can see a become that sudo does not prompt for.\n" +
		"Defaults>" + CachedBecomeUser + " timestamp_type=global\n"
	return installSudoers(ctx, pwSudoersFile, want)
}

// chpasswd sets name's password, passing it on chpasswd's stdin (never on a
// command line).
func chpasswd(ctx context.Context, name, pw string) error {
	ctx, cancel := context.WithTimeout(ctx, commandLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + pw + "\n")
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: set password of %s: chpasswd: %w: %s", name, err, lastLines(redactPW(string(out), pw), 3))
	}
	return nil
}

func redactPW(s, pw string) string {
	if pw == "" {
		return s
	}
	return strings.ReplaceAll(s, pw, "********")
}

// installSudoers writes a sudoers.d file (mode 0440) unless it already
// holds want, checking it with visudo -cf before it goes into place.
func installSudoers(ctx context.Context, path, want string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == want {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	// sudo skips files whose name contains a dot, so the temporary file is
	// never read half-written.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(want), 0o440); err != nil {
		return fmt.Errorf("lab: write sudoers %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o440); err != nil {
		return fmt.Errorf("lab: write sudoers %s: %w", path, err)
	}
	if visudo, err := exec.LookPath("visudo"); err == nil {
		if _, err := run(ctx, visudo, "-cf", tmp); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("lab: sudoers file %s rejected: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("lab: install sudoers %s: %w", path, err)
	}
	return nil
}

// passwordLocked reports whether name's shadow password field is empty or
// starts with "!", which sshd without PAM treats as a locked account.
func passwordLocked(name string) (bool, error) {
	f, err := shadowField(name)
	if err != nil {
		return false, err
	}
	return f == "" || strings.HasPrefix(f, "!"), nil
}

// shadowField returns name's password field in /etc/shadow.
func shadowField(name string) (string, error) {
	b, err := os.ReadFile("/etc/shadow")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) >= 2 && f[0] == name {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("not in /etc/shadow")
}

// procAlive reports whether pid is a live (not zombie) process whose command
// name starts with comm. It is the guard that keeps lab from signalling a
// process it did not start when a pid was reused.
func procAlive(pid int, comm string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i || j+2 >= len(b) {
		return false
	}
	state := b[j+2]
	return state != 'Z' && state != 'X' && strings.HasPrefix(string(b[i+1:j]), comm)
}

// childrenOf lists the live child processes of ppid named comm*.
func childrenOf(ppid int, comm string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		j := bytes.LastIndexByte(b, ')')
		if j < 0 || j+2 >= len(b) {
			continue
		}
		f := strings.Fields(string(b[j+2:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) && procAlive(pid, comm) {
			kids = append(kids, pid)
		}
	}
	return kids
}

// readPidFile returns the pid on the first line of path, or 0.
func readPidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0
	}
	return pid
}

// lookupIDs returns the uid and gid of an OS user.
func lookupIDs(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	return uid, gid, nil
}

// traversable checks that every existing ancestor of dir lets others
// search it, so that postgres and sshplay can reach the lab files.
func traversable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue // Up creates it with mode 0755.
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %04o) cannot be traversed by the %s and %s users: choose a lab dir outside it, e.g. /var/tmp/sshplay-lab", d, fi.Mode().Perm(), PGUser, LoginUser)
		}
		if d == "/" {
			return nil
		}
	}
}
