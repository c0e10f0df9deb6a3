package transport

// target.go turns a host's inventory variables (Ansible's connection
// variables and their sshplay_ aliases), the command-line overrides and the
// user's ~/.ssh/config into a Target: everything needed to dial one host. It
// never opens a connection and never prints; options it cannot honour come
// back as warnings for the caller to show.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// HostKeyPolicy says what to do with a host key that is not (or not
// identically) in known_hosts.
type HostKeyPolicy string

const (
	// HostKeyStrict refuses unknown and changed keys (the default).
	HostKeyStrict HostKeyPolicy = "strict"
	// HostKeyAcceptNew trusts and records the key of a host never seen
	// before, and refuses a changed key, like OpenSSH's accept-new.
	HostKeyAcceptNew HostKeyPolicy = "accept-new"
	// HostKeyOff checks nothing; the pool warns on every run.
	HostKeyOff HostKeyPolicy = "off"
)

func (p HostKeyPolicy) String() string { return string(p) }

// ParseHostKeyPolicy accepts sshplay's names (strict, accept-new, off) and
// OpenSSH's StrictHostKeyChecking values (yes, ask → strict; no → off).
func ParseHostKeyPolicy(s string) (HostKeyPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "strict", "yes", "ask", "true":
		return HostKeyStrict, nil
	case "accept-new":
		return HostKeyAcceptNew, nil
	case "off", "no", "false":
		return HostKeyOff, nil
	}
	return "", fmt.Errorf("invalid host key checking %q (want strict, accept-new or off)", s)
}

// Target is one SSH destination (or a jump host on the way to one).
type Target struct {
	// Name is the inventory name, used in messages.
	Name string
	// Addr is the host name or IP address dialled (after ssh_config HostName).
	Addr string
	Port int
	User string
	// KeyFiles are private key files tried in order, "~" expanded.
	KeyFiles []string
	// IdentitiesOnly restricts public-key auth to KeyFiles (agent keys
	// only when they match one of them; no default keys).
	IdentitiesOnly bool
	// Password is used for password and keyboard-interactive auth.
	Password string
	// KnownHostsFiles are checked in order; accept-new appends to the first.
	KnownHostsFiles []string
	HostKeyChecking HostKeyPolicy
	// ProxyJump lists the bastions to go through, first hop first.
	ProxyJump []Target
	// ProxyCommand, when set (and ProxyJump is not), is a local shell
	// command whose stdin/stdout carry the SSH connection, as with ssh's
	// ProxyCommand; %h, %p, %r, %n and %% are expanded.
	ProxyCommand string
	// ConnectTimeout bounds the TCP connect, then the wait for the
	// server's SSH banner; after the banner, the handshake and login fail
	// only when the server sends nothing for that long (see dial.go).
	ConnectTimeout time.Duration
	// Retries is how many more connection attempts are made after one
	// that failed for a transient reason (see dial.go); 0: none.
	Retries int
	// OnRetry, when set, is told of every failed attempt that will be
	// retried (attempt counts from 1) and of the pause before the next.
	OnRetry func(attempt int, err error, pause time.Duration)
	// KeepaliveInterval is how long the host may send nothing before it
	// is sent a keepalive@openssh.com request; a host that sends nothing
	// for KeepaliveInterval × KeepaliveCountMax is given up on (its
	// connection closed, its operations unreachable). 0 turns it off.
	KeepaliveInterval time.Duration
	KeepaliveCountMax int
	// AgentSocket is the ssh-agent socket; "" means $SSH_AUTH_SOCK.
	AgentSocket string
	// Local means ansible_connection=local: run on the control machine.
	Local bool
	// Stderr receives what a ProxyCommand prints on its standard error and
	// the passphrase prompt for an encrypted key; nil means os.Stderr. A
	// Pool sets it to PoolOptions.Stderr. It must be safe for concurrent
	// use when several hosts are dialled at once.
	Stderr io.Writer
}

func (t Target) stderr() io.Writer {
	if t.Stderr == nil {
		return os.Stderr
	}
	return t.Stderr
}

// Address is Addr:Port in dialable form.
func (t Target) Address() string {
	return joinHostPort(t.Addr, t.Port)
}

