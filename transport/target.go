package transport

// target.go turns a host's inventory variables (Ansible's connection
// variables and their sshplay_ aliases), the command-line overrides and the
// user's ~/.ssh/config into a Target: everything needed to dial one host. It
// never opens a connection and never prints; options it cannot honour come
// back as warnings for the caller to show.

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sshplay/sshplay/internal/boolean"
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

// ParseHostKeyPolicy accepts sshplay's names (strict, accept-new, off),
// OpenSSH's StrictHostKeyChecking values (yes, ask → strict; no → off) and
// every Ansible boolean, since Ansible's host_key_checking is one (true →
// strict, false → off).
func ParseHostKeyPolicy(s string) (HostKeyPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "strict", "ask":
		return HostKeyStrict, nil
	case "accept-new":
		return HostKeyAcceptNew, nil
	}
	on, err := boolean.ParseString(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("invalid host key checking %q (want strict, accept-new or off)", s)
	case on:
		return HostKeyStrict, nil
	}
	return HostKeyOff, nil
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
	// HashKnownHosts is ssh's HashKnownHosts: accept-new records a new
	// host under its hashed name (|1|salt|hash), as ssh would.
	HashKnownHosts  bool
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
	// BecomePassword and Password are what -K and -k prompted for: used
	// when the host's variables (ansible_become_password, ansible_password)
	// give none, as in Ansible.
	BecomePassword, Password string
	// Connection is -c: "ssh" or "local" for a host whose
	// ansible_connection says nothing ("": ssh).
	Connection string
	// SSHCommonArgs and SSHExtraArgs are --ssh-common-args and
	// --ssh-extra-args, read as ansible_ssh_common_args and
	// ansible_ssh_extra_args are (and replaced by them when a host sets
	// them, as in Ansible).
	SSHCommonArgs, SSHExtraArgs string
	// DefaultUser, DefaultKey and DefaultHostKeyChecking are ansible.cfg's
	// remote_user, private_key_file and host_key_checking: below the
	// host's variables and ssh options, above ssh_config and the defaults
	// (DefaultUser beats ssh_config's User, as Ansible passes it to ssh).
	DefaultUser, DefaultKey string
	DefaultHostKeyChecking  HostKeyPolicy
}

const defaultConnectTimeout = 10 * time.Second

// Keepalive defaults, as ServerAliveInterval=15 ServerAliveCountMax=3: a
// host that sends nothing for 45 s is given up on.
const (
	defaultKeepaliveInterval = 15 * time.Second
	defaultKeepaliveCountMax = 3
)

// TargetError is bad connection input for one host (an invalid port, an
// unbalanced quote in ssh args, a become setting that is not a boolean).
// It is bad user input: exit code 5.
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
// was ignored, one string per option. The host's become settings are
// checked too (see BecomeForHost), so that every connection variable is
// refused before anything runs.
func TargetFromVars(name string, vars map[string]any, ov Overrides) (Target, []string, error) {
	t, warns, err := targetFromVars(name, vars, ov)
	if err != nil {
		return Target{}, warns, &TargetError{Host: name, Err: err}
	}
	return t, warns, nil
}

