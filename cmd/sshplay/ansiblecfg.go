package main

// ansible.cfg and ANSIBLE_* variables: the settings an Ansible user already
// has, read as Ansible reads them, below everything sshplay's own
// configuration says. Precedence, highest first: the command line,
// sshplay.yaml and SSHPLAY_*, ANSIBLE_* variables, ansible.cfg, defaults.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/playbooks"
)

// cfgKind is how Ansible's configuration manager reads a setting's text
// (ansible/config/manager.py ensure_type).
type cfgKind int

const (
	cfgString    cfgKind = iota // quotes around the value are removed
	cfgInt                      // a whole number
	cfgBool                     // Ansible's booleans (yes/no, true/false, on/off, 1/0)
	cfgPath                     // ~ and $VARS expanded, relative to the file's folder
	cfgPathList                 // comma-separated paths (inventory)
	cfgPathSpec                 // colon-separated paths (roles_path)
	cfgGathering                // one of implicit, explicit, smart
)

// cfgSetting is one ansible.cfg key sshplay honours, with its ANSIBLE_*
// variable. flag is the sshplay flag it fills when nothing above it set
// that flag; field names instead a globals field (see applyAnsibleField)
// for settings that, as in Ansible, inventory variables beat.
type cfgSetting struct {
	section, key, env string
	kind              cfgKind
	flag              string
	field             string
}

// ansibleSettings are Ansible's names (lib/ansible/config/base.yml) of the
// settings sshplay reads.
var ansibleSettings = []cfgSetting{
	{"defaults", "inventory", "ANSIBLE_INVENTORY", cfgPathList, "inventory", ""},
	{"defaults", "forks", "ANSIBLE_FORKS", cfgInt, "forks", ""},
	{"defaults", "timeout", "ANSIBLE_TIMEOUT", cfgInt, "timeout", ""},
	{"defaults", "log_path", "ANSIBLE_LOG_PATH", cfgPath, "log-file", ""},
	{"defaults", "ask_pass", "ANSIBLE_ASK_PASS", cfgBool, "ask-pass", ""},
	{"privilege_escalation", "become", "ANSIBLE_BECOME", cfgBool, "become", ""},
	{"privilege_escalation", "become_user", "ANSIBLE_BECOME_USER", cfgString, "become-user", ""},
	{"privilege_escalation", "become_method", "ANSIBLE_BECOME_METHOD", cfgString, "become-method", ""},
	{"privilege_escalation", "become_ask_pass", "ANSIBLE_BECOME_ASK_PASS", cfgBool, "ask-become-pass", ""},
	{"defaults", "remote_user", "ANSIBLE_REMOTE_USER", cfgString, "", "remote_user"},
	{"defaults", "private_key_file", "ANSIBLE_PRIVATE_KEY_FILE", cfgPath, "", "private_key_file"},
	{"defaults", "host_key_checking", "ANSIBLE_HOST_KEY_CHECKING", cfgBool, "", "host_key_checking"},
	{"defaults", "roles_path", "ANSIBLE_ROLES_PATH", cfgPathSpec, "", "roles_path"},
	{"defaults", "vault_password_file", "ANSIBLE_VAULT_PASSWORD_FILE", cfgPath, "", "vault_password_file"},
	{"defaults", "gathering", "ANSIBLE_GATHERING", cfgGathering, "", "gathering"},
}

// ansibleIgnored are keys of ansible.cfg that tune Ansible's ssh client;
// sshplay speaks SSH itself, so -v says they are ignored.
var ansibleIgnored = []struct{ section, key, why string }{
	{"ssh_connection", "ssh_args", "sshplay speaks SSH itself; put options in ~/.ssh/config or --ssh-common-args"},
	{"ssh_connection", "pipelining", "sshplay always runs a module in one SSH session"},
	{"ssh_connection", "control_path", "sshplay keeps one connection per host open for the whole run"},
}

// iniFile is an INI file read as Python's configparser reads it with
// Ansible's settings (inline comments after " ;", no interpolation on
// read): sections of lower-cased keys, each value with its line.
type iniFile struct {
	path     string
	sections map[string]map[string]iniValue
}

