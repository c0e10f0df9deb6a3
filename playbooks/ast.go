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
}

// Play is one play of a playbook.
type Play struct {
	Pos
	Name              string
	Hosts             string
	Vars              map[string]any
	VarsFiles         []string
	VarsFilesPos      []Pos `json:"-"` // where each vars_files entry is written
	Become            *bool
	BecomeUser        string
	RemoteUser        string
	GatherFacts       *bool
	Serial            []string // each "N" or "N%"; empty: all hosts at once
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
	ChangedWhen       []string
	FailedWhen        []string
	IgnoreErrors      bool
	IgnoreUnreachable bool
	NoLog             bool
	Tags              []string
	DelegateTo        string
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
}

// IsBlock reports whether the task is a block.
func (t *Task) IsBlock() bool { return t.Block != nil }

// DisplayName is the name shown in TASK [...]: the name, or the module.
func (t *Task) DisplayName() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Module
}
