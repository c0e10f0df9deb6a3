package playbooks

// Executing a task's module on one host: its arguments rendered, the
// connection it runs on (delegate_to, become, environment, the -vvv trace),
// check_mode and diff, until/retries, then changed_when and failed_when.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// moduleCall is a task's module on one host, ready to run: the module,
// what it sees of the host, its rendered arguments and its check mode.
type moduleCall struct {
	mod  tasks.Module
	env  *tasks.Env
	args map[string]any
	opts tasks.ExecOptions
}

// execute runs a task's module on one host: it renders the arguments,
// builds what the module sees of the host, and runs it through
// tasks.Execute as often as until/retries ask, applying changed_when and
// failed_when to each attempt.
func (r *runner) execute(ctx context.Context, pr *playRun, t *Task, h *hostState, in inherit, scope *template.Scope, delegate string) *tasks.Outcome {
	mod, ok := r.opts.Modules.Lookup(t.Module)
	if !ok {
		return outcomeErr(fmt.Errorf("module %q is not available", t.Module))
	}
	args, err := r.renderArgs(t, scope)
	if err != nil {
		return outcomeErr(err)
	}
	env, ov, err := r.moduleEnv(ctx, pr, t, h, in, scope, delegate)
	if err != nil {
		return outcomeErr(err)
	}
	return r.attempts(ctx, t, r.factsHost(t, h, scope, delegate), scope, moduleCall{mod: mod, env: env, args: args, opts: r.execOptions(in, t, ov)})
}

// moduleEnv builds what a module sees of the host: its variables, the
// connection the task runs on (taskConn), diff mode, template rendering
// and file lookup. ov is the planning overlay of the machine the task runs
// on (nil outside check mode).
func (r *runner) moduleEnv(ctx context.Context, pr *playRun, t *Task, h *hostState, in inherit, scope *template.Scope, delegate string) (env *tasks.Env, ov *overlay.Overlay, err error) {
	vars := scope.All()
	b, err := r.become(vars, pr.play, in, t)
	if err != nil {
		return nil, nil, err
	}
	conn, ov, err := r.taskConn(ctx, h, t, in, scope, delegate)
	if err != nil {
		return nil, nil, err
	}
	if conn, err = withEnvironment(conn.Become(b), scope, in, t); err != nil {
		return nil, nil, err
	}
	diff, _ := r.diffFor(in, t)
	render := scope.Render
	if t.Module == "template" {
		// The template module's file is rendered with trim_blocks, as
		// Ansible does; its arguments were rendered above without.
		render = scope.RenderFile
	}
	return &tasks.Env{
		Host:     h.name,
		Conn:     conn,
		Local:    r.opts.Local,
		Vars:     vars,
		Render:   render,
		FindFile: func(kind, name string) (string, error) { return r.roleFindFile(pr, in, kind, name) },
		Diff:     diff,
	}, ov, nil
}

// taskConn is the connection a task runs on, before become: the host's
// own, or under delegate_to the control machine's or the delegated
// host's (delegateConn); traced at -vvv (secrets masked, commands hidden
// under no_log). ov is that machine's planning overlay (nil outside check
// mode).
func (r *runner) taskConn(ctx context.Context, h *hostState, t *Task, in inherit, scope *template.Scope, delegate string) (conn transport.Conn, ov *overlay.Overlay, err error) {
	if delegate == "" {
		conn, ov = h.conn, h.overlay // runTask waited for it (waitConn)
	} else if conn, ov, err = r.delegateConn(ctx, scope, delegate); err != nil {
		return nil, nil, err
	}
	if conn == nil {
		return nil, nil, fmt.Errorf("host %s: no connection", h.name)
	}
	if r.opts.Verbose >= 3 && r.opts.Trace != nil {
		conn = transport.TracedWith(conn, r.opts.Trace, transport.TraceOptions{Mask: r.maskFunc(h), NoLog: in.noLog || t.NoLog})
	}
	return conn, ov, nil
}

// withEnvironment gives conn the task's environment (its blocks' and its
// own, rendered), exported before every command it runs.
func withEnvironment(conn transport.Conn, scope *template.Scope, in inherit, t *Task) (transport.Conn, error) {
	env := mergeMaps(in.env, t.Environment)
	if len(env) == 0 {
		return conn, nil
	}
	renv, err := scope.Template(env)
	if err != nil {
		return nil, t.keyError("environment", "", err)
	}
	return &envConn{Conn: conn, env: renv.(map[string]any)}, nil
}