// The inventory variables of each setting, first one set wins.
var (
	connectionVars   = []string{"sshplay_connection", "ansible_connection"}
	commonArgsVars   = []string{"sshplay_ssh_common_args", "ansible_ssh_common_args"}
	extraArgsVars    = []string{"sshplay_ssh_extra_args", "ansible_ssh_extra_args"}
	hostVars         = []string{"sshplay_host", "ansible_host", "ansible_ssh_host"}
	portVars         = []string{"sshplay_port", "ansible_port", "ansible_ssh_port"}
	userVars         = []string{"sshplay_user", "ansible_user", "ansible_ssh_user"}
	keyFileVars      = []string{"sshplay_private_key_file", "ansible_ssh_private_key_file", "ansible_private_key_file"}
	passwordVars     = []string{"sshplay_password", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password"}
	hostKeyCheckVars = []string{"sshplay_host_key_checking", "ansible_host_key_checking", "ansible_ssh_host_key_checking"}
	timeoutVars      = []string{"sshplay_timeout", "ansible_ssh_timeout", "ansible_timeout"}
	retriesVars      = []string{"sshplay_ssh_retries", "ansible_ssh_retries"}
	becomeVars       = []string{"sshplay_become", "ansible_become"}
	becomeUserVars   = []string{"sshplay_become_user", "ansible_become_user"}
	becomePassVars   = []string{"sshplay_become_password", "ansible_become_password", "ansible_become_pass"}
	becomeMethodVars = []string{"sshplay_become_method", "ansible_become_method"}
)

// targetInput is what a Target is built from: the host's variables, the
// command-line overrides, the ssh options of its ansible_ssh_*_args and the
// ssh_config that applies.
type targetInput struct {
	vars map[string]any
	ov   Overrides
	args sshArgs
	cfg  *sshConfig
	// alias is the name ssh_config is matched against: ansible_host, else
	// the inventory name.
	alias string
}

// targetFromVars checks the become settings and the connection type, then
// sets the Target's fields stage by stage; a stage may use what an earlier
// one set (the %-tokens of key files and ProxyCommand need Addr, Port and
// User).
func targetFromVars(name string, vars map[string]any, ov Overrides) (Target, []string, error) {
	t := Target{Name: name}
	if _, err := becomeFromVars(vars, ov); err != nil {
		return t, nil, err
	}
	conn, _, ok := lookupVar(vars, connectionVars...)
	if !ok {
		conn = ov.Connection
	}
	switch conn {
	case "", "ssh", "smart", "paramiko":
	case "local":
		t.Local, t.Addr = true, "localhost"
		return t, nil, nil
	default:
		return t, nil, fmt.Errorf("unsupported connection type %q (want ssh or local)", conn)
	}
	in, err := newTargetInput(name, vars, ov)
	if err != nil {
		return t, in.args.warnings, err
	}
	for _, set := range []func(*targetInput) error{
		t.addressFrom, t.portFrom, t.userFrom, t.keysFrom, t.knownHostsFrom, t.hostKeyCheckingFrom,
		t.connectTimeoutFrom, t.keepaliveFrom, t.retriesFrom, t.proxyCommandFrom, t.proxyJumpFrom,
	} {
		if err := set(in); err != nil {
			return t, in.args.warnings, err
		}
	}
	t.Password, _, _ = lookupVar(vars, passwordVars...)
	if t.Password == "" {
		t.Password = ov.Password
	}
	return t, in.args.warnings, nil
}

// newTargetInput reads the host's ssh args and the ssh_config they or the
// overrides name.
func newTargetInput(name string, vars map[string]any, ov Overrides) (*targetInput, error) {
	in := &targetInput{vars: vars, ov: ov, alias: name}
	for i, keys := range [][]string{commonArgsVars, extraArgsVars} {
		s, key, ok := lookupVar(vars, keys...)
		if !ok {
			s, key = []string{ov.SSHCommonArgs, ov.SSHExtraArgs}[i], []string{"--ssh-common-args", "--ssh-extra-args"}[i]
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if err := in.args.parse(name, s); err != nil {
			return in, fmt.Errorf("%s: %w", key, err)
		}
	}
	cfgPath := ov.SSHConfigFile
	if p, ok := in.args.get("__configfile"); ok {
		cfgPath = p
	}
	var err error
	if in.cfg, err = loadSSHConfig(cfgPath); err != nil {
		return in, err
	}
	if h, _, ok := lookupVar(vars, hostVars...); ok {
		in.alias = h
	}
	return in, nil
}

// option looks an ssh option up in the host's ssh args, then in
// ssh_config; src says where it was found, for error messages.
func (in *targetInput) option(key string) (val, src string, ok bool) {
	if v, ok := in.args.get(strings.ToLower(key)); ok {
		return v, "ssh option " + key, true
	}
	if v := in.cfg.get(in.alias, key); v != "" {
		return v, "ssh_config " + key + " for " + in.alias, true
	}
	return "", "", false
}

// setting looks a setting up in the inventory variables keys, then as the
// ssh option key (see option); src names the variable or option found.
func (in *targetInput) setting(keys []string, option string) (val, src string, ok bool) {
	if v, k, ok := lookupVar(in.vars, keys...); ok {
		return v, k, true
	}
	return in.option(option)
}

// tokens are the values of ssh_config's %-tokens for t (see expandPath).
func (t *Target) tokens(alias string) map[byte]string {
	return map[byte]string{'h': t.Addr, 'r': t.User, 'u': localUser(), 'd': homeDir(), 'p': strconv.Itoa(t.Port), 'n': alias}
}

// addressFrom sets Addr: HostName from the ssh args, else from ssh_config
// (where %h is the alias), else the alias itself.
func (t *Target) addressFrom(in *targetInput) error {
	t.Addr = in.alias
	if h, ok := in.args.get("hostname"); ok {
		t.Addr = h
	} else if h := in.cfg.get(in.alias, "HostName"); h != "" {
		t.Addr = strings.ReplaceAll(h, "%h", in.alias)
	}
	return nil
}

// parsed sets *dst to the setting keys/option (see setting) read by
// parse, and leaves it when nothing sets it; an error names where the
// value came from.
func parsed[T any](in *targetInput, keys []string, option string, parse func(string) (T, error), dst *T) error {
	v, src, ok := in.setting(keys, option)
	if !ok {
		return nil
	}
	x, err := parse(v)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	*dst = x
	return nil
}

func (t *Target) portFrom(in *targetInput) error {
	t.Port = 22
	return parsed(in, portVars, "Port", parsePort, &t.Port)
}

// userFrom sets User: -u, then the inventory, ssh args, ssh_config, and
// the local user last, as ssh does.
func (t *Target) userFrom(in *targetInput) error {
	switch u, src, ok := in.setting(userVars, "User"); {
	case in.ov.User != "":
		t.User = in.ov.User
	case ok && !strings.HasPrefix(src, "ssh_config"):
		t.User = u
	case in.ov.DefaultUser != "":
		t.User = in.ov.DefaultUser
	case ok:
		t.User = u
	default:
		t.User = localUser()
	}
	return nil
}

// keysFrom sets KeyFiles (--private-key or the inventory's key first, then
// every IdentityFile of the ssh args and ssh_config) and IdentitiesOnly.
func (t *Target) keysFrom(in *targetInput) error {
	if in.ov.PrivateKey != "" {
		t.KeyFiles = append(t.KeyFiles, expandPath(in.ov.PrivateKey, nil))
	} else if k, _, ok := lookupVar(in.vars, keyFileVars...); ok {
		t.KeyFiles = append(t.KeyFiles, expandPath(k, nil))
	} else if in.ov.DefaultKey != "" {
		t.KeyFiles = append(t.KeyFiles, expandPath(in.ov.DefaultKey, nil))
	}
	tokens := t.tokens(in.alias)
	for _, k := range append(append([]string(nil), in.args.identityFiles...), in.cfg.getAll(in.alias, "IdentityFile")...) {
		t.KeyFiles = appendUnique(t.KeyFiles, expandPath(k, tokens))
	}
	return parsed(in, nil, "IdentitiesOnly", boolean.ParseString, &t.IdentitiesOnly)
}

// knownHostsFrom sets KnownHostsFiles: UserKnownHostsFile (none and
// /dev/null dropped), then ~/.ssh/known_hosts; and HashKnownHosts.
func (t *Target) knownHostsFrom(in *targetInput) error {
	tokens := t.tokens(in.alias)
	if v, _, ok := in.option("UserKnownHostsFile"); ok {
		for _, f := range strings.Fields(v) {
			if f != "none" && f != "/dev/null" {
				t.KnownHostsFiles = appendUnique(t.KnownHostsFiles, expandPath(f, tokens))
			}
		}
	}
	t.KnownHostsFiles = appendUnique(t.KnownHostsFiles, filepath.Join(homeDir(), ".ssh", "known_hosts"))
	return parsed(in, nil, "HashKnownHosts", boolean.ParseString, &t.HashKnownHosts)
}

// hostKeyCheckingFrom sets HostKeyChecking: an explicit
// --host-key-checking, else the inventory, StrictHostKeyChecking, strict.
func (t *Target) hostKeyCheckingFrom(in *targetInput) error {
	t.HostKeyChecking = HostKeyStrict
	if in.ov.DefaultHostKeyChecking != "" {
		t.HostKeyChecking = in.ov.DefaultHostKeyChecking
	}
	if in.ov.HostKeyChecking != "" {
		p, err := ParseHostKeyPolicy(string(in.ov.HostKeyChecking))
		t.HostKeyChecking = p
		return err
	}
	return parsed(in, hostKeyCheckVars, "StrictHostKeyChecking", ParseHostKeyPolicy, &t.HostKeyChecking)
}

// connectTimeoutFrom sets ConnectTimeout: the inventory, ConnectTimeout,
// else --timeout, else 10 s.
func (t *Target) connectTimeoutFrom(in *targetInput) error {
	t.ConnectTimeout = in.ov.Timeout
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = defaultConnectTimeout
	}
	return parsed(in, timeoutVars, "ConnectTimeout", parseSeconds, &t.ConnectTimeout)
}

// proxyCommandFrom sets ProxyCommand (none: none), refusing a host or user
// name that the shell would act on before expanding the %-tokens.
func (t *Target) proxyCommandFrom(in *targetInput) error {
	v, _, _ := in.option("ProxyCommand")
	if strings.EqualFold(v, "none") {
		v = ""
	}
	t.ProxyCommand = v
	if v == "" {
		return nil
	}
	if err := checkProxyCommandTokens(v, t.Addr, t.User, in.alias); err != nil {
		return err
	}
	t.ProxyCommand = expandTokens(v, t.tokens(in.alias))
	return nil
}

func (t *Target) proxyJumpFrom(in *targetInput) error {
	jump, _, _ := in.option("ProxyJump")
	if jump == "" || strings.EqualFold(jump, "none") {
		return nil
	}
	var err error
	t.ProxyJump, err = resolveJumps(jump, *t, in.cfg, 0)
	return err
}

// resolveJumps turns a ProxyJump value ("[user@]host[:port][,...]") into
// jump Targets (see jumpHop). The first hop's own ProxyJump is followed.
func resolveJumps(spec string, base Target, cfg *sshConfig, depth int) ([]Target, error) {
	if depth > 5 {
		return nil, fmt.Errorf("ProxyJump %q: too many nested jump hosts", spec)
	}
	var out []Target
	for i, hop := range strings.Split(spec, ",") {
		j, err := jumpHop(spec, hop, base, cfg)
		if err != nil {
			return nil, err
		}
		if pj := cfg.get(j.Name, "ProxyJump"); i == 0 && pj != "" && !strings.EqualFold(pj, "none") {
			pre, err := resolveJumps(pj, j, cfg, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, pre...)
		}
		out = append(out, j)
	}
	return out, nil
}

// jumpHop is one hop of the ProxyJump value spec, looked up in ssh_config.
// What a hop does not set itself (user, keys, known_hosts, host key
// policy, timeouts) it takes from base, the final target, so a fleet with
// one deploy user and key needs no extra config for its bastion.
func jumpHop(spec, hop string, base Target, cfg *sshConfig) (Target, error) {
	hop = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(hop), "ssh://"))
	if hop == "" {
		return Target{}, fmt.Errorf("ProxyJump %q: empty hop", spec)
	}
	var j Target
	if at := strings.LastIndex(hop, "@"); at >= 0 {
		j.User, hop = hop[:at], hop[at+1:]
	}
	alias, portStr := hop, ""
	if h, p, err := splitHostPortLoose(hop); err == nil {
		alias, portStr = h, p
	}
	j.Name, j.Addr, j.Port = alias, alias, 22
	if h := cfg.get(alias, "HostName"); h != "" {
		j.Addr = strings.ReplaceAll(h, "%h", alias)
	}
	if portStr == "" {
		portStr = cfg.get(alias, "Port")
	}
	if portStr != "" {
		p, err := parsePort(portStr)
		if err != nil {
			return j, fmt.Errorf("ProxyJump %q: %w", spec, err)
		}
		j.Port = p
	}
	j.User = cmp.Or(j.User, cfg.get(alias, "User"), base.User)
	if err := j.hopKeysFrom(base, cfg, alias); err != nil {
		return j, err
	}
	j.HostKeyChecking, j.ConnectTimeout, j.AgentSocket = base.HostKeyChecking, base.ConnectTimeout, base.AgentSocket
	j.KeepaliveInterval, j.KeepaliveCountMax = base.KeepaliveInterval, base.KeepaliveCountMax
	return j, nil
}

