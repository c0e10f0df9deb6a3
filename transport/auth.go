package transport

// auth.go builds the SSH client authentication for a Target: private key
// files (passphrase from SSHPLAY_KEY_PASSPHRASE or asked once per key on the
// terminal), ssh-agent keys, and a password for password and
// keyboard-interactive auth. It never logs a passphrase or password and never
// writes a key anywhere.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/term"
)

// AuthError is an SSH login the server refused with every method offered.
type AuthError struct {
	User, Addr string
	// Tried describes what was offered: "publickey id_ed25519, agent:me@box",
	// "password".
	Tried []string
	Err   error
}

func (e *AuthError) Error() string {
	tried := strings.Join(e.Tried, "; ")
	if tried == "" {
		tried = "nothing: no key file, no agent key, no password"
	}
	return fmt.Sprintf("authentication failed for %s@%s (tried: %s)", e.User, e.Addr, tried)
}

func (e *AuthError) Unwrap() error { return e.Err }

// PassphraseEnv is the environment variable holding the passphrase of
// encrypted private keys.
const PassphraseEnv = "SSHPLAY_KEY_PASSPHRASE"

// keyCache keeps parsed (and decrypted) keys for the whole run, so a
// passphrase is asked at most once per key file, and failures are not
// retried host after host.
var keyCache struct {
	mu   sync.Mutex // also serialises terminal prompts
	keys map[string]cachedKey
}

type cachedKey struct {
	mtime  time.Time
	signer ssh.Signer
	note   string // why the key is unusable, when signer is nil
}

// passphrasePrompt asks for a key's passphrase; tests replace it.
// The prompt goes to w (Target.Stderr), the answer comes from the terminal
// on stdin.
var passphrasePrompt = func(w io.Writer, file string) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("no terminal")
	}
	fmt.Fprintf(w, "Enter passphrase for key %s: ", tildePath(file))
	defer fmt.Fprintln(w)
	return term.ReadPassword(fd)
}

// loadKey parses a private key file, decrypting it when needed. A nil
// signer comes with a note saying why the key cannot be used. A passphrase
// prompt, if any, is written to prompt.
func loadKey(file string, prompt io.Writer) (ssh.Signer, string) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, "missing"
	}
	keyCache.mu.Lock()
	defer keyCache.mu.Unlock()
	if c, ok := keyCache.keys[file]; ok && c.mtime.Equal(st.ModTime()) {
		return c.signer, c.note
	}
	signer, note := parseKeyFile(file, prompt)
	if keyCache.keys == nil {
		keyCache.keys = map[string]cachedKey{}
	}
	keyCache.keys[file] = cachedKey{mtime: st.ModTime(), signer: signer, note: note}
	return signer, note
}

func parseKeyFile(file string, prompt io.Writer) (ssh.Signer, string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "unreadable"
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return signer, ""
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, "not a private key"
	}
	pass := []byte(os.Getenv(PassphraseEnv))
	if len(pass) == 0 {
		if pass, err = passphrasePrompt(prompt, file); err != nil || len(pass) == 0 {
			return nil, "encrypted, no passphrase (set " + PassphraseEnv + ")"
		}
	}
	signer, err = ssh.ParsePrivateKeyWithPassphrase(data, pass)
	if err != nil {
		return nil, "encrypted, wrong passphrase"
	}
	return signer, ""
}

// readPub reads FILE.pub, for matching a key file against agent keys
// without decrypting it.
func readPub(file string) ssh.PublicKey {
	data, err := os.ReadFile(file + ".pub")
	if err != nil {
		return nil
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return k
}

// authSetup is what a dial offers the server, and what to close after.
type authSetup struct {
	methods []ssh.AuthMethod
	tried   []string
	agent   io.Closer
}

func (a *authSetup) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

func defaultKeyFiles() []string {
	d := filepath.Join(homeDir(), ".ssh")
	return []string{filepath.Join(d, "id_ed25519"), filepath.Join(d, "id_ecdsa"), filepath.Join(d, "id_rsa")}
}

// buildAuth assembles the auth methods for t: key files first (in order,
// each served by the agent when the agent holds it), then the other agent
// keys unless IdentitiesOnly, then the password.
func buildAuth(t Target) *authSetup {
	a := &authSetup{}
	var agentSigners []ssh.Signer
	agentNames := map[string]string{}
	sock := t.AgentSocket
	if sock == "" {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock != "" {
		if c, err := net.DialTimeout("unix", sock, 2*time.Second); err == nil {
			ag := agent.NewClient(c)
			if list, err := ag.List(); err == nil {
				for _, k := range list {
					agentNames[string(k.Marshal())] = k.Comment
				}
			}
			if s, err := ag.Signers(); err == nil {
				agentSigners = s
				a.agent = c
			} else {
				c.Close()
			}
		}
	}
	byBlob := map[string]ssh.Signer{}
	for _, s := range agentSigners {
		byBlob[string(s.PublicKey().Marshal())] = s
	}

	files := t.KeyFiles
	explicit := len(files) > 0
	if !explicit {
		files = defaultKeyFiles()
	}
	var signers []ssh.Signer
	var names []string
	used := map[string]bool{}
	add := func(s ssh.Signer, name string) {
		blob := string(s.PublicKey().Marshal())
		if used[blob] {
			return
		}
		used[blob] = true
		signers = append(signers, s)
		names = append(names, name)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if pub := readPub(f); pub != nil {
			if s, ok := byBlob[string(pub.Marshal())]; ok {
				add(s, base+" (agent)")
				continue
			}
		}
		s, note := loadKey(f, t.stderr())
		switch {
		case s != nil:
			add(s, base)
		case note == "missing" && !explicit:
			// Default keys that do not exist are simply not tried.
		default:
			names = append(names, base+" ("+note+")")
		}
	}
	if !t.IdentitiesOnly {
		for _, s := range agentSigners {
			name := agentNames[string(s.PublicKey().Marshal())]
			if name == "" {
				name = ssh.FingerprintSHA256(s.PublicKey())
			}
			add(s, "agent:"+name)
		}
	}
	if len(signers) > 0 {
		a.methods = append(a.methods, ssh.PublicKeys(signers...))
	}
	if len(names) > 0 {
		a.tried = append(a.tried, "publickey "+strings.Join(names, ", "))
	}
	if t.Password != "" {
		pw := t.Password
		a.methods = append(a.methods,
			ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
		a.tried = append(a.tried, "password", "keyboard-interactive")
	}
	return a
}

// isAuthFailure reports whether a handshake error is the server refusing
// every auth method (as opposed to a network or protocol failure).
func isAuthFailure(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unable to authenticate")
}

// redact removes secret from s, for error text built from remote output.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "********")
}
