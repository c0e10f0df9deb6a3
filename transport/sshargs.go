package transport

// sshargs.go reads the ssh command-line options that an inventory passes in
// ansible_ssh_common_args and ansible_ssh_extra_args: the few sshplay
// honours (-o Key=Value, -J, -p, -i, -l, -F) are kept, every other option is
// named in a warning. It never runs ssh.

import (
	"fmt"
	"strings"

	"github.com/sshplay/sshplay/internal/shlex"
)

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

// parse reads one ansible_ssh_*_args value: its words are split as
// Python's shlex.split splits them, which is what Ansible's ssh connection
// plugin hands to ssh.
func (a *sshArgs) parse(host, s string) error {
	words, err := shlex.Split(s)
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
		"connectionattempts", "hashknownhosts":
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
