package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/internal/yamlx"
	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/transport"
)

// globals are the options every sub-command shares. viper fills them from
// sshplay.yaml (working directory, then $XDG_CONFIG_HOME/sshplay/), then
// SSHPLAY_* environment variables; flags given on the command line win.
type globals struct {
	Inventories     []string
	Limit           string
	Forks           int
	HostKeyChecking string
	User            string
	PrivateKey      string
	Become          bool
	BecomeUser      string
	ConnectTimeout  int
	// Retries and TaskTimeout (seconds, 0: none) are how long a run
	// insists on a host: see transport.Target.Retries and
	// playbooks.Options.TaskTimeout.
	Retries     int
	TaskTimeout int
	Verbose     int
	// Shard is --shard K/N as given (SSHPLAY_SHARD too); shard is it
	// parsed by validate. limitHosts applies it with --limit.
	Shard string
	shard inventory.Shard
	// HostKeyCheckingSet says the user chose a policy (flag, config or
	// environment), so it beats StrictHostKeyChecking in the inventory.
	HostKeyCheckingSet bool
	// AskPass and AskBecomePass are -k and -K: prompt once for the SSH
	// and the become password (see promptPasswords).
	AskPass, AskBecomePass bool
	// BecomeMethod is --become-method; only sudo is supported.
	BecomeMethod string
	// Connection is -c/--connection: "" (the inventory decides), ssh or
	// local.
	Connection string
	// SSHCommonArgs and SSHExtraArgs are --ssh-common-args and
	// --ssh-extra-args: read as ansible_ssh_common_args, which beat them.
	SSHCommonArgs, SSHExtraArgs string
	// DefaultUser, DefaultPrivateKey and DefaultHostKeyChecking come from
	// ansible.cfg or ANSIBLE_*: as in Ansible, a host's variables beat them.
	DefaultUser, DefaultPrivateKey, DefaultHostKeyChecking string
	// RolesPath is roles_path of ansible.cfg (ANSIBLE_ROLES_PATH).
	RolesPath []string
	// VaultPasswordFile is vault_password_file of ansible.cfg
	// (ANSIBLE_VAULT_PASSWORD_FILE), for the vault password resolver.
	VaultPasswordFile string
	// Gathering is gathering of ansible.cfg (ANSIBLE_GATHERING); "" is
	// Ansible's default, implicit.
	Gathering playbooks.Gathering
	// password and becomePassword are what -k and -K prompted for.
	password, becomePassword string
	// ansibleSystemCfg is Ansible's system-wide configuration file,
	// /etc/ansible/ansible.cfg; tests point it elsewhere.
	ansibleSystemCfg string
	// origins maps a flag filled by load from the environment or the
	// configuration file to where (see configOrigin), for errors.
	origins map[string]string

	// Stdin is where -k, -K and --step ask (a terminal, or they refuse).
	Stdin          *os.File
	Stdout, Stderr io.Writer
	v              *viper.Viper
}

// Defaults of the connection flags. newGlobals sets them too, so a command
// that never connects (and so has no such flags) still validates.
const (
	defaultForks           = 25
	defaultHostKeyChecking = "strict"
	defaultConnectTimeout  = 10
)

func newGlobals(stdout, stderr io.Writer) *globals {
	return &globals{
		Forks:           defaultForks,
		HostKeyChecking: defaultHostKeyChecking,
		ConnectTimeout:  defaultConnectTimeout,
		BecomeMethod:    "sudo",
		Stdin:           os.Stdin,
		Stdout:          stdout, Stderr: stderr, v: viper.New(),
		ansibleSystemCfg: "/etc/ansible/ansible.cfg",
	}
}

// AddFlags registers the flags every sub-command shares: only -v, since
// the others mean something only to some commands (see AddInventoryFlags
// and AddConnectionFlags), and a flag a command ignores should not be in
// its help.
func (g *globals) AddFlags(f *pflag.FlagSet) {
	f.CountVarP(&g.Verbose, "verbose", "v", "more output (repeat for more)")
}

// AddInventoryFlags registers -i and, with limit, -l: for the commands that
// read an inventory (limit for those that narrow its hosts).
func (g *globals) AddInventoryFlags(f *pflag.FlagSet, limit bool) {
	f.StringArrayVarP(&g.Inventories, "inventory", "i", nil, "inventory file or directory (repeatable)")
	if limit {
		f.StringVarP(&g.Limit, "limit", "l", "", "further limit hosts with a pattern (or @file)")
	}
}