// Overrides are the command-line settings that apply to every host.
type Overrides struct {
	// User (-u) beats ansible_user and ssh_config.
	User string
	// PrivateKey (--private-key) replaces ansible_ssh_private_key_file.
	PrivateKey string
	// HostKeyChecking is --host-key-checking only when the user gave the
	// flag; leave it "" when the flag was left at its default. Only then do
	// inventory variables, StrictHostKeyChecking in ssh args and ssh_config
	// apply (and strict when none says anything).
	HostKeyChecking HostKeyPolicy
	// Timeout is the connect timeout used when neither the inventory nor
	// ssh_config sets one; 0 means 10 s.
	Timeout time.Duration
	// Retries is the number of connection retries (--retries) used when
	// neither the inventory (ansible_ssh_retries) nor ssh options
	// (ConnectionAttempts) set one; 0 means none, Ansible's default.
	Retries int
	// SSHConfigFile is the ssh_config to read; "" means ~/.ssh/config and
	// /etc/ssh/ssh_config, "none" means none.
	SSHConfigFile string
	// Become and BecomeUser are -b / --become-user; inventory variables
	// (ansible_become, ansible_become_user) win over them, as in Ansible.
	Become     bool
	BecomeUser string
}

const defaultConnectTimeout = 10 * time.Second

// Keepalive defaults, as ServerAliveInterval=15 ServerAliveCountMax=3: a
// host that sends nothing for 45 s is given up on.
const (
	defaultKeepaliveInterval = 15 * time.Second
	defaultKeepaliveCountMax = 3
)

// TargetError is bad connection input for one host (an invalid port, an
// unbalanced quote in ssh args). It is bad user input: exit code 5.
type TargetError struct {
	Host string
	Err  error
}

func (e *TargetError) Error() string  { return fmt.Sprintf("host %s: %v", e.Host, e.Err) }
func (e *TargetError) Unwrap() error  { return e.Err }
func (e *TargetError) BadInput() bool { return true }

// TargetFromVars builds the Target of inventory host name from its
// variables. Precedence, highest first: Overrides (user, key, an explicit
// host key policy), inventory variables (ansible_* and sshplay_*), options in
// ansible_ssh_common_args then ansible_ssh_extra_args (first one wins, as
// with ssh), ~/.ssh/config, defaults. The warnings name every ssh option that
// was ignored, one string per option.
func TargetFromVars(name string, vars map[string]any, ov Overrides) (Target, []string, error) {
	t, warns, err := targetFromVars(name, vars, ov)
	if err != nil {
		return Target{}, warns, &TargetError{Host: name, Err: err}
	}
	return t, warns, nil
}

