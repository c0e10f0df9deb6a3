package playbooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
)

// AdhocOptions describe `sshplay exec -m MODULE -a ARGS PATTERN`.
type AdhocOptions struct {
	Options
	Pattern string
	Module  string
	// Args is the module's short form: "k=v k2='a b'" (free text for
	// command and shell).
	Args string
	// OneLine prints each host's result on one line, as Ansible's oneline
	// callback (-o/--one-line) does.
	OneLine bool
}

// Adhoc runs one module on the hosts matching Pattern through the same
// engine as a playbook (one task, one play), printing Ansible's ad-hoc
// lines ("db01 | CHANGED | rc=0 >>") or the JSON document.
func Adhoc(ctx context.Context, o AdhocOptions) (*Summary, error) {
	if o.Modules == nil {
		return nil, errors.New("playbooks: Options.Modules is required")
	}
	mod := CanonicalModule(o.Module)
	if _, ok := o.Modules.Lookup(mod); !ok {
		return nil, &ParseError{File: "-m", Msg: fmt.Sprintf("unknown module %q%s", o.Module, suggest.Hint(o.Module, o.Modules.Names()))}
	}
	args, err := ParseKV(o.Args, o.Modules.FreeForm(mod))
	if err != nil {
		return nil, &ParseError{File: "-a", Msg: err.Error()}
	}
	if err := checkArgTemplates(args); err != nil {
		return nil, err
	}
	task := &Task{Pos: Pos{File: "adhoc"}, Module: mod, Args: args, LoopVar: "item"}
	play := &Play{Pos: Pos{File: "adhoc"}, Name: "Ad-hoc " + mod, Hosts: o.Pattern, Strategy: "linear", Tasks: []*Task{task},
		GatherFacts: new(bool)} // ad-hoc runs gather no facts, as in Ansible
	if o.Out == nil {
		o.Out = io.Discard
	}
	return run(ctx, []*Playbook{{Path: "adhoc", Dir: ".", Plays: []*Play{play}}}, o.Options, newAdhocReporter(o.Options, o.OneLine))
}

// newAdhocReporter is the reporter of `sshplay exec`: the JSON document or
// the ad-hoc lines on Out, and the ad-hoc lines on Log when set.
func newAdhocReporter(opts Options, oneLine bool) reporter {
	var main reporter
	if opts.Format == "json" {
		main = newJSONReporter(opts.Out, opts.Check, ExecSchema)
	} else {
		main = &adhocReporter{w: opts.Out, opts: opts, oneLine: oneLine}
	}
	if opts.Log == nil {
		return main
	}
	return teeReporter{main, &adhocReporter{w: opts.Log, opts: logOptions(opts), oneLine: oneLine}}
}

// checkArgTemplates checks the syntax of every template in -a, so that a
// typo is bad input before anything connects.
func checkArgTemplates(args map[string]any) error {
	tpl := template.New()
	for k, v := range args {
		if s, ok := v.(string); ok {
			if err := tpl.Check(s); err != nil {
				return &ParseError{File: "-a", Msg: fmt.Sprintf("%s: %v", k, err)}
			}
		}
	}
	return nil
}

// adhocReporter prints Ansible's ad-hoc (minimal) callback lines.
type adhocReporter struct {
	mu      sync.Mutex
	w       io.Writer
	opts    Options
	oneLine bool // Ansible's oneline callback (see oneLineResult)
}

func (r *adhocReporter) PlayStart(*Play, []string) {}
func (r *adhocReporter) TaskStart(*Task, bool)     {}
func (r *adhocReporter) LoopDone(*HostResult)      {}
func (r *adhocReporter) Progress(*Task, int) func() {
	return func() {}
}

func (r *adhocReporter) Note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.w, msg)
}

func (r *adhocReporter) Recap(*Summary) {}
func (r *adhocReporter) NoMoreHosts()   {}

// commandModules are the modules whose ad-hoc line is Ansible's command
// form ("db01 | CHANGED | rc=0 >>" and the output), not a JSON result.
var commandModules = map[string]bool{"command": true, "shell": true}

