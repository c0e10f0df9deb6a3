package playbooks

// Checks made before anything connects: every play's hosts pattern, the
// modules' judgement of each host's variables, --start-at-task. A failure
// here is bad input (exit 5) and nothing runs.

import (
	"fmt"
	"strings"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/tasks"
)

// preflight resolves every play's hosts and lets the modules judge each
// host's variables (checkHostVars), and checks --start-at-task, before
// anything connects: a bad pattern or value is bad input and nothing runs.
func (r *runner) preflight(pbs []*Playbook) error {
	if err := r.promptVars(pbs); err != nil {
		return err
	}
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			pattern, err := r.playPattern(play)
			if err != nil {
				return err
			}
			hosts, err := r.playHosts(pattern)
			if err != nil && !matchesNoHostYet(r.opts.Inventory, pattern, err) {
				return fmt.Errorf("%s: hosts %q: %w", play.Pos, pattern, err)
			}
			if err := r.checkHostVars(play, hosts); err != nil {
				return err
			}
		}
	}
	return checkStartAt(pbs, r.opts.StartAtTask)
}

// VarsError is a host variable a module refused before anything connected
// (bad input: exit 5, nothing ran).
type VarsError struct {
	Play string
	Err  error
}

func (e *VarsError) Error() string { return fmt.Sprintf("%s: %v", e.Play, e.Err) }

func (e *VarsError) Unwrap() error { return e.Err }

func (e *VarsError) BadInput() bool { return true }

// checkHostVars lets every module of play that checks variables
// (tasks.VarsChecker) judge each host's variables before anything
// connects: inventory, play vars, then extra vars, as given. Values that
// are templates are left out (only the run can render them).
func (r *runner) checkHostVars(play *Play, hosts []string) error {
	var checkers []tasks.VarsChecker
	seen := map[string]bool{}
	walkTasks(play, func(t *Task) {
		mod, ok := r.opts.Modules.Lookup(t.Module)
		vc, isChecker := mod.(tasks.VarsChecker)
		if ok && isChecker && !seen[t.Module] {
			seen[t.Module] = true
			checkers = append(checkers, vc)
		}
	})
	if len(checkers) == 0 {
		return nil
	}
	for _, h := range hosts {
		vars := map[string]any{}
		for _, layer := range []map[string]any{r.opts.Inventory.HostVars(h), play.Vars, r.opts.ExtraVars} {
			for k, v := range layer {
				if s, ok := unwrapLiteral(v).(string); ok && (strings.Contains(s, "{{") || strings.Contains(s, "{%")) {
					delete(vars, k)
					continue
				}
				vars[k] = unwrapLiteral(v)
			}
		}
		for _, c := range checkers {
			if err := c.CheckVars(h, vars); err != nil {
				return &VarsError{Play: play.Pos.String(), Err: err}
			}
		}
	}
	return nil
}

// walkTasks calls f for every task of play, blocks and handlers included.
func walkTasks(play *Play, f func(*Task)) {
	var walk func([]*Task)
	walk = func(ts []*Task) {
		for _, t := range ts {
			f(t)
			walk(t.Block)
			walk(t.Rescue)
			walk(t.Always)
		}
	}
	for _, ts := range [][]*Task{play.PreTasks, play.Tasks, play.PostTasks, play.Handlers} {
		walk(ts)
	}
}

// checkStartAt makes --start-at-task name a task of the playbooks: an
// unknown name would silently run nothing.
func checkStartAt(pbs []*Playbook, name string) error {
	if name == "" {
		return nil
	}
	var names []string
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			for _, sec := range [][]*Task{play.PreTasks, play.Tasks, play.PostTasks} {
				for _, t := range allTasks(sec) {
					if t.Name == name {
						return nil
					}
					if t.Name != "" {
						names = append(names, t.Name)
					}
				}
			}
		}
	}
	return &ParseError{File: "--start-at-task", Msg: fmt.Sprintf("no task named %q in the playbooks%s", name, suggest.Hint(name, names))}
}