func targetFromVars(name string, vars map[string]any, ov Overrides) (Target, []string, error) {
	conn, _ := varString(vars, "sshplay_connection", "ansible_connection")
	var t Target
	t.Name = name
	switch conn {
	case "", "ssh", "smart", "paramiko":
	case "local":
		t.Local = true
		t.Addr = "localhost"
		return t, nil, nil
	default:
		return t, nil, fmt.Errorf("unsupported connection type %q (want ssh or local)", conn)
	}

	var args sshArgs
	for _, k := range [][]string{
		{"sshplay_ssh_common_args", "ansible_ssh_common_args"},
		{"sshplay_ssh_extra_args", "ansible_ssh_extra_args"},
	} {
		s, ok := varString(vars, k...)
		if !ok || strings.TrimSpace(s) == "" {
			continue
		}
		if err := args.parse(name, s); err != nil {
			return t, args.warnings, fmt.Errorf("%s: %w", k[1], err)
		}
	}

	cfgPath := ov.SSHConfigFile
	if p, ok := args.get("__configfile"); ok {
		cfgPath = p
	}
	cfg, err := loadSSHConfig(cfgPath)
	if err != nil {
		return t, args.warnings, err
	}

	alias := name
	if h, ok := varString(vars, "sshplay_host", "ansible_host", "ansible_ssh_host"); ok && h != "" {
		alias = h
	}
	t.Addr = alias
	if h, ok := args.get("hostname"); ok {
		t.Addr = h
	} else if h := cfg.get(alias, "HostName"); h != "" {
		t.Addr = strings.ReplaceAll(h, "%h", alias)
	}

	t.Port = 22
	if p, ok := varString(vars, "sshplay_port", "ansible_port", "ansible_ssh_port"); ok && p != "" {
		if t.Port, err = parsePort(p); err != nil {
			return t, args.warnings, fmt.Errorf("ansible_port: %w", err)
		}
	} else if p, ok := args.get("port"); ok {
		if t.Port, err = parsePort(p); err != nil {
			return t, args.warnings, fmt.Errorf("ssh option Port: %w", err)
		}
	} else if p := cfg.get(alias, "Port"); p != "" {
		if t.Port, err = parsePort(p); err != nil {
			return t, args.warnings, fmt.Errorf("ssh_config Port for %s: %w", alias, err)
		}
	}

	switch u, ok := varString(vars, "sshplay_user", "ansible_user", "ansible_ssh_user"); {
	case ov.User != "":
		t.User = ov.User
	case ok && u != "":
		t.User = u
	default:
		if u, ok := args.get("user"); ok {
			t.User = u
		} else if u := cfg.get(alias, "User"); u != "" {
			t.User = u
		} else {
			t.User = localUser()
		}
	}

	tokens := map[byte]string{'h': t.Addr, 'r': t.User, 'u': localUser(), 'd': homeDir(), 'p': strconv.Itoa(t.Port), 'n': alias}
	if ov.PrivateKey != "" {
		t.KeyFiles = append(t.KeyFiles, expandPath(ov.PrivateKey, nil))
	} else if k, ok := varString(vars, "sshplay_private_key_file", "ansible_ssh_private_key_file", "ansible_private_key_file"); ok && k != "" {
		t.KeyFiles = append(t.KeyFiles, expandPath(k, nil))
	}
	for _, k := range args.identityFiles {
		t.KeyFiles = appendUnique(t.KeyFiles, expandPath(k, tokens))
	}
	for _, k := range cfg.getAll(alias, "IdentityFile") {
		t.KeyFiles = appendUnique(t.KeyFiles, expandPath(k, tokens))
	}

	if v, ok := args.get("identitiesonly"); ok {
		t.IdentitiesOnly = isYes(v)
	} else {
		t.IdentitiesOnly = isYes(cfg.get(alias, "IdentitiesOnly"))
	}

	t.Password, _ = varString(vars, "sshplay_password", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password")

	var kh []string
	if v, ok := args.get("userknownhostsfile"); ok {
		kh = strings.Fields(v)
	} else if v := cfg.get(alias, "UserKnownHostsFile"); v != "" {
		kh = strings.Fields(v)
	}
	for _, f := range kh {
		if f == "none" || f == "/dev/null" {
			continue
		}
		t.KnownHostsFiles = appendUnique(t.KnownHostsFiles, expandPath(f, tokens))
	}
	t.KnownHostsFiles = appendUnique(t.KnownHostsFiles, filepath.Join(homeDir(), ".ssh", "known_hosts"))

	t.HostKeyChecking = HostKeyStrict
	switch {
	case ov.HostKeyChecking != "":
		if t.HostKeyChecking, err = ParseHostKeyPolicy(string(ov.HostKeyChecking)); err != nil {
			return t, args.warnings, err
		}
	default:
		if v, ok := varString(vars, "sshplay_host_key_checking", "ansible_host_key_checking", "ansible_ssh_host_key_checking"); ok && v != "" {
			if t.HostKeyChecking, err = ParseHostKeyPolicy(v); err != nil {
				return t, args.warnings, fmt.Errorf("ansible_host_key_checking: %w", err)
			}
		} else if v, ok := args.get("stricthostkeychecking"); ok {
			if t.HostKeyChecking, err = ParseHostKeyPolicy(v); err != nil {
				return t, args.warnings, fmt.Errorf("ssh option StrictHostKeyChecking: %w", err)
			}
		} else if v := cfg.get(alias, "StrictHostKeyChecking"); v != "" {
			if t.HostKeyChecking, err = ParseHostKeyPolicy(v); err != nil {
				return t, args.warnings, fmt.Errorf("ssh_config StrictHostKeyChecking for %s: %w", alias, err)
			}
		}
	}

	t.ConnectTimeout = ov.Timeout
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = defaultConnectTimeout
	}
	if v, ok := varString(vars, "sshplay_timeout", "ansible_ssh_timeout", "ansible_timeout"); ok && v != "" {
		if t.ConnectTimeout, err = parseSeconds(v); err != nil {
			return t, args.warnings, fmt.Errorf("ansible_ssh_timeout: %w", err)
		}
	} else if v, ok := args.get("connecttimeout"); ok {
		if t.ConnectTimeout, err = parseSeconds(v); err != nil {
			return t, args.warnings, fmt.Errorf("ssh option ConnectTimeout: %w", err)
		}
	} else if v := cfg.get(alias, "ConnectTimeout"); v != "" {
		if t.ConnectTimeout, err = parseSeconds(v); err != nil {
			return t, args.warnings, fmt.Errorf("ssh_config ConnectTimeout for %s: %w", alias, err)
		}
	}

	if err := t.keepaliveFrom(&args, cfg, alias); err != nil {
		return t, args.warnings, err
	}
	if err := t.retriesFrom(vars, &args, cfg, alias, ov.Retries); err != nil {
		return t, args.warnings, err
	}

	if v, ok := args.get("proxycommand"); ok {
		t.ProxyCommand = v
	} else {
		t.ProxyCommand = cfg.get(alias, "ProxyCommand")
	}
	if strings.EqualFold(t.ProxyCommand, "none") {
		t.ProxyCommand = ""
	}
	if t.ProxyCommand != "" {
		if err := checkProxyCommandTokens(t.ProxyCommand, t.Addr, t.User, alias); err != nil {
			return t, args.warnings, err
		}
		t.ProxyCommand = expandTokens(t.ProxyCommand, map[byte]string{'h': t.Addr, 'r': t.User, 'p': strconv.Itoa(t.Port), 'n': alias, 'u': localUser(), 'd': homeDir()})
	}

	jump, fromArgs := args.get("proxyjump")
	if !fromArgs {
		jump = cfg.get(alias, "ProxyJump")
	}
	if jump != "" && !strings.EqualFold(jump, "none") {
		if t.ProxyJump, err = resolveJumps(jump, t, cfg, 0); err != nil {
			return t, args.warnings, err
		}
	}
	return t, args.warnings, nil
}

