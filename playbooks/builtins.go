package playbooks

// Modules that work on the engine's variables rather than on a host:
// set_fact, assert, meta, include_vars. They are plain tasks.Modules (so
// tasks.Execute runs them like any other); set_fact and include_vars hand
// their values back as ansible_facts, which the engine stores as the host's
// facts; meta's actions are carried out by the engine itself.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/sshplay/sshplay/tasks"
)

// Register adds set_fact, assert, meta and include_vars to r, each also
// as ansible.builtin.NAME. meta and include_vars take free text in their
// short form ("meta: flush_handlers", "include_vars: vars.yml name=v").
func Register(r *tasks.Registry) {
	r.Add(tasks.ModuleFunc(setFact), "set_fact", "ansible.builtin.set_fact")
	r.Add(tasks.ModuleFunc(assertModule), "assert", "ansible.builtin.assert")
	r.AddFreeForm(tasks.ModuleFunc(metaModule), tasks.FreeForm{}, "meta", "ansible.builtin.meta")
	r.AddFreeForm(tasks.ModuleFunc(includeVars), tasks.FreeForm{Options: []string{"name"}}, "include_vars", "ansible.builtin.include_vars")
}

func setFact(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	facts := map[string]any{}
	for k, v := range args {
		if k == "cacheable" {
			continue
		}
		if !reIdent.MatchString(k) {
			return nil, fmt.Errorf("set_fact: %q is not a valid variable name", k)
		}
		facts[k] = v
	}
	if len(facts) == 0 {
		return nil, fmt.Errorf("set_fact: no variables given")
	}
	return &tasks.Change{Action: tasks.None, Result: map[string]any{"ansible_facts": facts}}, nil
}

// assertModule evaluates each condition of "that" with the task's
// variables; the engine passes "that" unrendered (it is made of bare
// expressions, as in Ansible).
func assertModule(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	var that []string
	switch x := args["that"].(type) {
	case string:
		that = []string{x}
	case []any:
		for _, e := range x {
			that = append(that, fmt.Sprint(e))
		}
	case bool:
		that = []string{fmt.Sprint(x)}
	default:
		return nil, fmt.Errorf("assert: that: want an expression or a list of expressions")
	}
	for k := range args {
		switch k {
		case "that", "fail_msg", "msg", "success_msg", "quiet":
		default:
			return nil, fmt.Errorf("assert: unknown argument %q", k)
		}
	}
	for _, cond := range that {
		cond = strings.TrimSpace(cond)
		if strings.HasPrefix(cond, "{{") && strings.HasSuffix(cond, "}}") {
			cond = strings.TrimSpace(cond[2 : len(cond)-2])
		}
		out, err := env.Render("{% if " + cond + " %}True{% else %}False{% endif %}")
		if err != nil {
			return nil, fmt.Errorf("that %q: %w", cond, err)
		}
		if out != "True" {
			msg := "Assertion failed"
			if m, ok := args["fail_msg"]; ok {
				msg = fmt.Sprint(m)
			} else if m, ok := args["msg"]; ok {
				msg = fmt.Sprint(m)
			}
			return nil, &tasks.Failed{Msg: msg, Result: map[string]any{"assertion": cond, "evaluated_to": false}}
		}
	}
	msg := "All assertions passed"
	if m, ok := args["success_msg"]; ok {
		msg = fmt.Sprint(m)
	}
	return &tasks.Change{Action: tasks.None, Result: map[string]any{"msg": msg}}, nil
}

var metaActions = map[string]bool{"flush_handlers": true, "end_play": true, "end_host": true, "noop": true,
	"clear_host_errors": true, "refresh_inventory": true, "end_batch": true}

func metaModule(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	a := metaAction(args)
	if !metaActions[a] {
		return nil, fmt.Errorf("meta: unknown action %q (flush_handlers, end_play, end_batch, end_host, noop, clear_host_errors, refresh_inventory)", a)
	}
	return &tasks.Change{Action: tasks.None, Result: map[string]any{}}, nil
}