type iniValue struct {
	text string
	line int
}

// get is the value of key in section, else in [DEFAULT], as configparser
// looks it up.
func (f *iniFile) get(section, key string) (iniValue, bool) {
	if v, ok := f.sections[section][key]; ok {
		return v, true
	}
	v, ok := f.sections["DEFAULT"][key]
	return v, ok
}

var iniSection = regexp.MustCompile(`^\[(.+)\]`)

// iniParser holds the state of parseINI between lines.
type iniParser struct {
	f        *iniFile
	sect     map[string]iniValue
	key      string   // the option a continuation line extends
	lines    []string // its value so far, one entry per line
	keyLine  int
	indent   int
	sectName string
}

// parseINI reads data as configparser.ConfigParser(inline_comment_prefixes
// =(';',)) does: '#' or ';' starts a comment line, " ;" an inline comment,
// "key = value" or "key: value", a more indented line continues the value,
// keys are case-insensitive, a duplicate section or key is an error. The
// error names path:line.
func parseINI(path string, data []byte) (*iniFile, error) {
	p := &iniParser{f: &iniFile{path: path, sections: map[string]map[string]iniValue{}}}
	for i, raw := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if err := p.line(i+1, raw); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
	}
	p.flush()
	return p.f, nil
}

func (p *iniParser) line(n int, raw string) error {
	trimmed := strings.TrimSpace(raw)
	if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
		return nil
	}
	value := stripInlineComment(raw)
	if strings.TrimSpace(value) == "" {
		if p.key != "" {
			p.lines = append(p.lines, "") // kept if the value goes on
		}
		return nil
	}
	indent := len(value) - len(strings.TrimLeft(value, " \t"))
	if p.key != "" && indent > p.indent {
		p.lines = append(p.lines, strings.TrimSpace(value))
		return nil
	}
	p.flush()
	p.indent = indent
	value = strings.TrimSpace(value)
	if m := iniSection.FindStringSubmatch(value); m != nil {
		if _, dup := p.f.sections[m[1]]; dup {
			return fmt.Errorf("section %q already exists", m[1])
		}
		p.sectName, p.sect = m[1], map[string]iniValue{}
		p.f.sections[m[1]] = p.sect
		return nil
	}
	if p.sect == nil {
		return errors.New("file contains no section headers")
	}
	return p.option(n, value)
}

// option starts the value of "key = value" or "key: value" (the first
// '=' or ':' splits).
func (p *iniParser) option(n int, value string) error {
	i := strings.IndexAny(value, "=:")
	if i < 0 {
		return fmt.Errorf("no '=' or ':' in %q", value)
	}
	key := strings.ToLower(strings.TrimSpace(value[:i]))
	if key == "" {
		return fmt.Errorf("no key before %q", value[i:i+1])
	}
	if _, dup := p.sect[key]; dup {
		return fmt.Errorf("option %q in section %q already exists", key, p.sectName)
	}
	p.key, p.keyLine = key, n
	p.lines = []string{strings.TrimSpace(value[i+1:])}
	p.sect[key] = iniValue{} // a duplicate is one even before flush
	return nil
}

// flush stores the option being read, its blank trailing lines dropped.
func (p *iniParser) flush() {
	if p.key == "" {
		return
	}
	for len(p.lines) > 1 && p.lines[len(p.lines)-1] == "" {
		p.lines = p.lines[:len(p.lines)-1]
	}
	p.sect[p.key] = iniValue{text: strings.Join(p.lines, "\n"), line: p.keyLine}
	p.key, p.lines = "", nil
}

// stripInlineComment cuts line at the first ';' that starts it or follows
// white space, as configparser's inline_comment_prefixes do.
func stripInlineComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == ';' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