// execOptions is a task's check mode: --check, overridden by the
// check_mode keyword of its blocks and then its own (check_mode: false
// applies the task even under --check).
func (r *runner) execOptions(in inherit, t *Task, ov *overlay.Overlay) tasks.ExecOptions {
	eo := tasks.ExecOptions{Check: r.opts.Check, Overlay: ov}
	cm := in.checkMode
	if t.CheckMode != nil {
		cm = t.CheckMode
	}
	if cm != nil {
		if *cm {
			eo.Check = true
		} else if r.opts.Check {
			eo.ForceApply = true
		}
	}
	return eo
}

// attempts runs the module once, or, with until, until its conditions
// hold: retries more times (3 by default), delay seconds apart. Each
// attempt's facts are kept and changed_when and failed_when applied before
// until is judged.
func (r *runner) attempts(ctx context.Context, t *Task, h *hostState, scope *template.Scope, call moduleCall) *tasks.Outcome {
	attempts := 1
	if len(t.Until) > 0 {
		attempts = t.Retries
		if attempts == 0 {
			attempts = 3
		}
		attempts++
	}
	for a := 1; ; a++ {
		out := r.executeAsync(ctx, t, call)
		if out.Result == nil {
			out.Result = map[string]any{}
		}
		placeModuleError(t, out)
		commandNotRun(t, out)
		addLines(out.Result)
		h.keepFacts(t, out)
		r.overrides(t, scope, out)
		if len(t.Until) == 0 || out.WouldRun || out.Status == tasks.StatusSkipped {
			return out // a command skipped in check mode has no result to test
		}
		out.Result["attempts"] = a
		done, err := r.untilMet(scope, t, out)
		switch {
		case err != nil:
			return outcomeErr(err)
		case done:
			return out
		case a == attempts:
			out.Status = tasks.StatusFailed
			out.Result["failed"] = true
			if _, ok := out.Result["msg"]; !ok {
				out.Result["msg"] = fmt.Sprintf("condition not met after %d attempts", attempts)
			}
			return out
		}
		select {
		case <-ctx.Done():
			return outcomeErr(ctx.Err())
		case <-time.After(time.Duration(t.Delay) * time.Second):
		}
	}
}

// commandNotRun gives a command that check mode did not run the result
// Ansible's command module registers then: rc 0 and empty output (start,
// end and delta null), so `when: result.rc == 0` after it is judged as in
// Ansible rather than failing on an undefined rc.
func commandNotRun(t *Task, out *tasks.Outcome) {
	if !out.WouldRun || (t.Module != "command" && t.Module != "shell") {
		return
	}
	for k, v := range map[string]any{"rc": 0, "stdout": "", "stderr": "", "start": nil, "end": nil, "delta": nil} {
		if _, ok := out.Result[k]; !ok {
			out.Result[k] = v
		}
	}
}

// placeModuleError names the task's module, where it is written, before
// a template error the module met in its own arguments (assert's that:),
// which the module itself cannot place in the playbook.
func placeModuleError(t *Task, out *tasks.Outcome) {
	var ue *template.UndefinedError
	var te *TaskTemplateError
	if out.Status != tasks.StatusFailed || !errors.As(out.Err, &ue) || errors.As(out.Err, &te) {
		return
	}
	err := &TaskTemplateError{Pos: t.ModulePos, What: t.moduleKey(), Err: out.Err}
	out.Err = err
	out.Result["msg"] = err.Error()
}

// untilMet reports whether every until condition of t holds for the
// attempt's result. Every condition is evaluated, so that an error in any
// of them is reported.
func (r *runner) untilMet(scope *template.Scope, t *Task, out *tasks.Outcome) (bool, error) {
	s := r.withResult(scope, t, out.Result)
	done := true
	for _, c := range t.Until {
		ok, err := s.Cond(c)
		if err != nil {
			return false, t.keyError("until", c, err)
		}
		done = done && ok
	}
	return done, nil
}

// rawArgs are arguments passed to a module unrendered: they are bare
// expressions the module evaluates itself.
var rawArgs = map[string]map[string]bool{"assert": {"that": true}, "debug": {"var": true}}

