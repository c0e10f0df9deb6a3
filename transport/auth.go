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
	ag := openAgent(t.AgentSocket)
	a.agent = ag.conn
	var keys keyList
	files := t.KeyFiles
	explicit := len(files) > 0
	if !explicit {
		files = defaultKeyFiles()
	}
	for _, f := range files {
		keys.addFile(f, ag, explicit, t.stderr())
	}
	if !t.IdentitiesOnly {
		for _, s := range ag.signers {
			name := ag.comments[string(s.PublicKey().Marshal())]
			if name == "" {
				name = ssh.FingerprintSHA256(s.PublicKey())
			}
			keys.add(s, "agent:"+name)
		}
	}
	if len(keys.signers) > 0 {
		a.methods = append(a.methods, ssh.PublicKeys(keys.signers...))
	}
	if len(keys.names) > 0 {
		a.tried = append(a.tried, "publickey "+strings.Join(keys.names, ", "))
	}
	if t.Password != "" {
		a.methods = append(a.methods, passwordMethods(t.Password)...)
		a.tried = append(a.tried, "password", "keyboard-interactive")
	}
	return a
}

// agentKeys are the keys an ssh-agent holds, and its connection (nil when
// there is no agent), which stays open while a dial signs with them.
type agentKeys struct {
	conn     net.Conn
	signers  []ssh.Signer
	comments map[string]string // public key blob -> comment
	byBlob   map[string]ssh.Signer
}

// openAgent asks the agent at sock ("" means $SSH_AUTH_SOCK) for its keys;
// an agent that cannot be reached or asked gives none.
func openAgent(sock string) agentKeys {
	ak := agentKeys{comments: map[string]string{}, byBlob: map[string]ssh.Signer{}}
	if sock == "" {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock == "" {
		return ak
	}
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return ak
	}
	ag := agent.NewClient(c)
	if list, err := ag.List(); err == nil {
		for _, k := range list {
			ak.comments[string(k.Marshal())] = k.Comment
		}
	}
	signers, err := ag.Signers()
	if err != nil {
		c.Close()
		return ak
	}
	ak.conn, ak.signers = c, signers
	for _, s := range signers {
		ak.byBlob[string(s.PublicKey().Marshal())] = s
	}
	return ak
}

// keyList is the public keys a dial offers, each once, and how each is
// named in an *AuthError (with the files that could not be used).
type keyList struct {
	signers []ssh.Signer
	names   []string
	used    map[string]bool
}

func (k *keyList) add(s ssh.Signer, name string) {
	blob := string(s.PublicKey().Marshal())
	if k.used[blob] {
		return
	}
	if k.used == nil {
		k.used = map[string]bool{}
	}
	k.used[blob] = true
	k.signers = append(k.signers, s)
	k.names = append(k.names, name)
}

// addFile offers the key in file: through the agent when it holds the
// key (known by FILE.pub, without decrypting the file), else from the
// file. A default key file (explicit false) that does not exist is not
// mentioned; any other unusable file is named with why.
func (k *keyList) addFile(file string, ag agentKeys, explicit bool, prompt io.Writer) {
	base := filepath.Base(file)
	if pub := readPub(file); pub != nil {
		if s, ok := ag.byBlob[string(pub.Marshal())]; ok {
			k.add(s, base+" (agent)")
			return
		}
	}
	s, note := loadKey(file, prompt)
	switch {
	case s != nil:
		k.add(s, base)
	case note == "missing" && !explicit:
	default:
		k.names = append(k.names, base+" ("+note+")")
	}
}

// passwordMethods answer password and keyboard-interactive auth with pw.
func passwordMethods(pw string) []ssh.AuthMethod {
	return []ssh.AuthMethod{
		ssh.Password(pw),
		ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
			answers := make([]string, len(questions))
			for i := range answers {
				answers[i] = pw
			}
			return answers, nil
		}),
	}
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
