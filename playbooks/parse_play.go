package playbooks

// Reading a play: its keywords, hosts, serial and max_fail_percentage, and
// its task sections, handlers first so that every notify can be checked
// against them.

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/playbooks/template"
)

// playKeys are the keys a play may have.
var playKeys = []string{"name", "hosts", "vars", "vars_files", "vars_prompt", "become", "become_user", "become_method", "remote_user",
	"gather_facts", "gather_subset", "gather_timeout", "fact_path", "serial", "max_fail_percentage", "any_errors_fatal", "force_handlers", "strategy",
	"pre_tasks", "tasks", "post_tasks", "handlers", "tags", "check_mode", "environment", "roles"}

// play reads one play: its keywords, then its task sections.
func (p *parser) play(n *yaml.Node) *Play {
	n = resolveAlias(n)
	play := &Play{Pos: p.pos(n), Strategy: "linear"}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "a play must be a mapping, got %s", kindName(n))
		return nil
	}
	var hostsSeen bool
	var sections []*yaml.Node // key, value, key, value, ...
	var roles *yaml.Node
	p.load.handlers, p.load.playRoles = nil, nil
	p.pairs(n, "play", func(k, v *yaml.Node) {
		switch k.Value {
		case "hosts":
			hostsSeen = true
			play.Hosts = p.playHosts(v)
		case "roles":
			roles = v
		case "pre_tasks", "tasks", "post_tasks", "handlers":
			sections = append(sections, k, v)
		default:
			p.playKeyword(play, k, v)
		}
	})
	if p.err != nil {
		return nil
	}
	if !hostsSeen || strings.TrimSpace(play.Hosts) == "" {
		p.fail(n, "play %q has no hosts", play.Name)
		return nil
	}
	if roles != nil {
		// As in Ansible, the roles run after pre_tasks (and their
		// handlers), before tasks.
		play.Tasks = p.playRoles(play, roles)
	}
	p.playSections(play, sections)
	if p.err != nil {
		return nil
	}
	play.Handlers = p.flattenHandlers(append(play.Handlers, p.load.handlers...))
	play.Roles = p.load.playRoles
	p.checkNotify(play)
	return play
}

// playHosts reads hosts: a pattern, or a list of them (joined with
// commas, as Ansible does).
func (p *parser) playHosts(v *yaml.Node) string {
	if v.Kind == yaml.SequenceNode {
		return strings.Join(p.strList(v, "hosts"), ",")
	}
	return p.str(v, "hosts")
}

// playKeyword reads one keyword of a play other than hosts and the task
// sections.
func (p *parser) playKeyword(play *Play, k, v *yaml.Node) {
	switch k.Value {
	case "name":
		play.Name = p.str(v, "name")
	case "vars":
		play.Vars = p.mapping(v, "vars")
	case "vars_files":
		p.varsFiles(play, v)
	case "vars_prompt":
		p.varsPrompt(play, v)
	case "become":
		play.Become = p.boolPtr(v, "become")
	case "become_user":
		play.BecomeUser = p.str(v, "become_user")
	case "become_method":
		p.becomeMethod(v)
	case "remote_user":
		play.RemoteUser = p.str(v, "remote_user")
	case "gather_facts":
		play.GatherFacts = p.boolPtr(v, "gather_facts")
	case "gather_subset", "gather_timeout", "fact_path":
		p.gatherKeyword(play, k, v)
	case "serial":
		play.Serial = p.serial(v)
	case "max_fail_percentage":
		play.MaxFailPercentage = p.maxFailPercentage(v)
	case "any_errors_fatal":
		play.AnyErrorsFatal = p.boolean(v, "any_errors_fatal")
	case "force_handlers":
		play.ForceHandlers = p.boolean(v, "force_handlers")
	case "strategy":
		play.Strategy = p.str(v, "strategy")
		if play.Strategy != "linear" && play.Strategy != "free" {
			p.fail(v, "strategy must be linear or free, got %q", play.Strategy)
		}
	case "tags":
		play.Tags = p.strList(v, "tags")
	case "check_mode":
		play.CheckMode = p.boolPtr(v, "check_mode")
	case "environment":
		play.Environment = p.mapping(v, "environment")
	default:
		p.unknownKey(k, playKeys, "play")
	}
}