// renderArgs renders the task's arguments with its variables; an
// argument that renders to omit is left out, and a module's raw arguments
// (rawArgs) are passed as written.
func (r *runner) renderArgs(t *Task, scope *template.Scope) (map[string]any, error) {
	out := make(map[string]any, len(t.Args))
	for k, v := range t.Args {
		if rawArgs[t.Module][k] {
			out[k] = v
			continue
		}
		rv, err := scope.Template(v)
		if err != nil {
			return nil, t.argError(k, err)
		}
		if rv == template.Omit {
			continue
		}
		out[k] = rv
	}
	return out, nil
}

// become decides the task's privilege escalation: -b/--become-user are
// defaults, inventory variables (ansible_become, ansible_become_user, or
// their sshplay_ aliases) override them, and play, block and task keywords
// override those (unlike Ansible, where connection variables beat
// keywords: a task saying become_user: postgres runs as postgres).
//
// The variables are read by Ansible's strict boolean() (boolean.Parse): a
// value that is no boolean is an error naming the variable, since running
// a task without the become the user meant is worse than stopping it.
func (r *runner) become(vars map[string]any, play *Play, in inherit, t *Task) (transport.Become, error) {
	on := r.opts.BecomeDefault
	user := r.opts.BecomeUser
	for _, k := range []string{"ansible_become", "sshplay_become"} {
		if v, ok := vars[k]; ok && v != nil && v != "" {
			b, err := boolean.Parse(unwrapLiteral(v))
			if err != nil {
				return transport.Become{}, fmt.Errorf("%s: %w", k, err)
			}
			on = b
		}
	}
	for _, k := range []string{"ansible_become_user", "sshplay_become_user"} {
		if v, ok := vars[k].(string); ok && v != "" {
			user = v
		}
	}
	for _, s := range []struct {
		b *bool
		u string
	}{{play.Become, play.BecomeUser}, {in.become, in.becomeUser}, {t.Become, t.BecomeUser}} {
		if s.b != nil {
			on = *s.b
		}
		if s.u != "" {
			user = s.u
		}
	}
	bv := mergeMaps(vars, map[string]any{"ansible_become": on, "ansible_become_user": user,
		"sshplay_become": on, "sshplay_become_user": user})
	if r.opts.Become != nil {
		return r.opts.Become(bv), nil
	}
	if !on {
		return transport.Become{}, nil
	}
	pw, _ := vars["ansible_become_password"].(string)
	if pw == "" {
		pw, _ = vars["ansible_become_pass"].(string)
	}
	return transport.Become{Enabled: on, User: user, Password: pw}, nil
}

// diffFor is the diff mode of a task: --diff, overridden by the diff
// keyword of its blocks and itself; explicit says a keyword decided.
func (r *runner) diffFor(in inherit, t *Task) (diff, explicit bool) {
	diff = r.opts.Diff
	if in.diff != nil {
		diff, explicit = *in.diff, true
	}
	if t != nil && t.Diff != nil {
		diff, explicit = *t.Diff, true
	}
	return diff, explicit
}

// withResult is the scope with the task's registered name bound to its
// result (changed_when and failed_when read it, as in Ansible).
func (r *runner) withResult(scope *template.Scope, t *Task, res map[string]any) *template.Scope {
	raw := map[string]any{}
	for _, n := range scope.Names() {
		v, _ := scope.Raw(n)
		raw[n] = v
	}
	if t.Register != "" {
		raw[t.Register] = template.Literal{V: res}
	}
	for k, v := range res {
		if _, ok := raw[k]; !ok {
			raw[k] = template.Literal{V: v}
		}
	}
	return r.tpl.Scope(raw)
}

// overrides applies changed_when and failed_when to an attempt's outcome,
// with the result bound to the task's register name.
func (r *runner) overrides(t *Task, scope *template.Scope, out *tasks.Outcome) {
	if len(t.ChangedWhen) == 0 && len(t.FailedWhen) == 0 {
		return
	}
	if out.Status == tasks.StatusUnreachable || out.WouldRun {
		return
	}
	s := r.withResult(scope, t, out.Result)
	if len(t.ChangedWhen) > 0 && !r.changedWhen(t, s, out) {
		return
	}
	if len(t.FailedWhen) > 0 {
		failed := true
		for _, c := range t.FailedWhen {
			ok, err := s.Cond(c)
			if err != nil {
				*out = *outcomeErr(t.keyError("failed_when", c, err))
				return
			}
			failed = failed && ok
		}
		out.Result["failed"] = failed
		out.Result["failed_when_result"] = failed
		switch {
		case failed && out.Status != tasks.StatusFailed:
			out.Status = tasks.StatusFailed
			if _, ok := out.Result["msg"]; !ok {
				out.Result["msg"] = "failed_when condition is true"
			}
			out.Err = errors.New(fmt.Sprint(out.Result["msg"]))
		case !failed && out.Status == tasks.StatusFailed:
			out.Err = nil
			out.Status = tasks.StatusOK
			if ParseBoolAny(out.Result["changed"]) {
				out.Status = tasks.StatusChanged
			}
		}
	}
}