// AddConnectionFlags registers the SSH and run flags: for the commands that
// connect to hosts (exec, play, pg), never for ca, lab or inventory, whose
// help would otherwise offer settings they ignore.
func (g *globals) AddConnectionFlags(f *pflag.FlagSet) {
	f.IntVarP(&g.Forks, "forks", "f", defaultForks, "number of hosts worked on in parallel")
	f.StringVar(&g.HostKeyChecking, "host-key-checking", defaultHostKeyChecking, "SSH host key policy: strict|accept-new|off")
	f.StringVarP(&g.User, "user", "u", "", "connect as this user (overrides inventory)")
	f.StringVar(&g.PrivateKey, "private-key", "", "SSH private key file (overrides inventory)")
	f.BoolVarP(&g.Become, "become", "b", false, "run operations with become (sudo)")
	f.StringVar(&g.BecomeUser, "become-user", "", "become this user (default root)")
	f.IntVarP(&g.ConnectTimeout, "timeout", "T", defaultConnectTimeout, "SSH connect timeout in seconds: the TCP connect, the server's banner, then any silence of the handshake")
	f.IntVar(&g.Retries, "retries", 0, "connection attempts to retry after a transient failure (refused, reset, dropped, stalled handshake)")
	f.IntVar(&g.TaskTimeout, "task-timeout", 0, "seconds each task may take on a host before it is stopped (0: no limit)")
	f.StringVar(&g.BecomeMethod, "become-method", "sudo", "privilege escalation method (only sudo is supported)")
	f.StringVarP(&g.Connection, "connection", "c", "", "connection type: ssh or local (default: the inventory's ansible_connection, else ssh)")
	f.StringVar(&g.SSHCommonArgs, "ssh-common-args", "", "ssh options for every host, read as ansible_ssh_common_args (which beats it)")
	f.StringVar(&g.SSHExtraArgs, "ssh-extra-args", "", "more ssh options, read as ansible_ssh_extra_args (which beats it)")
	f.StringVar(&g.Shard, "shard", "", "run only shard K of N (K/N, 1-based) of the selected hosts, so N runners cover them once; also SSHPLAY_SHARD")
}

// AddPromptFlags registers -k and -K: for exec and play, which ask for
// the passwords before they connect (see promptPasswords).
func (g *globals) AddPromptFlags(f *pflag.FlagSet) {
	f.BoolVarP(&g.AskPass, "ask-pass", "k", false, "ask for the SSH password (once, on the terminal)")
	f.BoolVarP(&g.AskBecomePass, "ask-become-pass", "K", false, "ask for the become (sudo) password (once, on the terminal)")
}

// limitHosts narrows hosts (a pattern's match) by --limit, then to the
// --shard part: the one host-selection rule of exec, play and pg status.
// A shard left with no host is no error (a small fleet split N ways leaves
// some runner nothing to do), but a limit that matches nothing is.
func (g *globals) limitHosts(inv *inventory.Inventory, hosts []*inventory.Host) ([]*inventory.Host, error) {
	hosts, err := inv.Limit(hosts, g.Limit)
	if err != nil {
		return nil, err
	}
	return g.shard.Apply(hosts), nil
}

// load reads the configuration file and environment into every flag the
// user did not set on the command line, then validates the result. A value
// a flag cannot take is one line naming where it came from (exit 5):
// `SSHPLAY_FORKS: want a whole number, got "abc"`, or
// `sshplay.yaml:2:8: forks: want a whole number, got "abc"`.
func (g *globals) load(cmd *cobra.Command) error {
	v := g.v
	cfg := findConfig()
	if cfg != "" {
		if err := checkConfigYAML(cmd, cfg); err != nil {
			return err
		}
		v.SetConfigFile(cfg)
		if err := v.ReadInConfig(); err != nil {
			return usageError{fmt.Errorf("config %s: %w", cfg, err)}
		}
		if err := checkConfigKeys(cfg, v.AllKeys(), cmd.Root()); err != nil {
			return err
		}
	}
	v.SetEnvPrefix("SSHPLAY")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	g.origins = map[string]string{}
	var ferr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if ferr != nil || f.Changed || !v.IsSet(f.Name) {
			return
		}
		origin := configOrigin(cmd, cfg, f.Name)
		g.origins[f.Name] = origin
		for _, s := range configValues(f, v.Get(f.Name)) {
			if err := f.Value.Set(s); err != nil {
				ferr = usageError{fmt.Errorf("%s: %s, got %q", origin, flagWant(f), s)}
				return
			}
		}
	})
	if ferr != nil {
		return ferr
	}
	if err := g.loadAnsible(cmd); err != nil {
		return err
	}
	g.HostKeyCheckingSet = cmd.Flags().Changed("host-key-checking") || v.IsSet("host-key-checking")
	return g.validate()
}

