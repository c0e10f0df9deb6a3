package playbooks

// Secret masking. A value is secret when the variable (or map key, at any
// depth) holding it has a secret name (secret.IsSecretName, the one rule
// shared with `sshplay inventory`); every such value of at least
// minSecretLen characters is replaced by "********" wherever the engine
// prints: text and JSON results, messages, diffs, loop items and the
// -vvv trace. Values are collected from every variable layer a task sees:
// inventory (of every host), play vars, vars_files, block and task vars,
// set_fact/registered facts and -e extra vars, rendered, so that a secret
// reached through a template ("{{ vault_db_password }}") is masked as the
// value it renders to. Shorter values are not masked by value (masking "1"
// everywhere would destroy the output); they are still hidden where they
// appear under their secret-named key. Every value the run's vault keyring
// decrypted is a secret too, under any name: no_log is not needed.

import (
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/sshplay/sshplay/internal/secret"
	"github.com/sshplay/sshplay/playbooks/template"
)

// minSecretLen is the shortest value masked wherever it appears.
const minSecretLen = 4

// secretSet is a growing set of secret values, longest first.
type secretSet struct {
	seen map[string]bool
	list []string
}

func (s *secretSet) add(v string) bool {
	if len(v) < minSecretLen || s.seen[v] {
		return false
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
	s.list = append(s.list, v)
	return true
}

func (s *secretSet) sorted() []string {
	out := append([]string(nil), s.list...)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// addLeaves adds every scalar under v (all of it is secret).
func (s *secretSet) addLeaves(v any) {
	switch x := unwrapLiteral(v).(type) {
	case map[string]any:
		for _, e := range x {
			s.addLeaves(e)
		}
	case []any:
		for _, e := range x {
			s.addLeaves(e)
		}
	case string:
		s.add(x)
	case nil, bool:
	case int, int64, float64, uint64:
		s.add(fmt.Sprint(x))
	}
}

// addNested adds the values under secret-named keys at any depth of v;
// render turns a template leaf into its value (nil: leaves stay raw).
func (s *secretSet) addNested(v any, render func(any) any) {
	switch x := unwrapLiteral(v).(type) {
	case map[string]any:
		for k, e := range x {
			if secret.IsSecretName(k) {
				if render != nil {
					e = render(e)
				}
				s.addLeaves(e)
				continue
			}
			s.addNested(e, render)
		}
	case []any:
		for _, e := range x {
			s.addNested(e, render)
		}
	}
}

// templateBlock is one {{ ... }} expression of a template text.
var templateBlock = regexp.MustCompile(`\{\{-?(.*?)-?\}\}`)

// identifier is a name an expression may read; stringLiteral is text it
// only quotes ('not secret' reads no variable).
var (
	identifier    = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	stringLiteral = regexp.MustCompile(`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`)
)

// addTainted adds what a template derives from a secret: every {{ }}
// expression under v that reads a secret-named variable (db_password |
// upper, db_password[:4], hostvars[h].vault_token) is rendered on its own
// and its value is masked like the secret itself, since it gives the
// secret away just as well.
func (s *secretSet) addTainted(v any, render func(any) any) {
	switch x := unwrapLiteral(v).(type) {
	case map[string]any:
		for _, e := range x {
			s.addTainted(e, render)
		}
	case []any:
		for _, e := range x {
			s.addTainted(e, render)
		}
	case string:
		for _, m := range templateBlock.FindAllStringSubmatch(x, -1) {
			names := identifier.FindAllString(stringLiteral.ReplaceAllString(m[1], ""), -1)
			if slices.ContainsFunc(names, secret.IsSecretName) {
				s.addLeaves(render("{{" + m[1] + "}}"))
			}
		}
	}
}

// skipSecretScan are variables never scanned: magic variables that hold
// other hosts' views (inventory secrets are collected once per run).
var skipSecretScan = map[string]bool{"hostvars": true, "groups": true, "omit": true,
	"ansible_play_hosts": true, "ansible_play_hosts_all": true, "ansible_play_batch": true}

// collectSecrets adds the secrets a task's scope holds to the host's set,
// and what the task's own arguments derive from them.
func (r *runner) collectSecrets(h *hostState, scope *template.Scope, args map[string]any) {
	var found secretSet
	render := func(v any) any {
		out, err := scope.Template(v)
		if err != nil {
			return v
		}
		return out
	}
	for _, name := range scope.Names() {
		if skipSecretScan[name] {
			continue
		}
		raw, _ := scope.Raw(name)
		if secret.IsSecretName(name) {
			found.addLeaves(raw)
			if v, ok, err := scope.Get(name); ok && err == nil {
				found.addLeaves(v)
			}
			continue
		}
		found.addNested(raw, render)
		found.addTainted(raw, render)
	}
	found.addTainted(args, render)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range found.list {
		h.secretSet.add(v)
	}
}

// runSecrets collects, once per run, the secrets of every host's inventory
// variables and of the extra vars: hostvars lets any host print them.
func (r *runner) runSecrets() {
	var s secretSet
	s.addNested(r.opts.ExtraVars, nil)
	hosts := map[string]bool{}
	for _, hs := range r.groups {
		for _, h := range hs {
			hosts[h] = true
		}
	}
	for h := range hosts {
		s.addNested(r.opts.Inventory.HostVars(h), nil)
	}
	r.global = s
}

// secrets returns the values masked in a host's output: the run's
// secrets, everything the vault keyring decrypted so far (whatever the
// variable's name), the host's collected ones and its facts' (set_fact,
// register).
func (r *runner) secrets(h *hostState) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range h.facts {
		if secret.IsSecretName(k) {
			h.secretSet.addLeaves(v)
		} else {
			h.secretSet.addNested(v, nil)
		}
	}
	all := secretSet{}
	for _, v := range r.global.list {
		all.add(v)
	}
	for _, v := range r.opts.Vault.Revealed() {
		all.add(v)
	}
	for _, v := range h.secretSet.list {
		all.add(v)
	}
	return all.sorted()
}

// maskFunc masks the host's secrets in a text (for the -vvv trace).
func (r *runner) maskFunc(h *hostState) func(string) string {
	return func(s string) string { return maskString(s, r.secrets(h)) }
}
