package transport

// hostkey.go checks a server's host key against known_hosts files with
// x/crypto/ssh/knownhosts and the Target's policy (strict, accept-new, off).
// It tells an unknown host from a changed key in a typed *HostKeyError, and
// under accept-new appends the key of a never-seen host to the first
// known_hosts file, hashed when ssh_config says HashKnownHosts yes. It never accepts a changed key, whatever the policy
// short of off.

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sys/unix"

	"github.com/sshplay/sshplay/internal/boolean"
)

// HostKeyError is a host key that is not in known_hosts (Unknown) or that
// differs from the one recorded there (changed, possible man-in-the-middle).
type HostKeyError struct {
	Host string
	Addr string
	// Fingerprint is the key the server offered, "SHA256:...".
	Fingerprint string
	// Unknown is true for a host not in any known_hosts file; false means
	// the file has another key for it.
	Unknown bool
	// File is where the conflicting key is ("path:line") for a changed key,
	// or the files searched for an unknown one.
	File string
}

func (e *HostKeyError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("host %s: unknown host key %s for %s (not in %s); use --host-key-checking accept-new to trust it",
			e.Host, e.Fingerprint, e.Addr, e.File)
	}
	return fmt.Sprintf("host %s: HOST KEY CHANGED for %s: server offers %s; known_hosts %s has another key — possible man-in-the-middle",
		e.Host, e.Addr, e.Fingerprint, e.File)
}

// hostKeyCallback returns the callback for t, and the host key algorithms
// to ask for: those of keys already known for the host first, so a server
// with several keys offers the one on record, then the rest (nil: the
// library's defaults, when none is known).
func hostKeyCallback(t Target) (ssh.HostKeyCallback, []string, error) {
	if t.HostKeyChecking == HostKeyOff {
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	var existing []string
	for _, f := range t.KnownHostsFiles {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	check := func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	if len(existing) > 0 {
		cb, err := knownhosts.New(existing...)
		if err != nil {
			return nil, nil, fmt.Errorf("read known_hosts: %w", err)
		}
		check = cb
	}
	algos := knownAlgorithms(check, t.Address())
	searched := make([]string, len(t.KnownHostsFiles))
	for i, f := range t.KnownHostsFiles {
		searched[i] = tildePath(f)
	}
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return fmt.Errorf("host %s: host key %s for %s is marked revoked in %s:%d",
				t.Name, ssh.FingerprintSHA256(key), hostname, tildePath(re.Revoked.Filename), re.Revoked.Line)
		case errors.As(err, &ke) && len(ke.Want) == 0:
			if t.HostKeyChecking == HostKeyAcceptNew && len(t.KnownHostsFiles) > 0 {
				if err := appendKnownHost(t.KnownHostsFiles[0], hostname, key, t.HashKnownHosts); err != nil {
					return fmt.Errorf("host %s: record new host key: %w", t.Name, err)
				}
				return nil
			}
			return &HostKeyError{Host: t.Name, Addr: hostname, Fingerprint: ssh.FingerprintSHA256(key),
				Unknown: true, File: strings.Join(searched, ", ")}
		case errors.As(err, &ke):
			w := ke.Want[0]
			return &HostKeyError{Host: t.Name, Addr: hostname, Fingerprint: ssh.FingerprintSHA256(key),
				File: fmt.Sprintf("%s:%d", tildePath(w.Filename), w.Line)}
		}
		return fmt.Errorf("host %s: check host key: %w", t.Name, err)
	}
	return cb, algos, nil
}

// knownAlgorithms asks the known_hosts callback which keys it has for addr
// (by offering a key it cannot know) and maps their types to algorithms.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	// With a host name given, knownhosts only parses the remote address.
	err := check(addr, dummyRemote, probeKey)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	for _, w := range ke.Want {
		switch typ := w.Key.Type(); typ {
		case ssh.KeyAlgoRSA:
			for _, a := range []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA} {
				algos = appendUnique(algos, a)
			}
		default:
			algos = appendUnique(algos, typ)
		}
	}
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		algos = appendUnique(algos, a)
	}
	return algos
}

var dummyRemote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}

// probeKey is a fixed public key derived from a public seed. It is only
// offered to known_hosts to learn which keys a host has, never trusted.
var probeKey = func() ssh.PublicKey {
	seed := sha256.Sum256([]byte("sshplay host key probe"))
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed[:]).Public())
	if err != nil {
		panic("transport: probe key: " + err.Error())
	}
	return k
}()

// appendKnownHost records key for address in file as OpenSSH's accept-new
// does: the host as known_hosts names it ("host", or "[host]:port" off
// port 22), hashed (|1|salt|hash, HMAC-SHA1) when hash is set, in a file
// created 0600 in a directory created 0700. The line goes out in one
// append while the file is locked (flock, which OpenSSH does not take but
// every sshplay process does), so hosts accepted at once, by this process
// or another, never interleave or record the same host twice.
func appendKnownHost(file, address string, key ssh.PublicKey, hash bool) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// A file system without locks (some NFS homes) still gets the line:
	// one O_APPEND write, which other appends cannot split.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil && !noLocks(err) {
		return fmt.Errorf("lock %s: %w", file, err)
	}
	// Another dial may have recorded it while this one waited.
	if cb, err := knownhosts.New(file); err == nil && cb(address, dummyRemote, key) == nil {
		return nil
	}
	host := knownhosts.Normalize(address)
	if hash {
		host = knownhosts.HashHostname(host)
	}
	line := knownhosts.Line([]string{host}, key) + "\n"
	if endsMidLine(f) {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return err
	}
	return f.Close()
}

// noLocks reports whether a flock error says the file system has no
// locks, rather than that locking failed.
func noLocks(err error) bool {
	return errors.Is(err, unix.ENOLCK) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)
}

// endsMidLine reports whether f's last byte is not a newline, so that a
// line appended must start on a new one.
func endsMidLine(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false
	}
	b := make([]byte, 1)
	_, err = f.ReadAt(b, st.Size()-1)
	return err == nil && b[0] != '\n'
}

// hashKnownHostsFor sets a jump host's HashKnownHosts: its own
// ssh_config's, else that of the host it leads to.
func hashKnownHostsFor(j *Target, base Target, cfg *sshConfig, alias string) error {
	j.HashKnownHosts = base.HashKnownHosts
	v := cfg.get(alias, "HashKnownHosts")
	if v == "" {
		return nil
	}
	on, err := boolean.ParseString(v)
	if err != nil {
		return fmt.Errorf("ssh_config HashKnownHosts for %s: %w", alias, err)
	}
	j.HashKnownHosts = on
	return nil
}
