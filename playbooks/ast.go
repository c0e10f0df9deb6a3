package playbooks

import (
	"fmt"
	"io/fs"
)

// Pos is where something starts in a playbook file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Playbook is a parsed playbook file.
type Playbook struct {
	// Path is the file as given (or "embedded:NAME.yml").
	Path string
	// Dir is the playbook's directory (playbook_dir); for an embedded
	// playbook, the directory inside FS.
	Dir string
	// FS is set for an embedded playbook: relative files (vars_files,
	// templates/, files/) are read from it instead of the disk.
	FS    fs.FS
	Plays []*Play
	// GroupVars and HostVars are the group_vars/ and host_vars/ next to
	// the playbook, by group or host name: above the inventory's own.
	GroupVars, HostVars map[string]map[string]any `json:"-"`
}

// Play is one play of a playbook.
type Play struct {
	Pos
	Name              string
	Hosts             string
	Vars              map[string]any
	VarsFiles         []string
	VarsPrompt        []VarPrompt
	VarsFilesPos      []Pos `json:"-"` // where each vars_files entry is written
	Become            *bool
	BecomeUser        string
	RemoteUser        string
	GatherFacts       *bool
	Gather            GatherSettings // gather_subset, gather_timeout, fact_path (facts.go)
	Serial            []string       // each "N" or "N%"; empty: all hosts at once
	MaxFailPercentage *float64
	AnyErrorsFatal    bool
	ForceHandlers     bool
	Strategy          string // linear or free
	PreTasks          []*Task
	Tasks             []*Task
	PostTasks         []*Task
	Handlers          []*Task
	Tags              []string
	CheckMode         *bool
	Environment       map[string]any
	// Dir is the folder of the playbook the play was written in, when an
	// import_playbook brought it from another folder than Playbook.Dir:
	// its relative files are found there.
	Dir string `json:"-"`
	// Roles are the roles the play reads when loaded (roles:, their
	// dependencies, import_role): as in Ansible, their defaults and vars
	// are seen by every task of the play.
	Roles []*Role `json:"-"`
}

// Task is a task, a handler (Handler true) or a block (Block non-nil).
type Task struct {
	Pos
	Name string
	// Module is the canonical module name ("command" for
	// ansible.builtin.command); "" for a block.
	Module    string
	ModulePos Pos
	Args      map[string]any
	// ModuleKey is the module as written (ansible.builtin.command);
	// ArgPos is where each argument is written: its key in the module's
	// mapping or in args:, or the module's k=v or free-form string;
	// KeyPos is where each other key of the task has its value (when,
	// loop, changed_when, ...). A template that fails at run time is
	// reported there, under the name the user wrote (TaskTemplateError).
	ModuleKey string         `json:"-"`
	ArgPos    map[string]Pos `json:"-"`
	KeyPos    map[string]Pos `json:"-"`

	When              []string
	Register          string
	Notify            []string
	Become            *bool
	BecomeUser        string
	Loop              any // a list, or a template string rendering to one
	HasLoop           bool
	LoopVar           string
	LoopLabel         string
	LoopMore          LoopOptions // loop_control's index_var, extended, pause
	Async             AsyncOptions
	ChangedWhen       []string
	FailedWhen        []string
	IgnoreErrors      bool
	IgnoreUnreachable bool
	NoLog             bool
	Tags              []string
	DelegateTo        string
	DelegateFacts     bool // facts go to the delegated host (facts.go)
	RunOnce           bool
	CheckMode         *bool
	Diff              *bool
	Vars              map[string]any
	Environment       map[string]any
	Until             []string
	Retries           int
	Delay             int

	Block, Rescue, Always []*Task

	Handler bool
	Listen  []string

	// Role is set on the block that holds a role's tasks (roles:,
	// import_role, a meta dependency): its tasks see its defaults, vars
	// and params, and find their files in its files/ and templates/.
	Role *Role `json:"-"`
	// RoleName is the role a task was written in ("" outside roles): it
	// prefixes the name shown, as Ansible's "TASK [role : name]".
	RoleName string `json:"-"`
	// Include is set on include_tasks and include_role, which read and
	// run their tasks on each host when they are reached.
	Include *Include `json:"-"`
	// parents are, for a role's handler, the blocks whose variables it
	// sees (its role's, an import_role's vars) as the role's tasks do.
	parents []*Task
}

// Role is a role as a play uses it: where it was found, what it defines,
// and the parameters it was given.
type Role struct {
	Name string
	// Path is the role's folder.
	Path     string
	Defaults map[string]any
	Vars     map[string]any
	// Params are the role's parameters (the keys of a roles: entry that
	// are no keywords, include_role's vars): above set_fact, below -e.
	Params map[string]any
	// once is set on a role of roles: or a dependency without
	// allow_duplicates: the role and its parameters, which run once per
	// host in a play, as in Ansible.
	once string
}

// Include is what a dynamic include_tasks or include_role reads on each
// host: a file name or role name, rendered then.
type Include struct {
	// Kind is "include_tasks" or "include_role".
	Kind string
	// File is the tasks file (include_tasks), or the role's name
	// (include_role), possibly a template.
	File string
	// Dirs are the folders a relative file is looked for in, in order.
	Dirs []string
	// From are include_role's tasks_from, vars_from, defaults_from and
	// handlers_from.
	From map[string]string
	// Role is include_role's role when its name is no template: read
	// when the playbook is loaded, so that a missing role stops the run
	// before anything runs and its handlers can be notified.
	Role *Task
	// Apply are the keywords (tags, when, become, ...) the included
	// tasks get, from apply:.
	Apply *Task
	// Public is include_role's public: its role's defaults and vars are
	// then seen by the whole play (from the start, where Ansible shows
	// them once the role has run).
	Public bool
}

// IsBlock reports whether the task is a block.
func (t *Task) IsBlock() bool { return t.Block != nil }

// DisplayName is the name shown in TASK [...]: the name, or the module.
func (t *Task) DisplayName() string {
	name := t.Name
	if name == "" {
		name = t.Module
		if t.Include != nil && t.Include.Kind == "include_role" {
			name += " : " + t.Include.File
		}
	}
	if t.RoleName != "" {
		return t.RoleName + " : " + name
	}
	return name
}