// varsFiles reads vars_files (a name or a list), keeping where each name
// is written: a missing file is reported there (checkVarsFiles).
func (p *parser) varsFiles(play *Play, v *yaml.Node) {
	play.VarsFiles = p.strList(v, "vars_files")
	if v.Kind != yaml.SequenceNode {
		play.VarsFilesPos = append(play.VarsFilesPos, p.pos(v))
		return
	}
	for _, e := range v.Content {
		play.VarsFilesPos = append(play.VarsFilesPos, p.pos(e))
	}
}

// maxFailPercentage reads max_fail_percentage: a number from 0 to 100,
// with or without a % sign.
func (p *parser) maxFailPercentage(v *yaml.Node) *float64 {
	f, err := strconv.ParseFloat(strings.TrimSuffix(v.Value, "%"), 64)
	if v.Kind != yaml.ScalarNode || err != nil || f < 0 || f > 100 {
		p.fail(v, "max_fail_percentage must be a number from 0 to 100, got %s", kindName(v))
		return nil
	}
	return &f
}

// playSections reads the task sections: handlers first, so that every
// notify can be checked against them, then pre_tasks, tasks and
// post_tasks.
func (p *parser) playSections(play *Play, sections []*yaml.Node) {
	for i := 0; i < len(sections); i += 2 {
		if sections[i].Value == "handlers" {
			play.Handlers = p.taskList(sections[i+1], "handlers", true)
		}
	}
	for i := 0; i < len(sections) && p.err == nil; i += 2 {
		k, v := sections[i], sections[i+1]
		switch k.Value {
		case "pre_tasks":
			play.PreTasks = p.taskList(v, "pre_tasks", false)
		case "tasks":
			play.Tasks = append(play.Tasks, p.taskList(v, "tasks", false)...)
		case "post_tasks":
			play.PostTasks = p.taskList(v, "post_tasks", false)
		}
	}
}

// serial reads serial: a number of hosts, a percentage, or a list of them
// (the last repeats).
func (p *parser) serial(v *yaml.Node) []string {
	var items []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	} else {
		items = []*yaml.Node{v}
	}
	if len(items) == 0 {
		p.fail(v, "serial must not be an empty list")
		return nil
	}
	var out []string
	for _, e := range items {
		e = resolveAlias(e)
		s := strings.TrimSpace(e.Value)
		num := strings.TrimSuffix(s, "%")
		f, err := strconv.ParseFloat(num, 64)
		if e.Kind != yaml.ScalarNode || err != nil || f <= 0 || (!strings.HasSuffix(s, "%") && f != float64(int(f))) {
			p.fail(e, "serial must be a positive number, a percentage or a list of them, got %s", kindName(e))
			return nil
		}
		out = append(out, s)
	}
	return out
}

// checkNotify makes sure every notify names a handler (or a listen topic).
func (p *parser) checkNotify(play *Play) {
	known := map[string]bool{}
	var names []string
	for _, h := range allTasks(play.Handlers) {
		if h.Name != "" {
			known[h.Name] = true
			known[h.DisplayName()] = true
			names = append(names, h.Name)
		}
		for _, l := range h.Listen {
			known[l] = true
			names = append(names, l)
		}
	}
	var walk func(ts []*Task)
	walk = func(ts []*Task) {
		for _, t := range ts {
			for _, n := range t.Notify {
				if !known[n] && !template.IsTemplate(n) && p.err == nil {
					p.err = &ParseError{File: t.File, Line: t.Line, Col: t.Col,
						Msg: fmt.Sprintf("notify: no handler named %q in this play%s", n, suggest.Hint(n, names))}
				}
			}
		}
	}
	walk(allTasks(play.PreTasks))
	walk(allTasks(play.Tasks))
	walk(allTasks(play.PostTasks))
	walk(allTasks(play.Handlers))
}

// allTasks lists tasks depth-first, blocks included.
func allTasks(ts []*Task) []*Task {
	var out []*Task
	for _, t := range ts {
		out = append(out, t)
		out = append(out, allTasks(t.Block)...)
		out = append(out, allTasks(t.Rescue)...)
		out = append(out, allTasks(t.Always)...)
	}
	return out
}