// resolveJumps turns a ProxyJump value ("[user@]host[:port][,...]") into
// jump Targets. Each hop is looked up in ssh_config; what a hop does not
// set itself (user, keys, known_hosts, host key policy, timeouts) it takes
// from the final target, so a fleet with one deploy user and key needs no
// extra config for its bastion. The first hop's own ProxyJump is followed.
func resolveJumps(spec string, base Target, cfg *sshConfig, depth int) ([]Target, error) {
	if depth > 5 {
		return nil, fmt.Errorf("ProxyJump %q: too many nested jump hosts", spec)
	}
	var out []Target
	for i, hop := range strings.Split(spec, ",") {
		hop = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(hop), "ssh://"))
		if hop == "" {
			return nil, fmt.Errorf("ProxyJump %q: empty hop", spec)
		}
		var j Target
		if at := strings.LastIndex(hop, "@"); at >= 0 {
			j.User, hop = hop[:at], hop[at+1:]
		}
		alias, portStr := hop, ""
		if h, p, err := splitHostPortLoose(hop); err == nil {
			alias, portStr = h, p
		}
		j.Name = alias
		j.Addr = alias
		if h := cfg.get(alias, "HostName"); h != "" {
			j.Addr = strings.ReplaceAll(h, "%h", alias)
		}
		j.Port = 22
		var err error
		if portStr == "" {
			portStr = cfg.get(alias, "Port")
		}
		if portStr != "" {
			if j.Port, err = parsePort(portStr); err != nil {
				return nil, fmt.Errorf("ProxyJump %q: %w", spec, err)
			}
		}
		if j.User == "" {
			j.User = cfg.get(alias, "User")
		}
		if j.User == "" {
			j.User = base.User
		}
		tokens := map[byte]string{'h': j.Addr, 'r': j.User, 'u': localUser(), 'd': homeDir(), 'p': strconv.Itoa(j.Port), 'n': alias}
		for _, k := range cfg.getAll(alias, "IdentityFile") {
			j.KeyFiles = appendUnique(j.KeyFiles, expandPath(k, tokens))
		}
		for _, k := range base.KeyFiles {
			j.KeyFiles = appendUnique(j.KeyFiles, k)
		}
		j.IdentitiesOnly = isYes(cfg.get(alias, "IdentitiesOnly")) || base.IdentitiesOnly
		for _, f := range strings.Fields(cfg.get(alias, "UserKnownHostsFile")) {
			j.KnownHostsFiles = appendUnique(j.KnownHostsFiles, expandPath(f, tokens))
		}
		for _, f := range base.KnownHostsFiles {
			j.KnownHostsFiles = appendUnique(j.KnownHostsFiles, f)
		}
		j.HostKeyChecking = base.HostKeyChecking
		j.ConnectTimeout = base.ConnectTimeout
		j.KeepaliveInterval = base.KeepaliveInterval
		j.KeepaliveCountMax = base.KeepaliveCountMax
		j.AgentSocket = base.AgentSocket
		if i == 0 {
			if pj := cfg.get(alias, "ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
				pre, err := resolveJumps(pj, j, cfg, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, pre...)
			}
		}
		out = append(out, j)
	}
	return out, nil
}