// hopKeysFrom sets a jump host's keys, IdentitiesOnly and known_hosts:
// its own from ssh_config first, then those of base.
func (j *Target) hopKeysFrom(base Target, cfg *sshConfig, alias string) error {
	tokens := j.tokens(alias)
	for _, k := range cfg.getAll(alias, "IdentityFile") {
		j.KeyFiles = appendUnique(j.KeyFiles, expandPath(k, tokens))
	}
	for _, k := range base.KeyFiles {
		j.KeyFiles = appendUnique(j.KeyFiles, k)
	}
	j.IdentitiesOnly = base.IdentitiesOnly
	if v := cfg.get(alias, "IdentitiesOnly"); v != "" {
		on, err := boolean.ParseString(v)
		if err != nil {
			return fmt.Errorf("ssh_config IdentitiesOnly for %s: %w", alias, err)
		}
		j.IdentitiesOnly = on || base.IdentitiesOnly
	}
	for _, f := range strings.Fields(cfg.get(alias, "UserKnownHostsFile")) {
		j.KnownHostsFiles = appendUnique(j.KnownHostsFiles, expandPath(f, tokens))
	}
	for _, f := range base.KnownHostsFiles {
		j.KnownHostsFiles = appendUnique(j.KnownHostsFiles, f)
	}
	return hashKnownHostsFor(j, base, cfg, alias)
}

