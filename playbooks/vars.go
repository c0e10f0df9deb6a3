package playbooks

// The variables a task sees on a host, in Ansible's order of precedence
// (scope); the magic variables (inventory_hostname, groups, hostvars,
// ansible_play_hosts, ...); another host's variables as hostvars shows them.

import (
	"strings"

	"github.com/sshplay/sshplay/playbooks/template"
)

// scope builds the variables a task sees on a host, in Ansible's order of
// precedence (later wins).
func (r *runner) scope(pr *playRun, h *hostState, in inherit, t *Task, loopVars map[string]any) *template.Scope {
	raw := map[string]any{}
	for _, ro := range pr.play.Roles {
		mergeInto(raw, ro.Defaults)
	}
	for _, ro := range in.roles {
		mergeInto(raw, ro.Defaults)
	}
	mergeInto(raw, r.inventoryVars(pr.pb, h.name))
	mergeInto(raw, h.factVars()) // host facts: below play vars (facts.go)
	mergeInto(raw, r.magic(pr, h))
	mergeInto(raw, roleMagic(in))
	for _, m := range []map[string]any{pr.play.Vars, pr.varsFiles} {
		mergeInto(raw, m)
	}
	for _, ro := range pr.play.Roles {
		mergeInto(raw, ro.Vars)
	}
	for _, ro := range in.roles {
		mergeInto(raw, ro.Vars)
	}
	for _, m := range in.vars {
		mergeInto(raw, m)
	}
	if t != nil {
		mergeInto(raw, t.Vars)
	}
	h.mu.Lock()
	for k, v := range h.facts {
		raw[k] = v
	}
	h.mu.Unlock()
	for _, ro := range in.roles {
		mergeInto(raw, ro.Params)
	}
	for _, m := range in.params {
		mergeInto(raw, m)
	}
	for k, v := range r.opts.ExtraVars {
		raw[k] = v
	}
	for k, v := range loopVars {
		raw[k] = v
	}
	return r.tpl.Scope(raw)
}

// magic are the variables Ansible sets for a task: the host's names,
// groups, hostvars (read on demand), check and diff mode, the play's
// hosts and batch, the playbook's folder, omit; and sshplay_run_started,
// which tells this run from others on the same hosts.
func (r *runner) magic(pr *playRun, h *hostState) map[string]any {
	batch := make([]any, 0, len(pr.batch))
	for _, b := range pr.batch {
		batch = append(batch, b.name)
	}
	play := make([]any, 0, len(pr.hosts))
	for _, n := range pr.hosts {
		if hs := r.host(n); !hs.isFailed() && !hs.isUnreach() {
			play = append(play, n)
		}
	}
	allHosts := make([]any, 0, len(pr.hosts))
	for _, n := range pr.hosts {
		allHosts = append(allHosts, n)
	}
	groups := map[string]any{}
	for g, hs := range r.groups {
		l := make([]any, len(hs))
		for i, x := range hs {
			l[i] = x
		}
		groups[g] = l
	}
	hostvars := map[string]any{}
	for _, hs := range r.groups["all"] {
		name := hs
		hostvars[name] = template.NewLazyVars(func() *template.Scope { return r.hostvarsScope(pr, name) })
	}
	for _, name := range pr.hosts {
		if _, ok := hostvars[name]; !ok {
			name := name
			hostvars[name] = template.NewLazyVars(func() *template.Scope { return r.hostvarsScope(pr, name) })
		}
	}
	return mergeMaps(r.runMagic, map[string]any{
		"inventory_hostname":       h.name,
		"inventory_hostname_short": strings.SplitN(h.name, ".", 2)[0],
		"groups":                   groups,
		"hostvars":                 hostvars,
		"ansible_check_mode":       r.opts.Check,
		"sshplay_run_started":      r.runStarted,
		"ansible_diff_mode":        r.opts.Diff,
		"playbook_dir":             pr.pb.Dir,
		"ansible_play_hosts":       play,
		"ansible_play_hosts_all":   allHosts,
		"ansible_play_batch":       batch,
		"ansible_play_name":        pr.play.Name,
		"omit":                     template.Omit,
	})
}

// hostvarsScope is another host's variables as hostvars shows them:
// inventory, play vars, facts and registered results, extra vars.
func (r *runner) hostvarsScope(pr *playRun, name string) *template.Scope {
	raw := map[string]any{}
	mergeInto(raw, r.inventoryVars(pr.pb, name))
	raw["inventory_hostname"] = name
	raw["groups"] = nil
	if fh := r.existingHost(name); fh != nil {
		mergeInto(raw, fh.factVars()) // host facts: below play vars (facts.go)
	}
	for _, m := range []map[string]any{pr.play.Vars, pr.varsFiles} {
		for k, v := range m {
			raw[k] = v
		}
	}
	r.mu.Lock()
	h := r.hosts[name]
	r.mu.Unlock()
	if h != nil {
		h.mu.Lock()
		for k, v := range h.facts {
			raw[k] = v
		}
		h.mu.Unlock()
	}
	for k, v := range r.opts.ExtraVars {
		raw[k] = v
	}
	delete(raw, "groups")
	return r.tpl.Scope(raw)
}

func mergeMaps(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// mergeInto copies m's variables into raw (m's win).
func mergeInto(raw, m map[string]any) {
	for k, v := range m {
		raw[k] = v
	}
}

// roleMagic are the variables Ansible sets for a task of a role: the
// role's name and folder, and the roles it is in (innermost first).
func roleMagic(in inherit) map[string]any {
	n := len(in.roles)
	if n == 0 {
		return nil
	}
	parents := make([]any, 0, n-1)
	for i := n - 2; i >= 0; i-- {
		parents = append(parents, in.roles[i].Name)
	}
	return map[string]any{"role_name": in.roles[n-1].Name, "role_path": in.roles[n-1].Path,
		"ansible_role_name": in.roles[n-1].Name, "ansible_parent_role_names": parents}
}