// findAnsibleCfg is the ansible.cfg Ansible would read (first found):
// $ANSIBLE_CONFIG (a folder means its ansible.cfg), ./ansible.cfg unless
// the working directory is world-writable, ~/.ansible.cfg, then system.
// note says why ./ansible.cfg was skipped, for -v.
func findAnsibleCfg(getenv func(string) string, system string) (path, note string) {
	var candidates []string
	if env, ok := os.LookupEnv("ANSIBLE_CONFIG"); ok {
		env = expandUser(env, getenv)
		if st, err := os.Stat(env); err == nil && st.IsDir() {
			env = filepath.Join(env, "ansible.cfg")
		}
		candidates = append(candidates, env)
	}
	if cwd, err := os.Getwd(); err == nil {
		local := filepath.Join(cwd, "ansible.cfg")
		if st, err := os.Stat(cwd); err == nil && st.Mode().Perm()&0o002 != 0 {
			if _, err := os.Stat(local); err == nil {
				note = fmt.Sprintf("ignoring %s: the working directory %s is world-writable (as Ansible does)", local, cwd)
			}
		} else {
			candidates = append(candidates, local)
		}
	}
	candidates = append(candidates, expandUser("~/.ansible.cfg", getenv), system)
	for _, c := range candidates {
		if f, err := os.Open(c); err == nil {
			_ = f.Close()
			return c, note
		}
	}
	return "", note
}

// expandUser expands a leading ~ and $VARS, as Ansible's unfrackpath does.
func expandUser(p string, getenv func(string) string) string {
	p = os.Expand(p, getenv)
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			p = h + p[1:]
		}
	}
	return p
}

// ansibleValue is one setting's value, converted, and where it came from.
type ansibleValue struct {
	vals   []string // one value, or a path list's paths
	origin string   // "ansible.cfg:3: forks" or "ANSIBLE_FORKS"
}

// ansibleConfig is what ansible.cfg and the ANSIBLE_* variables say.
type ansibleConfig struct {
	file   string // "" when none was found
	values map[string]ansibleValue
	notes  []string // for -v: the file read, keys ignored
}

// readAnsibleConfig finds and reads ansible.cfg, then lets each ANSIBLE_*
// variable beat its key. A value a setting cannot take is one line naming
// file:line and key (or the variable): bad input, exit 5.
func readAnsibleConfig(getenv func(string) string, system string) (*ansibleConfig, error) {
	ac := &ansibleConfig{values: map[string]ansibleValue{}}
	path, note := findAnsibleCfg(getenv, system)
	if note != "" {
		ac.notes = append(ac.notes, note)
	}
	if path != "" {
		if err := ac.readFile(path, getenv); err != nil {
			return nil, err
		}
	} else {
		ac.notes = append(ac.notes, "No config file found; using defaults")
	}
	for _, s := range ansibleSettings {
		raw, ok := os.LookupEnv(s.env)
		if !ok {
			continue
		}
		vals, err := convertCfg(s.kind, raw, "", getenv)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: %w", s.env, err)}
		}
		ac.values[s.key] = ansibleValue{vals: vals, origin: s.env}
	}
	return ac, nil
}

// readFile reads the settings of the ansible.cfg at path, paths relative
// to its folder, and notes the ssh client keys it ignores.
func (ac *ansibleConfig) readFile(path string, getenv func(string) string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageError{fmt.Errorf("ansible config %s: %w", path, err)}
	}
	ini, err := parseINI(path, data)
	if err != nil {
		return usageError{err}
	}
	abs, _ := filepath.Abs(path)
	ac.file = abs
	ac.notes = append(ac.notes, fmt.Sprintf("Using %s as config file", abs))
	for _, s := range ansibleSettings {
		v, ok := ini.get(s.section, s.key)
		if !ok {
			continue
		}
		origin := fmt.Sprintf("%s:%d: %s", path, v.line, s.key)
		vals, err := convertCfg(s.kind, v.text, filepath.Dir(abs), getenv)
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", origin, err)}
		}
		ac.values[s.key] = ansibleValue{vals: vals, origin: origin}
	}
	for _, ig := range ansibleIgnored {
		if v, ok := ini.sections[ig.section][ig.key]; ok {
			ac.notes = append(ac.notes, fmt.Sprintf("%s:%d: [%s] %s is ignored: %s", path, v.line, ig.section, ig.key, ig.why))
		}
	}
	return nil
}