// loadAnsible applies ansible.cfg and ANSIBLE_* below what the command
// line, sshplay.yaml and SSHPLAY_* set, for the commands that read an
// inventory (the others have nothing Ansible could configure).
func (g *globals) loadAnsible(cmd *cobra.Command) error {
	if cmd.Flags().Lookup("inventory") == nil {
		return nil
	}
	ac, err := readAnsibleConfig(os.Getenv, g.ansibleSystemCfg)
	if err != nil {
		return err
	}
	return g.applyAnsible(cmd, ac, g.v.IsSet)
}

// configValues are the strings a configuration or environment value gives
// flag f: one per list element, a comma list split for a slice flag.
func configValues(f *pflag.Flag, val any) []string {
	var vals []string
	switch x := val.(type) {
	case []any:
		for _, e := range x {
			vals = append(vals, fmt.Sprint(e))
		}
	case []string:
		vals = x
	default:
		s := fmt.Sprint(x)
		if _, isSlice := f.Value.(pflag.SliceValue); isSlice {
			vals = strings.Split(s, ",")
		} else {
			vals = []string{s}
		}
	}
	return vals
}

// envName is the environment variable that sets flag name.
func envName(name string) string {
	return "SSHPLAY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// configOrigin names where viper found flag name's value: the environment
// variable when it is set (it beats the file, as viper reads it), else the
// configuration file's key, at its line and column when they can be found.
func configOrigin(cmd *cobra.Command, cfg, name string) string {
	if _, ok := os.LookupEnv(envName(name)); ok || cfg == "" {
		return envName(name)
	}
	if line, col := configKeyPos(cmd, cfg, name); line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", cfg, line, col, name)
	}
	return cfg + ": " + name
}

// configKeyPos is the line and column of the value of top-level key name in
// the configuration file (viper's keys are case-insensitive), 0, 0 when it
// cannot be found.
func configKeyPos(cmd *cobra.Command, cfg, name string) (int, int) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		return 0, 0
	}
	doc, err := yamlx.Parse(ctx, cfg, data)
	if err != nil || doc == nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 0, 0
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, name) {
			return m.Content[i+1].Line, m.Content[i+1].Column
		}
	}
	return 0, 0
}

// flagWant says in words what kind of value flag f takes, for errors.
func flagWant(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "count":
		return "want a whole number"
	case "bool":
		return "want true or false"
	case "duration":
		return "want a duration such as 30s or 5m"
	case "float32", "float64":
		return "want a number"
	}
	return "want a " + f.Value.Type() + " value"
}

// origin names where a flag's value came from, for validation errors:
// --name on the command line (or by default), else the environment
// variable or configuration key load filled it from.
func (g *globals) origin(name string) string {
	if o := g.origins[name]; o != "" {
		return o
	}
	return "--" + name
}

// validate rejects flag values no run can use (exit 5).
func (g *globals) validate() error {
	switch g.HostKeyChecking {
	case "strict", "accept-new", "off":
	default:
		return usageError{fmt.Errorf("%s: want strict, accept-new or off, got %q", g.origin("host-key-checking"), g.HostKeyChecking)}
	}
	if g.Forks < 1 {
		return usageError{fmt.Errorf("%s: must be at least 1, got %d", g.origin("forks"), g.Forks)}
	}
	if g.ConnectTimeout < 1 {
		return usageError{fmt.Errorf("%s: must be at least 1 second, got %d", g.origin("timeout"), g.ConnectTimeout)}
	}
	if g.Retries < 0 {
		return usageError{fmt.Errorf("%s: must be 0 or more, got %d", g.origin("retries"), g.Retries)}
	}
	if g.TaskTimeout < 0 {
		return usageError{fmt.Errorf("%s: must be 0 (no limit) or more seconds, got %d", g.origin("task-timeout"), g.TaskTimeout)}
	}
	if err := g.validateAnsibleFlags(); err != nil {
		return err
	}
	sh, err := inventory.ParseShard(g.Shard)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", g.origin("shard"), err)}
	}
	g.shard = sh
	return nil
}

