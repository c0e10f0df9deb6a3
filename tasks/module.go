// Package tasks holds sshplay's modules: the units of work a playbook task or
// an ad-hoc `sshplay exec -m` names (command, copy, lineinfile, pg_conf, ...).
//
// Every module works in two steps, Terraform style. Plan reads the host's
// real state through a read-only connection and returns a Change that says
// what would happen (none/create/update/delete/run, with diffs). Change.Apply
// then does exactly that. --check stops after Plan; a real run plans and
// applies the same Change. No module ever asks "am I in check mode?".
//
// Modules are found by name in a Registry, a value the caller builds from
// the Register functions of the module packages and hands to whatever
// looks a module up; nothing registers itself.
//
// tasks never opens a network connection itself: it goes through the
// transport.Conn it is given. It never imports cobra or viper.
package tasks

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// Action is what a Change does to the host.
type Action int

const (
	// None: the host is already as wanted.
	None Action = iota
	// Create: something that does not exist would be created.
	Create
	// Update: something that exists would be changed.
	Update
	// Delete: something would be removed.
	Delete
	// Run: a command would run whose effect cannot be known in advance.
	Run
)

func (a Action) String() string {
	switch a {
	case None:
		return "none"
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Run:
		return "run"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Changed reports whether the action changes the host.
func (a Action) Changed() bool { return a != None }

// Diff is one before/after pair shown under --diff.
type Diff struct {
	// Path (or another label) of what changes.
	Path string
	// Before and After are the full texts; empty for a missing file.
	Before, After string
	// Unified is the unified diff of Before and After (see UnifiedDiff).
	Unified string
}

// Precondition is a fact a plan relied on. Before applying, the engine
// re-reads it; if the host changed since Plan it stops with a *DriftError.
// There are three kinds, checked by CheckPreconditions:
//   - content (the default): Path's content had SHA256, or Path was missing;
//   - metadata (Meta set): Stat of Path gave Meta (kind, mode, owner, group,
//     link target), or Path was missing (Exists false); see StatFor;
//   - probe (Probe set): Probe, a read-only query of something that is not a
//     file (a service's state), returned Want; Path is then only a label
//     ("service postgresql").
type Precondition struct {
	Path string
	// Exists and SHA256 are what Plan saw (SHA256 of the content).
	Exists bool
	SHA256 string
	// Meta is the metadata Plan saw, for a metadata precondition.
	Meta *FileMeta
	// Probe and Want make a probe precondition.
	Probe func(ctx context.Context, c transport.Conn) (string, error)
	Want  string
}

// FileMeta is what a metadata precondition records of a path.
type FileMeta struct {
	// Kind is file, directory, link or special file.
	Kind       string
	Perm       fs.FileMode // permission and setuid/setgid/sticky bits
	UID, GID   int
	LinkTarget string
}

// Change is the plan of one module on one host.
type Change struct {
	Action Action
	// Summary is a one-line human description ("would write /x (0600)").
	Summary string
	Diffs   []Diff
	// Reads are the preconditions Apply relies on (drift check).
	Reads []Precondition
	// Writes are the files the change leaves behind; in check mode the engine
	// adds them to the host's overlay so later tasks plan against them.
	Writes []overlay.PlannedFile
	// Result holds values known at plan time, registered when the change is
	// not applied (no change, or check mode): e.g. stat results, facts.
	Result map[string]any
	// Apply carries out the change through a writable connection and returns
	// the values to register. nil when Action is None.
	Apply func(ctx context.Context, env *Env) (map[string]any, error)
	// States are planned non-file states (Overlay.SetState key → value)
	// that the engine records in check mode, like Writes.
	States map[string]string
	// Decided marks a Run change whose Plan could tell that the command
	// would run (its creates/removes path says so): check mode reports it
	// as changed ("would run"), as Ansible does. A Run change that is not
	// Decided is reported as skipped ("would run"), since nothing about
	// its effect is known.
	Decided bool
	// RunsInCheck marks a change whose Apply is safe and useful in check mode
	// (read-only probes declared with check_mode: false).
	RunsInCheck bool
}

// Result keys every module may set for the output layers.
const (
	// OutcomeKey holds a few words on what a task did to the host
	// ("reloaded", "key kept", "certificate renewed, 364 days"), shown
	// after the host's status line without -v.
	OutcomeKey = "outcome"
	// RepeatedFactsKey marks a result whose ansible_facts repeat what an
	// earlier task already showed: text output leaves them out below -vvv.
	RepeatedFactsKey = "_sshplay_repeated_facts"
)

// Env is what a module sees of the host and the run.
type Env struct {
	// Host is the inventory name.
	Host string
	// Conn reaches the host: read-only in Plan, writable in Apply. Become
	// for the task has already been applied.
	Conn transport.Conn
	// Local is the control machine (fetch destinations, CA files).
	Local transport.Conn
	// Vars are the host's variables as the task sees them (rendered).
	Vars map[string]any
	// Render renders a template text with the task's variables.
	Render func(text string) (string, error)
	// FindFile resolves a relative src as Ansible does: kind is "files" or
	// "templates"; it searches the playbook's KIND/ folder then its own.
	FindFile func(kind, name string) (string, error)
	// Diff says whether diffs are wanted (modules may skip building them).
	Diff bool
}

// Module is a task type.
type Module interface {
	// Plan decodes args, reads the host's state through env.Conn (which is
	// read-only) and returns the change that Apply would make. Plan must not
	// change the host; it may run read-only probe commands.
	//
	// Errors: return a *Failed when the module has decided that the task
	// fails and there are values to register with the failure (a probe's
	// rc, stdout and stderr; a check that found the host in a bad state):
	// its Msg is the task's msg and its Result is merged into the
	// registered result. Return any other error, wrapped with %w, when Plan
	// could not do its work: bad arguments, a template that does not
	// render, a read that failed; it is registered as {failed: true, msg:
	// err.Error()}. Never turn a transport error into a *Failed: a wrapped
	// *transport.UnreachableError marks the host unreachable, not failed,
	// and only survives if left in the chain.
	Plan(ctx context.Context, env *Env, args map[string]any) (*Change, error)
}

// VarsChecker is implemented by modules whose job reads host variables
// (the flagship's pg_port, tls_cert_days, ...): the engine hands every
// host's variables (templates left out) to CheckVars before any host is
// connected, so a bad value is bad input (exit 5) and nothing runs.
type VarsChecker interface {
	CheckVars(host string, vars map[string]any) error
}

// ArgChecker is implemented by modules that can check their arguments
// before anything runs. The playbook parser calls it for every task, so a
// misspelt argument or an invalid choice is a parse error with file:line:col
// and nothing runs. Values that still hold a template ("{{ ... }}") are only
// known per host at run time: CheckArgs must accept them as they are and
// check only keys and literal values.
type ArgChecker interface {
	CheckArgs(args map[string]any) error
}

// ModuleFunc adapts a plain function to Module.
type ModuleFunc func(ctx context.Context, env *Env, args map[string]any) (*Change, error)

// Plan calls f.
func (f ModuleFunc) Plan(ctx context.Context, env *Env, args map[string]any) (*Change, error) {
	return f(ctx, env, args)
}

// Failed is returned by Apply (or Plan) when the module ran but the outcome
// is a failure that still has values to register (a command's rc/stdout).
type Failed struct {
	Msg    string
	Result map[string]any
}

func (e *Failed) Error() string { return e.Msg }

// DriftError says the host changed between Plan and Apply.
type DriftError struct {
	Host, Path string
	Detail     string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("host %s: %s changed since it was planned (%s); re-run to plan again", e.Host, e.Path, e.Detail)
}