func metaAction(args map[string]any) string {
	if s, ok := args["_raw_params"].(string); ok {
		return strings.TrimSpace(s)
	}
	return ""
}

// runMeta carries out a meta task on the hosts whose when holds: meta acts
// on the engine (handlers, the play, the batch, hosts), not on a host.
func (r *runner) runMeta(ctx context.Context, pr *playRun, t *Task, hosts []*hostState, in inherit) {
	var run []*hostState
	for _, h := range hosts {
		scope := r.scope(pr, h, in, t, nil)
		ok, err := r.when(scope, in, t)
		if err != nil {
			r.finish(h, t, in, outcomeErr(err), time.Now(), nil)
			continue
		}
		if ok {
			run = append(run, h)
		} else {
			r.finish(h, t, in, &tasks.Outcome{Status: tasks.StatusSkipped, Result: skippedResult()}, time.Now(), nil)
		}
	}
	if len(run) == 0 {
		return
	}
	switch metaAction(t.Args) {
	case "flush_handlers":
		r.flushHandlers(ctx, pr, run)
	case "end_play":
		for _, h := range pr.batch {
			h.setEnded(true)
		}
		pr.mu.Lock()
		pr.abort = true
		pr.mu.Unlock()
	case "end_batch":
		pr.mu.Lock()
		pr.endBatch = true
		pr.mu.Unlock()
	case "end_host":
		for _, h := range run {
			h.setEnded(true)
		}
	case "clear_host_errors":
		for _, h := range pr.batch {
			if h.isFailed() && !h.isUnreach() {
				h.setFailed(false)
			}
		}
	}
}

// includeVars reads a YAML file of variables from the control machine
// (looked up in the playbook's vars/ folder, then next to the playbook).
func includeVars(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	file, _ := args["file"].(string)
	if file == "" {
		file, _ = args["_raw_params"].(string)
	}
	if file == "" {
		return nil, fmt.Errorf("include_vars: file is required")
	}
	path := file
	if env.FindFile != nil {
		p, err := env.FindFile("vars", file)
		if err != nil {
			return nil, fmt.Errorf("include_vars: %w", err)
		}
		path = p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("include_vars: %w", err)
	}
	vars, err := readVars(ctx, file, data)
	if err != nil {
		return nil, fmt.Errorf("include_vars: %w", err)
	}
	if name, _ := args["name"].(string); name != "" {
		vars = map[string]any{name: vars}
	}
	return &tasks.Change{Action: tasks.None, Result: map[string]any{"ansible_facts": vars}}, nil
}

// AnsibleVersion is the ansible-core release whose behaviour sshplay
// follows (its recorded outputs in testdata are from it); ansible_version
// reports it, so playbooks that test the version take their 2.14 paths.
const AnsibleVersion = "2.14.18"

// magicVars are Ansible's run-wide magic variables: ansible_version,
// ansible_run_tags (["all"] without --tags), ansible_skip_tags,
// ansible_forks, ansible_verbosity and ansible_playbook_python (the
// control machine's python3, "" when it has none: sshplay needs no
// Python).
func magicVars(o *Options, python string) map[string]any {
	parts := strings.SplitN(AnsibleVersion, ".", 3)
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	runTags := []any{"all"}
	if len(o.Tags) > 0 {
		runTags = toAny(o.Tags)
	}
	return map[string]any{
		"ansible_version": map[string]any{"string": AnsibleVersion, "full": AnsibleVersion,
			"major": num(parts[0]), "minor": num(parts[1]), "revision": num(parts[2])},
		"ansible_run_tags":        runTags,
		"ansible_skip_tags":       toAny(o.SkipTags),
		"ansible_forks":           o.Forks,
		"ansible_verbosity":       o.Verbose,
		"ansible_playbook_python": python,
	}
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// controlPython is the path of python3 on the control machine, or "".
func controlPython() string {
	p, err := exec.LookPath("python3")
	if err != nil {
		return ""
	}
	return p
}
