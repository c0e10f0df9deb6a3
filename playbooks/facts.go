package playbooks

// Fact gathering: as in Ansible, every play whose gather_facts is not
// false starts with a "Gathering Facts" task, the setup module run on each
// host of the batch before pre_tasks (one command per host, also in check
// mode, since it only reads). The facts are kept at Ansible's "host facts"
// level: above the inventory, below play vars; injected as ansible_NAME
// and under ansible_facts.NAME (INJECT_FACTS_AS_VARS), for the host itself
// and for hostvars.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks/core"
)

// GatherSettings are a play's fact-gathering keywords besides
// gather_facts; each is handed to the setup module as its argument.
type GatherSettings struct {
	// Subset is gather_subset (all, min, network, hardware, virtual, !x).
	Subset []string
	// Timeout is gather_timeout in seconds; 0 means no limit of its own.
	Timeout int
	// FactPath is fact_path, the folder of local facts (*.fact).
	FactPath string
}

// gatherKeyword reads gather_subset, gather_timeout and fact_path.
func (p *parser) gatherKeyword(play *Play, k, v *yaml.Node) {
	switch k.Value {
	case "gather_subset":
		for _, s := range p.strList(v, "gather_subset") {
			for _, part := range strings.Split(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					play.Gather.Subset = append(play.Gather.Subset, part)
				}
			}
		}
		if err := (core.FactOptions{Subset: play.Gather.Subset}).Check(); err != nil {
			p.fail(v, "gather_subset: %v", err)
		}
	case "gather_timeout":
		play.Gather.Timeout = p.integer(v, "gather_timeout")
	case "fact_path":
		play.Gather.FactPath = p.str(v, "fact_path")
	}
}

// Gathering is when plays gather facts, as Ansible's gathering setting
// (ANSIBLE_GATHERING) says.
type Gathering string

// The zero value gathers as GatherExplicit does: a program that embeds
// the engine (and its tests) runs no command it did not ask for; `sshplay
// play` sets GatherImplicit, Ansible's default.
const (
	// GatherImplicit gathers at the start of every play that does not
	// say gather_facts: false (Ansible's default).
	GatherImplicit Gathering = "implicit"
	// GatherExplicit gathers only in plays that say gather_facts: true.
	GatherExplicit Gathering = "explicit"
	// GatherSmart gathers like implicit, but only on hosts whose facts
	// were not gathered yet in this run.
	GatherSmart Gathering = "smart"
)

// ParseGathering reads a gathering setting: implicit, explicit or smart.
func ParseGathering(s string) (Gathering, error) {
	switch s {
	case "", "implicit":
		return GatherImplicit, nil
	case "explicit", "smart":
		return Gathering(s), nil
	}
	return "", fmt.Errorf("gathering must be implicit, explicit or smart, got %q", s)
}

// gathers reports whether a play gathers facts on host h: never with
// gather_facts: false; under smart, only while h has no facts yet.
func (r *runner) gathers(play *Play, h *hostState) bool {
	if play.GatherFacts != nil && !*play.GatherFacts {
		return false
	}
	switch r.opts.Gathering {
	case GatherImplicit:
		return true
	case GatherSmart:
		return h.factVars() == nil
	}
	return play.GatherFacts != nil // explicit, and the zero value
}

// factsTask is the implicit "Gathering Facts" task of a play: setup with
// the play's gathering keywords, at the play's position.
func factsTask(play *Play) *Task {
	args := map[string]any{}
	if len(play.Gather.Subset) > 0 {
		l := make([]any, len(play.Gather.Subset))
		for i, s := range play.Gather.Subset {
			l[i] = s
		}
		args["gather_subset"] = l
	}
	if play.Gather.Timeout > 0 {
		args["gather_timeout"] = strconv.Itoa(play.Gather.Timeout)
	}
	if play.Gather.FactPath != "" {
		args["fact_path"] = play.Gather.FactPath
	}
	return &Task{Pos: play.Pos, Name: "Gathering Facts", Module: "setup", ModuleKey: "gather_facts", Args: args,
		Tags: []string{"always"}}
}

// gatherFacts runs the play's Gathering Facts task on the batch's active
// hosts. Like Ansible's, it is tagged always and runs whatever
// --start-at-task says; a host whose facts cannot be read fails (or is
// unreachable) there, before its first task.
func (r *runner) gatherFacts(ctx context.Context, pr *playRun) {
	var hosts []*hostState
	for _, h := range active(pr.batch) {
		if r.gathers(pr.play, h) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 || ctx.Err() != nil {
		return
	}
	t := factsTask(pr.play)
	if !TagsSelected(t.Tags, r.opts.Tags, r.opts.SkipTags) {
		return
	}
	in := inherit{checkMode: pr.play.CheckMode, env: pr.play.Environment}
	r.rep.TaskStart(t, false) // every host gathers at once, whatever the strategy
	sem := make(chan struct{}, max(r.opts.Forks, 1))
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func(h *hostState) {
			defer wg.Done()
			defer func() { <-sem }()
			r.runTask(ctx, pr, t, h, in)
		}(h)
	}
	wg.Wait()
}

// gathersFacts reports whether t's facts are gathered facts (setup,
// gather_facts), kept at the host facts level rather than set_fact's.
func gathersFacts(t *Task) bool { return t != nil && t.Module == "setup" }

// keepGathered keeps facts from setup as the host's gathered facts; a
// later gathering adds to and replaces earlier ones, as Ansible's fact
// cache does.
func (h *hostState) keepGathered(facts map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gathered == nil {
		h.gathered = map[string]any{}
	}
	for k, v := range facts {
		h.gathered[k] = v
	}
}

// factVars are the host's gathered facts as variables: each as
// ansible_NAME (INJECT_FACTS_AS_VARS) and all under ansible_facts without
// the prefix (ansible_local keeps it there, as in Ansible). nil when no
// facts were gathered.
func (h *hostState) factVars() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.gathered) == 0 {
		return nil
	}
	out := make(map[string]any, len(h.gathered)+1)
	ns := make(map[string]any, len(h.gathered))
	for k, v := range h.gathered {
		out[k] = template.Literal{V: v}
		short := k
		if k != "ansible_local" {
			short = strings.TrimPrefix(k, "ansible_")
		}
		ns[short] = v
	}
	out["ansible_facts"] = template.Literal{V: ns}
	return out
}

// existingHost is the run's state of a host already met, or nil.
func (r *runner) existingHost(name string) *hostState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hosts[name]
}

// factsHost is the host whose facts a task's module sets: the delegated
// host under delegate_to with delegate_facts: true (Ansible 2.14 keeps
// set_fact's and setup's facts there, in its hostvars), else the current
// host. A delegated host outside the play gets a state without a recap
// line, as in Ansible.
func (r *runner) factsHost(t *Task, h *hostState, scope *template.Scope, delegate string) *hostState {
	if !t.DelegateFacts || delegate == "" {
		return h
	}
	name, err := scope.Render(delegate)
	if err != nil {
		return h // delegateConn has already failed the task on it
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hostLocked(strings.TrimSpace(name))
}