// transportOverrides are the command-line connection settings that beat the
// inventory: user, key, connect timeout, become, and the host key policy
// when the user chose one.
func (g *globals) transportOverrides() transport.Overrides {
	ov := transport.Overrides{
		User:           g.User,
		PrivateKey:     g.PrivateKey,
		DefaultUser:    g.DefaultUser,
		DefaultKey:     g.DefaultPrivateKey,
		Timeout:        time.Duration(g.ConnectTimeout) * time.Second,
		Retries:        g.Retries,
		Become:         g.Become,
		BecomeUser:     g.BecomeUser,
		BecomePassword: g.becomePassword,
		Password:       g.password,
		Connection:     g.Connection,
		SSHCommonArgs:  g.SSHCommonArgs,
		SSHExtraArgs:   g.SSHExtraArgs,
	}
	if p, err := transport.ParseHostKeyPolicy(g.HostKeyChecking); err == nil && g.HostKeyCheckingSet {
		ov.HostKeyChecking = p
	}
	if p, err := transport.ParseHostKeyPolicy(g.DefaultHostKeyChecking); err == nil {
		ov.DefaultHostKeyChecking = p
	}
	return ov
}

// poolOptions configure the run's SSH connection pool: one connection per
// host, dialled as the engine dials (playbooks.DialParallelism), retried
// connection attempts told on stderr at -vv, every remote operation traced
// to stderr at -vvv (plain: `sshplay play` and `exec` turn that off and
// let the engine trace with secrets masked, see engineOptions).
func (g *globals) poolOptions() transport.PoolOptions {
	po := transport.PoolOptions{Overrides: g.transportOverrides(), Stderr: g.Stderr, MaxParallelDials: playbooks.DialParallelism(g.Forks)}
	if g.Verbose >= 2 {
		po.RetryLog = g.Stderr
	}
	if g.Verbose >= 3 {
		po.Trace = g.Stderr
	}
	return po
}

// findConfig returns the first sshplay.yaml (or .yml) in the working
// directory, then in $XDG_CONFIG_HOME/sshplay (~/.config/sshplay), or "".
// Only these exact names count, so a binary named sshplay is never mistaken
// for a configuration file.
func findConfig() string {
	dirs := []string{"."}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "sshplay"))
	} else if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".config", "sshplay"))
	}
	for _, d := range dirs {
		for _, n := range []string{"sshplay.yaml", "sshplay.yml"} {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// checkConfigYAML holds sshplay.yaml to the alias rule every YAML input of
// sshplay obeys (internal/yamlx) before viper decodes it with a YAML
// library of its own. Syntax errors are left for viper to report.
func checkConfigYAML(cmd *cobra.Command, file string) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return usageError{fmt.Errorf("config %s: %w", file, err)}
	}
	var ye *yamlx.Error
	if _, err := yamlx.Parse(ctx, file, data); errors.As(err, &ye) || (err != nil && ctx.Err() != nil) {
		return err
	}
	return nil
}

// isUsage reports whether err is bad user input (exit 5): any error in the
// chain that says so through a BadInput method (inventory and playbook parse
// errors, patterns matching no host).
func isUsage(err error) bool {
	var b interface{ BadInput() bool }
	return errors.As(err, &b) && b.BadInput()
}

// checkConfigKeys rejects a configuration key that is no flag of any
// sshplay command (a typo such as "forkz" would otherwise be silently
// ignored): exit 5, one line naming the file and the key, with the closest
// flag name as a suggestion.
func checkConfigKeys(file string, keys []string, root *cobra.Command) error {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) { known[f.Name] = true }
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	sort.Strings(keys)
	for _, k := range keys {
		if known[k] {
			continue
		}
		msg := fmt.Sprintf("config %s: unknown key %q", file, k)
		names := make([]string, 0, len(known))
		for name := range known {
			names = append(names, name)
		}
		msg += suggest.Hint(k, names)
		return usageError{errors.New(msg)}
	}
	return nil
}