// changedWhen applies changed_when to out; false when evaluating it failed
// (out is then that error). As in Ansible it applies to a failed result
// too, whose "changed" it sets (PLAY RECAP counts it when the failure is
// ignored); a condition that cannot be evaluated on a failed result keeps
// the original failure, which says more than the condition's error.
func (r *runner) changedWhen(t *Task, s *template.Scope, out *tasks.Outcome) bool {
	changed := true
	for _, c := range t.ChangedWhen {
		ok, err := s.Cond(c)
		if err != nil {
			if out.Status == tasks.StatusFailed {
				return true
			}
			*out = *outcomeErr(t.keyError("changed_when", c, err))
			return false
		}
		changed = changed && ok
	}
	out.Result["changed"] = changed
	switch {
	case out.Status == tasks.StatusFailed:
	case changed:
		out.Status = tasks.StatusChanged
	case out.Status == tasks.StatusChanged:
		out.Status = tasks.StatusOK
	}
	return true
}

// ParseBoolAny reads a value of any type (a registered result's changed,
// say) as the `bool` template filter does: boolean.Filter, Ansible's
// to_bool, which is never an error.
func ParseBoolAny(v any) bool { return boolean.Filter(v) }

// addLines adds stdout_lines and stderr_lines next to stdout and stderr, as
// Ansible's command modules return them.
func addLines(res map[string]any) {
	for _, k := range []string{"stdout", "stderr"} {
		if s, ok := res[k].(string); ok {
			if _, has := res[k+"_lines"]; !has {
				lines := []any{}
				for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
					if s != "" {
						lines = append(lines, l)
					}
				}
				res[k+"_lines"] = lines
			}
		}
	}
}

// envConn runs commands with extra environment variables (environment:).
type envConn struct {
	transport.Conn
	env map[string]any
}

var _ transport.Conn = (*envConn)(nil)

// Run exports the environment, quoted, before cmd.
func (c *envConn) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	var b strings.Builder
	for _, k := range sortedKeys(c.env) {
		if !reIdent.MatchString(k) {
			return nil, fmt.Errorf("host %s: environment: %q is not a valid variable name", c.Host(), k)
		}
		fmt.Fprintf(&b, "export %s=%s; ", k, shellescape.Quote(fmt.Sprint(c.env[k])))
	}
	return c.Conn.Run(ctx, b.String()+cmd, opts)
}

func (c *envConn) Become(b transport.Become) transport.Conn {
	return &envConn{Conn: c.Conn.Become(b), env: c.env}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// delegateConn is the connection of a delegate_to target, its name
// rendered with the task's variables: the control machine for localhost
// and 127.0.0.1 (as Ansible's implicit localhost), else the inventory
// host's own connection, dialled with its variables (ansible_host, user,
// keys) while the task keeps the current host's variables, as in Ansible.
// In check mode a delegated host's writes are planned in an overlay of
// the task's own.
func (r *runner) delegateConn(ctx context.Context, scope *template.Scope, delegate string) (transport.Conn, *overlay.Overlay, error) {
	name, err := scope.Render(delegate)
	if err != nil {
		return nil, nil, fmt.Errorf("delegate_to: %w", err)
	}
	name = strings.TrimSpace(name)
	if name == "localhost" || name == "127.0.0.1" {
		// The host's own connection may still be dialling: not read.
		return r.opts.Local, r.localOverlay, nil
	}
	// All hosts, not Hosts(name): --limit does not restrict delegation.
	if !slices.Contains(r.opts.Inventory.Groups()["all"], name) {
		return nil, nil, fmt.Errorf("delegate_to: host %q is not in the inventory", name)
	}
	conn, err := r.opts.Connector.Conn(ctx, name, r.opts.Inventory.HostVars(name))
	if err != nil {
		return nil, nil, fmt.Errorf("delegate_to %s: %w", name, err)
	}
	var ov *overlay.Overlay
	if r.opts.Check {
		ov = overlay.NewOverlay()
	}
	return conn, ov, nil
}
