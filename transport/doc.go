// Package transport is the only way sshplay touches a host: it runs commands
// and reads, stats, writes and removes files, over SSH (x/crypto/ssh + SFTP on
// the same connection) or on the control machine itself.
//
// Everything above this package (tasks, playbooks, pg) depends on the Conn
// interface alone, so the same module code runs against a remote host, the
// local machine, or a read-only planning view (see ReadOnly). A Pool keeps
// one connection per host for a whole run; TargetFromVars turns Ansible's
// connection variables into a Target; Become runs commands and file
// operations through sudo.
//
// A host costs as few round trips and remote processes as the work allows:
// an SSH connection runs its commands through one long-lived /bin/sh per
// user (shell.go: one session and, under become, one sudo for the whole
// run, not one per command); sessions exec their shell instead of waiting
// for it; a sudo'd sftp-server is found and started inside its own sudo
// line; a write through it (umask 077) needs no private directory and
// sends fsync, chown and chmod together; a read is open and one read.
// SSHConn.Stats (and Pool.Stats, in sshplay's JSON output) counts what a
// connection asked of its host.
//
// What transport must never do:
//   - trust an unknown or changed host key by default: keys are checked
//     against known_hosts unless the user chose accept-new or off, and off
//     is warned about on every run;
//   - log, trace or put into an error a password, a become password, a key
//     passphrase or the content of a file it reads or writes; the become
//     password goes to sudo's stdin only, never onto a command line;
//   - write a file non-atomically: a write goes to a temp file in the
//     destination directory and is renamed over the target, so a
//     half-written file is never visible;
//   - pass an unquoted value into a remote shell (every word goes through
//     shellescape), or expand a host or user name with shell
//     metacharacters into a local ProxyCommand (refused as bad input);
//   - write to os.Stderr behind the caller's back: ProxyCommand output and
//     passphrase prompts go to Target.Stderr (PoolOptions.Stderr);
//   - dial a host twice in a run (a Dial retries only its own attempts that
//     failed for a transient reason, see dial.go), drop a warning silently,
//     or kill a process it did not start (a cancelled command's process
//     group is the one its own shell reported);
//   - leave a caller waiting on a host that has stopped answering: a
//     connection from which nothing arrives for the keepalive limit, or
//     within seconds of a cancel, is closed and its operations fail
//     unreachable (see liveness.go).
package transport