// BecomeForHost reads the become settings of host name: ansible_become,
// ansible_become_user and ansible_become_password / ansible_become_pass
// (and their sshplay_ aliases); inventory variables win over ov.Become /
// ov.BecomeUser. ansible_become is read as Ansible's strict boolean
// (internal/boolean): a value that is not one is a *TargetError naming the
// host and the variable, never a silent false.
func BecomeForHost(name string, vars map[string]any, ov Overrides) (Become, error) {
	b, err := becomeFromVars(vars, ov)
	if err != nil {
		return Become{}, &TargetError{Host: name, Err: err}
	}
	return b, nil
}

// BecomeFromVars is BecomeForHost for variables already checked (every
// host's are, by TargetFromVars, before a run connects anywhere): a
// become setting that is not a boolean leaves ov.Become in force.
func BecomeFromVars(vars map[string]any, ov Overrides) Become {
	b, _ := becomeFromVars(vars, ov)
	return b
}

// becomeFromVars reads the become settings; with an ansible_become that is
// not a boolean it says so, and reads the rest as if it were not set.
func becomeFromVars(vars map[string]any, ov Overrides) (Become, error) {
	b := Become{Enabled: ov.Become, User: ov.BecomeUser}
	var err error
	if key, v, ok := firstSet(vars, becomeVars); ok {
		on, perr := boolean.Parse(v)
		if perr == nil {
			b.Enabled = on
		} else {
			err = fmt.Errorf("%s: %w", key, perr)
		}
	}
	if v, _, ok := lookupVar(vars, becomeUserVars...); ok {
		b.User = v
	}
	b.Password, _, _ = lookupVar(vars, becomePassVars...)
	if b.Password == "" {
		b.Password = ov.BecomePassword
	}
	if m, key, ok := lookupVar(vars, becomeMethodVars...); ok && m != "sudo" && err == nil {
		err = fmt.Errorf("%s: not supported yet: become_method %s", key, m)
	}
	if !b.Enabled {
		return Become{}, err
	}
	return b, err
}

// firstSet returns the first of keys set in vars to something other than
// null or "", as it is (not as text), and which key it was.
func firstSet(vars map[string]any, keys []string) (string, any, bool) {
	for _, k := range keys {
		if v, ok := vars[k]; ok && v != nil && v != "" {
			return k, v, true
		}
	}
	return "", nil, false
}

// lookupVar returns the first of keys set in vars to something other than
// null or "", as text, and which key it was.
func lookupVar(vars map[string]any, keys ...string) (val, key string, ok bool) {
	for _, k := range keys {
		v, ok := vars[k]
		if !ok || v == nil {
			continue
		}
		if s := fmt.Sprint(v); s != "" {
			return s, k, true
		}
	}
	return "", "", false
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
