package lab

// One OpenSSH sshd per host: its config, host key, start and stop.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// newKeyPair writes an ed25519 key pair in OpenSSH format to path and
// path.pub and returns the public key in authorized_keys form (no newline).
func newKeyPair(path, comment string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return "", fmt.Errorf("encode key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	if err := writeFileAtomic(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	if err := writeFileAtomic(path+".pub", []byte(line+" "+comment+"\n"), 0o644); err != nil {
		return "", err
	}
	return line, nil
}

// readPubKey returns the "type base64" part of an OpenSSH .pub file.
func readPubKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return "", fmt.Errorf("%s: not an OpenSSH public key", path)
	}
	return f[0] + " " + f[1], nil
}

func sshdConfig(l *Lab, h *Host, p hostPaths) string {
	return fmt.Sprintf(`# sshd for sshplay lab host %[1]s (written by sshplay lab up; rewritten on every up)
ListenAddress %[2]s:%[3]d
HostKey %[4]s
PidFile %[5]s
AuthorizedKeysFile %[6]s
AllowUsers %[7]s
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 200:30:400
MaxSessions 64
LogLevel INFO
# sudo keeps PGHOST (see /etc/sudoers.d/sshplay-lab): psql as postgres
# finds this host's own socket directory.
SetEnv PGHOST=%[8]s
Subsystem sftp %[9]s
# The second login user may also log in with its password, so that
# password authentication (-k, ansible_password) is tested against a real
# sshd; the first logs in with its key only.
Match User %[10]s
	PasswordAuthentication yes
`, h.Name, h.Addr, h.SSHPort, p.hostKey, p.sshdPid, l.clientPub(), LoginUser+" "+BecomePasswordUser, p.run, sftpServer, BecomePasswordUser)
}

func sshdRunning(p hostPaths) bool { return procAlive(readPidFile(p.sshdPid), "sshd") }

// startSSHD starts the host's sshd unless it runs, and waits until it
// accepts TCP connections.
func startSSHD(ctx context.Context, h *Host, p hostPaths) error {
	if !sshdRunning(p) {
		if err := os.MkdirAll(privsepDir, 0o755); err != nil {
			return fmt.Errorf("host %s: sshd: %w", h.Name, err)
		}
		os.Remove(p.sshdPid)
		if _, err := run(ctx, sshdPath, "-f", p.sshdConfig, "-E", p.sshdLog); err != nil {
			return fmt.Errorf("host %s: start sshd: %w; log: %s", h.Name, err, tail(p.sshdLog, 3))
		}
	}
	addr := net.JoinHostPort(h.Addr, fmt.Sprint(h.SSHPort))
	if err := waitTCP(ctx, addr, 15*time.Second); err != nil {
		return fmt.Errorf("host %s: sshd on %s: %w; log: %s", h.Name, addr, err, tail(p.sshdLog, 3))
	}
	return nil
}

// stopSSHD stops the host's sshd listener and its session processes, found
// through the pid file, and waits until they are gone.
func stopSSHD(ctx context.Context, h *Host, p hostPaths) error {
	pid := readPidFile(p.sshdPid)
	if !procAlive(pid, "sshd") {
		os.Remove(p.sshdPid)
		return nil
	}
	kids := childrenOf(pid, "sshd")
	for _, k := range append([]int{pid}, kids...) {
		if err := syscall.Kill(k, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("host %s: stop sshd %d: %w", h.Name, k, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for procAlive(pid, "sshd") {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(5 * time.Second)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: stop sshd: %w", h.Name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := os.Remove(p.sshdPid); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("host %s: stop sshd: %w", h.Name, err)
	}
	return nil
}

// waitTCP waits until something accepts connections on addr.
func waitTCP(ctx context.Context, addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not accepting connections: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
