package core

// The setup module (gather_facts): one POSIX sh command per host reads
// what Ansible's fact collectors read (os-release, /proc, /sys/class/net,
// ip, uname, getent, stat -f) and prints it in marked sections; Go parses
// the sections into Ansible's fact names and value types. No Python runs on
// the host and nothing is written: facts are gathered in check mode too.

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

// DefaultFactPath is where local facts (*.fact files) are read from.
const DefaultFactPath = "/etc/ansible/facts.d"

// FactOptions say what to gather.
type FactOptions struct {
	// Subset is gather_subset: all, min, network, hardware, virtual, and
	// "!name" to leave one out. Empty means all.
	Subset []string
	// Filter keeps only the facts whose name matches one of these globs
	// ("ansible_eth*", "*_mb"). Empty keeps all.
	Filter []string
	// FactPath is the folder of local facts; "" means DefaultFactPath.
	FactPath string
	// Timeout bounds the gathering (gather_timeout); 0 means none.
	Timeout time.Duration
}

// subsetParts are the parts of the gathering script that gather_subset
// can leave out; "min" (platform, distribution, user, env, date_time,
// service and package manager, local facts, ...) always runs.
var subsetParts = []string{"network", "hardware", "virtual"}

// parts resolves gather_subset into the optional parts to gather, as
// ansible-core 2.14 does (checked against `ansible -m setup`): no subset
// means all; "all" adds every part and "!all" takes back what "all"
// added; a named part is added, "!name" taken out; "min" and exclusions
// alone gather min only ("!hardware" is not all but hardware).
func (o FactOptions) parts() (map[string]bool, error) {
	named, dropped := map[string]bool{}, map[string]bool{}
	all, notAll := len(o.Subset) == 0, false
	for _, s := range o.Subset {
		name, neg := strings.CutPrefix(strings.TrimSpace(s), "!")
		switch {
		case name == "all" && neg:
			notAll = true
		case name == "all":
			all = true
		case name == "min":
		case contains(subsetParts, name) && neg:
			dropped[name] = true
		case contains(subsetParts, name):
			named[name] = true
		default:
			return nil, fmt.Errorf("unknown subset %q (use all, min, network, hardware, virtual, or !name)", name)
		}
	}
	on := map[string]bool{}
	for _, p := range subsetParts {
		on[p] = (named[p] || (all && !notAll)) && !dropped[p]
	}
	return on, nil
}

// Check reports a gather_subset that names no subset.
func (o FactOptions) Check() error {
	_, err := o.parts()
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Gather reads the facts of the host behind c in one command and returns
// them under Ansible's names (ansible_distribution, ansible_eth0, ...),
// with gather_subset and module_setup as Ansible sets them.
func Gather(ctx context.Context, c transport.Conn, o FactOptions) (map[string]any, error) {
	on, err := o.parts()
	if err != nil {
		return nil, &args.Error{Module: "setup", Arg: "gather_subset", Err: err}
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	fp := o.FactPath
	if fp == "" {
		fp = DefaultFactPath
	}
	res, err := c.Run(ctx, factScript(on, fp), transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("gather facts: %w", err)
	}
	facts := parseFacts(splitSections(res.Stdout), on)
	subset := o.Subset
	if len(subset) == 0 {
		subset = []string{"all"}
	}
	gs := make([]any, len(subset))
	for i, s := range subset {
		gs[i] = s
	}
	facts["gather_subset"] = gs
	facts["module_setup"] = true
	return filterFacts(facts, o.Filter), nil
}

// filterFacts keeps the facts whose name matches a glob of filter (all
// of them when filter is empty); Ansible matches the prefixed name.
func filterFacts(facts map[string]any, filter []string) map[string]any {
	if len(filter) == 0 {
		return facts
	}
	out := map[string]any{}
	for k, v := range facts {
		for _, g := range filter {
			if ok, _ := path.Match(g, k); ok {
				out[k] = v
				break
			}
		}
	}
	return out
}

// setupArgs are the arguments the setup module takes.
var setupArgs = []string{"filter", "gather_subset", "gather_timeout", "fact_path"}

// setupModule is setup / gather_facts as a task: it plans nothing (the
// host is only read) and hands the facts back as ansible_facts, which the
// engine keeps as the host's facts.
type setupModule struct{}

// CheckArgs rejects unknown arguments and subsets at parse time; values
// that hold a template are only known per host and are left to Plan.
func (setupModule) CheckArgs(raw map[string]any) error {
	known := map[string]any{}
	for k, v := range raw {
		if !strings.Contains(fmt.Sprint(v), "{{") {
			known[k] = v
		}
	}
	o, err := setupOptions(known)
	if err != nil {
		return err
	}
	if _, err := o.parts(); err != nil {
		return &args.Error{Module: "setup", Arg: "gather_subset", Err: err}
	}
	return nil
}

// Plan gathers the facts through the read-only connection.
func (setupModule) Plan(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	o, err := setupOptions(args)
	if err != nil {
		return nil, err
	}
	facts, err := Gather(ctx, env.Conn, o)
	if err != nil {
		return nil, err
	}
	// Like Ansible's _ansible_verbose_override, the facts are not printed
	// with the host's line (below -vvv): they are hundreds of lines.
	return &tasks.Change{Action: tasks.None, Result: map[string]any{"ansible_facts": facts, tasks.RepeatedFactsKey: true}}, nil
}

// setupOptions decodes the module's arguments.
func setupOptions(raw map[string]any) (FactOptions, error) {
	var o FactOptions
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		switch k {
		case "filter":
			o.Filter = stringList(v)
		case "gather_subset":
			o.Subset = stringList(v)
		case "fact_path":
			o.FactPath = fmt.Sprint(v)
		case "gather_timeout":
			var n int
			if _, err := fmt.Sscan(fmt.Sprint(v), &n); err != nil || n < 0 {
				return o, &args.Error{Module: "setup", Arg: k, Err: fmt.Errorf("must be a number of seconds, got %v", v)}
			}
			o.Timeout = time.Duration(n) * time.Second
		default:
			return o, &args.Error{Module: "setup", Err: fmt.Errorf("unsupported parameter %q (supported: %s)", k, strings.Join(setupArgs, ", "))}
		}
	}
	return o, nil
}

// stringList reads a list of strings, or one string of comma-separated
// names, as Ansible's list-typed arguments are read.
func stringList(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	case []string:
		out = append(out, x...)
	case nil:
	default:
		for _, s := range strings.Split(fmt.Sprint(x), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
