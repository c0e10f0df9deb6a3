package playbooks

import (
	"errors"
	"testing"

	"github.com/sshplay/sshplay/playbooks/template"
)

func TestTaskTemplateErrorNamesTheFreeFormByItsModule(t *testing.T) {
	t.Parallel()
	undef := &template.UndefinedError{Name: "nosuch"}
	task := &Task{Module: "command", ModuleKey: "ansible.builtin.command",
		ModulePos: Pos{File: "site.yml", Line: 4, Col: 7},
		ArgPos:    map[string]Pos{freeFormArg: {File: "site.yml", Line: 4, Col: 32}}}
	err := task.argError(freeFormArg, undef)
	if got, want := err.Error(), `site.yml:4:32: ansible.builtin.command: undefined variable "nosuch"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var ue *template.UndefinedError
	if !errors.As(err, &ue) || ue.Name != "nosuch" {
		t.Errorf("the undefined variable is not kept: %v", err)
	}
	// An ad-hoc task (sshplay exec) has no file to point into.
	adhoc := &Task{Pos: Pos{File: "adhoc"}, Module: "command"}
	if got, want := adhoc.argError(freeFormArg, undef).Error(), `command: undefined variable "nosuch"`; got != want {
		t.Errorf("ad hoc: got %s, want %s", got, want)
	}
}