// convertCfg reads raw as Ansible's ensure_type reads a setting of kind;
// base is the folder relative paths start from ("": the working
// directory, as for a value from the environment).
func convertCfg(kind cfgKind, raw, base string, getenv func(string) string) ([]string, error) {
	switch kind {
	case cfgInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("want a whole number, got %q", raw)
		}
		return []string{strconv.Itoa(n)}, nil
	case cfgBool:
		b, err := boolean.ParseString(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("want a boolean (yes/no, true/false), got %q", raw)
		}
		return []string{strconv.FormatBool(b)}, nil
	case cfgPath:
		return []string{resolveCfgPath(raw, base, getenv)}, nil
	case cfgGathering:
		v := unquote(strings.TrimSpace(raw))
		if v != "implicit" && v != "explicit" && v != "smart" {
			return nil, fmt.Errorf("invalid value %q, valid values are: implicit, explicit, smart", v)
		}
		return []string{v}, nil
	case cfgPathList, cfgPathSpec:
		sep := ","
		if kind == cfgPathSpec {
			sep = string(os.PathListSeparator)
		}
		var out []string
		for _, p := range strings.Split(raw, sep) {
			out = append(out, resolveCfgPath(strings.TrimSpace(p), base, getenv))
		}
		return out, nil
	}
	return []string{unquote(raw)}, nil
}

// resolveCfgPath is Ansible's resolve_path: ~ and $VARS expanded, a
// relative path made absolute from base (or the working directory).
func resolveCfgPath(p, base string, getenv func(string) string) string {
	p = expandUser(p, getenv)
	if !filepath.IsAbs(p) {
		if base == "" {
			base, _ = os.Getwd()
		}
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

// unquote removes one pair of matching quotes around s, as Ansible's
// unquote does for string settings.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// applyAnsible fills, from ac, every flag of cmd that the command line,
// sshplay.yaml and SSHPLAY_* left unset (filled tells which those filled),
// and the globals fields inventory variables beat. At -v it tells the
// config file read and the keys ignored, as Ansible's -v does.
func (g *globals) applyAnsible(cmd *cobra.Command, ac *ansibleConfig, filled func(string) bool) error {
	if g.Verbose >= 1 && cmd.Flags().Lookup("forks") != nil {
		for _, n := range ac.notes {
			fmt.Fprintln(g.Stderr, n)
		}
	}
	for _, s := range ansibleSettings {
		v, ok := ac.values[s.key]
		if !ok {
			continue
		}
		if s.field != "" {
			g.applyAnsibleField(s.field, v)
			continue
		}
		f := cmd.Flags().Lookup(s.flag)
		if f == nil || f.Changed || filled(s.flag) {
			continue
		}
		if err := setFlagValues(f, v); err != nil {
			return err
		}
		g.origins[s.flag] = v.origin
	}
	return nil
}

// setFlagValues sets flag f to v's values (one per path of a list).
func setFlagValues(f *pflag.Flag, v ansibleValue) error {
	for _, s := range v.vals {
		if err := f.Value.Set(s); err != nil {
			return usageError{fmt.Errorf("%s: %s, got %q", v.origin, flagWant(f), s)}
		}
	}
	return nil
}

// applyAnsibleField sets the globals field of an ansible.cfg setting that
// sits below the inventory, as in Ansible: remote_user, private_key_file
// and host_key_checking apply to a host whose variables say nothing.
func (g *globals) applyAnsibleField(field string, v ansibleValue) {
	switch field {
	case "remote_user":
		g.DefaultUser = v.vals[0]
	case "private_key_file":
		g.DefaultPrivateKey = v.vals[0]
	case "host_key_checking":
		g.DefaultHostKeyChecking = "off"
		if v.vals[0] == "true" {
			g.DefaultHostKeyChecking = "strict"
		}
	case "roles_path":
		g.RolesPath = v.vals
	case "vault_password_file":
		g.VaultPasswordFile = v.vals[0]
	case "gathering":
		g.Gathering = playbooks.Gathering(v.vals[0])
	}
}