// BecomeFromVars reads ansible_become, ansible_become_user and
// ansible_become_password / ansible_become_pass (and their sshplay_
// aliases). Inventory variables win over ov.Become / ov.BecomeUser.
func BecomeFromVars(vars map[string]any, ov Overrides) Become {
	b := Become{Enabled: ov.Become, User: ov.BecomeUser}
	if v, ok := varString(vars, "sshplay_become", "ansible_become"); ok && v != "" {
		b.Enabled = isYes(v)
	}
	if v, ok := varString(vars, "sshplay_become_user", "ansible_become_user"); ok && v != "" {
		b.User = v
	}
	if v, ok := varString(vars, "sshplay_become_password", "ansible_become_password", "ansible_become_pass"); ok {
		b.Password = v
	}
	if !b.Enabled {
		return Become{}
	}
	return b
}

// sshArgs collects what ansible_ssh_common_args / _extra_args say.
type sshArgs struct {
	opts          map[string]string // lower-case option name -> first value
	identityFiles []string
	warnings      []string
}

func (a *sshArgs) get(key string) (string, bool) {
	v, ok := a.opts[key]
	return v, ok
}

func (a *sshArgs) set(key, val string) {
	if a.opts == nil {
		a.opts = map[string]string{}
	}
	if _, ok := a.opts[key]; !ok {
		a.opts[key] = val
	}
}

// ignoredOptionFormat is the warning for an ssh option sshplay does not
// apply; parseIgnoredOption reads it back (Pool prints it once per option).
const ignoredOptionFormat = "host %s: ignoring ssh option %s"

func parseIgnoredOption(w string) (host, opt string, ok bool) {
	rest, ok := strings.CutPrefix(w, "host ")
	if !ok {
		return "", "", false
	}
	host, opt, ok = strings.Cut(rest, ": ignoring ssh option ")
	return host, opt, ok && host != "" && opt != ""
}

func (a *sshArgs) warn(host, what string) {
	w := fmt.Sprintf(ignoredOptionFormat, host, what)
	for _, x := range a.warnings {
		if x == w {
			return
		}
	}
	a.warnings = append(a.warnings, w)
}

// sshFlagsWithArg are ssh(1) flags that take a value; the ones not handled
// below are skipped with their value and a warning.
const sshFlagsWithArg = "BbcDEeFIiJLlmOoPpQRSWw"

func (a *sshArgs) parse(host, s string) error {
	words, err := splitWords(s)
	if err != nil {
		return err
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || len(w) < 2 {
			a.warn(host, w)
			continue
		}
		// Bundled flags without values (-tA) or one flag with its value
		// attached (-p2222) or in the next word (-p 2222).
		for j := 1; j < len(w); j++ {
			f := w[j]
			if !strings.ContainsRune(sshFlagsWithArg, rune(f)) {
				a.warn(host, "-"+string(f))
				continue
			}
			val := w[j+1:]
			if val == "" {
				if i+1 >= len(words) {
					return fmt.Errorf("ssh option -%c needs a value", f)
				}
				i++
				val = words[i]
			}
			if f == 'o' && !strings.ContainsAny(val, "= \t") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
				// Lenient "-o Key Value" as two words.
				i++
				val += "=" + words[i]
			}
			a.flag(host, f, val)
			break
		}
	}
	return nil
}

func (a *sshArgs) flag(host string, f byte, val string) {
	switch f {
	case 'o':
		key, v := splitOption(val)
		a.option(host, key, v)
	case 'J':
		a.set("proxyjump", val)
	case 'p':
		a.set("port", val)
	case 'i':
		a.identityFiles = append(a.identityFiles, val)
	case 'l':
		a.set("user", val)
	case 'F':
		a.set("__configfile", val)
	default:
		a.warn(host, "-"+string(f))
	}
}