func (r *adhocReporter) HostResult(hr *HostResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := hr.shownResult()
	tr := &textReporter{opts: r.opts}
	if r.opts.Diff && !hr.NoLog {
		for _, d := range hr.Diffs {
			fmt.Fprint(r.w, colorDiff(r.opts.Color, maskString(d.Unified, hr.Secrets)))
		}
	}
	if r.oneLine {
		fmt.Fprintln(r.w, r.oneLineResult(tr, hr, res))
		return
	}
	if hr.Status == tasks.StatusUnreachable {
		fmt.Fprintln(r.w, tr.color(cRed, hr.Host+" | UNREACHABLE! => "+jsonText(res, true)))
		return
	}
	state, c := "SUCCESS", cGreen
	switch hr.Status {
	case tasks.StatusChanged:
		state, c = "CHANGED", cYellow
	case tasks.StatusFailed:
		state, c = "FAILED", cRed
	case tasks.StatusSkipped:
		state, c = "SKIPPED", cCyan
	}
	if commandModules[hr.Task.Module] && !hr.NoLog && hr.Status != tasks.StatusSkipped {
		if rc, ok := res["rc"]; ok {
			var b strings.Builder
			fmt.Fprintf(&b, "%s | %s | rc=%v >>\n", hr.Host, state, rc)
			if s, _ := res["stdout"].(string); s != "" {
				b.WriteString(strings.TrimRight(s, "\n") + "\n")
			}
			if s, _ := res["stderr"].(string); s != "" {
				b.WriteString(strings.TrimRight(s, "\n") + "\n")
			}
			if hr.Status == tasks.StatusFailed && res["stdout"] == "" && res["stderr"] == "" && hr.Msg != "" {
				b.WriteString(maskString(hr.Msg, hr.Secrets) + "\n")
			}
			fmt.Fprint(r.w, tr.color(c, strings.TrimRight(b.String(), "\n"))+"\n")
			return
		}
	}
	if hr.Status == tasks.StatusFailed {
		state = "FAILED!"
	}
	if hr.WouldRun {
		state = "SKIPPED (would run)"
	}
	fmt.Fprintln(r.w, tr.color(c, hr.Host+" | "+state+" => "+jsonText(res, true)))
}

// oneLineResult is a host's line under -o, as Ansible's oneline callback
// prints it: "db01 | CHANGED | rc=0 | (stdout) hi" for command and shell
// (newlines shown as \n, stderr appended when there is some), "db01 |
// SUCCESS => {...}" with the result's JSON on one line for other modules,
// and always JSON for a failure.
func (r *adhocReporter) oneLineResult(tr *textReporter, hr *HostResult, res map[string]any) string {
	switch hr.Status {
	case tasks.StatusUnreachable:
		return tr.color(cRed, hr.Host+" | UNREACHABLE!: "+maskString(hr.Msg, hr.Secrets))
	case tasks.StatusSkipped:
		return tr.color(cCyan, hr.Host+" | SKIPPED")
	case tasks.StatusFailed:
		return tr.color(cRed, hr.Host+" | FAILED! => "+oneLineJSON(res))
	}
	state, c := "SUCCESS", cGreen
	if hr.Status == tasks.StatusChanged {
		state, c = "CHANGED", cYellow
	}
	if hr.Task.Module == "debug" {
		// debug's result is always verbose: Ansible dumps it indented by
		// four, then removes the newlines and keeps the spaces.
		return tr.color(c, hr.Host+" | "+state+" => "+oneLineJSONIndent(res, "    "))
	}
	if !commandModules[hr.Task.Module] || hr.NoLog {
		return tr.color(c, hr.Host+" | "+state+" => "+oneLineJSON(res))
	}
	rc, ok := res["rc"]
	if !ok {
		rc = -1
	}
	esc := strings.NewReplacer("\n", "\\n", "\r", "\\r")
	stdout, _ := res["stdout"].(string)
	line := fmt.Sprintf("%s | %s | rc=%v | (stdout) %s", hr.Host, state, rc, esc.Replace(stdout))
	if stderr, _ := res["stderr"].(string); stderr != "" {
		line += " (stderr) " + esc.Replace(stderr)
	}
	return tr.color(c, line)
}

// oneLineJSON is Python's json.dumps(v, indent=0, sort_keys=True) with
// the newlines removed, as the oneline callback prints a result: ","
// between items, ": " after keys.
func oneLineJSON(v any) string { return oneLineJSONIndent(v, "") }

// oneLineJSONIndent is oneLineJSON with Python's indent (of spaces) kept.
func oneLineJSONIndent(v any, indent string) string {
	var b strings.Builder
	writeJSON(&b, jsonSafe(v), "\n", indent)
	return strings.ReplaceAll(b.String(), "\n", "")
}