func (a *sshArgs) option(host, key, val string) {
	lk := strings.ToLower(key)
	switch lk {
	case "identityfile":
		a.identityFiles = append(a.identityFiles, val)
	case "userknownhostsfile", "stricthostkeychecking", "proxyjump", "proxycommand", "port", "user",
		"identitiesonly", "connecttimeout", "hostname", "serveraliveinterval", "serveralivecountmax",
		"connectionattempts":
		a.set(lk, val)
	default:
		a.warn(host, key)
	}
}

// splitOption splits "Key=Value", "Key Value" or "Key = Value".
func splitOption(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "= \t")
	if i < 0 {
		return s, ""
	}
	key := s[:i]
	val := strings.TrimSpace(s[i:])
	val = strings.TrimSpace(strings.TrimPrefix(val, "="))
	return key, strings.Trim(val, `"`)
}

// splitWords splits s the way a POSIX shell splits words: single quotes,
// double quotes (with \ escaping " \ $ and `), backslash outside quotes.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					cur.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New("unterminated double quote")
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func varString(vars map[string]any, keys ...string) (string, bool) {
	for _, k := range keys {
		v, ok := vars[k]
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			return x, true
		case fmt.Stringer:
			return x.String(), true
		default:
			return fmt.Sprint(x), true
		}
	}
	return "", false
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

// parseSeconds reads an ssh-style time: plain seconds, or a Go duration.
func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid time %q", s)
	}
	return d, nil
}

func isYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "1", "on", "y":
		return true
	}
	return false
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// expandPath expands a leading ~ and, when tokens is set, ssh_config's
// %-tokens (%d home, %h host, %r remote user, %u local user, %p port,
// %n original alias, %% a percent sign).
func expandPath(p string, tokens map[byte]string) string {
	if p == "~" {
		p = homeDir()
	} else if strings.HasPrefix(p, "~/") {
		p = filepath.Join(homeDir(), p[2:])
	}
	return expandTokens(p, tokens)
}

// shellMeta are the characters a host or user name must not contain when
// it is expanded into a ProxyCommand, which /bin/sh runs: OpenSSH 9.6
// refuses the same kind of names for the same reason.
const shellMeta = "'`\"$\\;&<>|(){}[]*?!#~"

// checkProxyCommandTokens refuses a host name (%h), original host name (%n)
// or remote user (%r) that the ProxyCommand template uses and that
// contains shell metacharacters, whitespace or control characters, or
// starts with "-": such a value from an inventory would otherwise run as
// local shell code (ansible_host="10.0.0.1;touch /tmp/x").
func checkProxyCommandTokens(cmd, host, user, alias string) error {
	for _, tok := range usedTokens(cmd) {
		var what, v string
		switch tok {
		case 'h':
			what, v = "host name", host
		case 'n':
			what, v = "host name", alias
		case 'r':
			what, v = "user name", user
		default:
			continue
		}
		if !shellSafe(v) {
			return fmt.Errorf("ProxyCommand %%%c: %s %q contains shell metacharacters or whitespace; refusing to expand it into a shell command", tok, what, v)
		}
	}
	return nil
}

// usedTokens lists the %-tokens in p, %% excluded.
func usedTokens(p string) []byte {
	var out []byte
	for i := 0; i+1 < len(p); i++ {
		if p[i] != '%' {
			continue
		}
		i++
		if p[i] != '%' {
			out = append(out, p[i])
		}
	}
	return out
}

// shellSafe reports whether s can stand unquoted as one word in a shell
// command line without the shell acting on it.
func shellSafe(s string) bool {
	if strings.HasPrefix(s, "-") {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(shellMeta, r) {
			return false
		}
	}
	return true
}

// expandTokens expands ssh_config %-tokens in s.
func expandTokens(p string, tokens map[byte]string) string {
	if tokens == nil || !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+1 >= len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		if p[i] == '%' {
			b.WriteByte('%')
		} else if v, ok := tokens[p[i]]; ok {
			b.WriteString(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// tildePath shortens a path under the home directory to ~/..., for messages.
func tildePath(p string) string {
	h := homeDir()
	if h != "/" && strings.HasPrefix(p, h+"/") {
		return "~" + p[len(h):]
	}
	return p
}
