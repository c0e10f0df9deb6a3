package playbooks

// local_action: a task whose module runs on the control machine, written
// "local_action: module args" or "local_action: {module: m, arg: v}".
// It is the module plus delegate_to: localhost, as in Ansible.

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// localAction reads local_action into the task's module (as if written
// as the task's module key) and delegates the task to localhost.
func (p *parser) localAction(t *Task, parts *taskParts, k, v *yaml.Node) {
	if parts.modKey != nil {
		p.fail(k, "task has two modules, %q and local_action: give each its own task", parts.modKey.Value)
		return
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: v.Line, Column: v.Column}
	var val *yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		mod, rest, _ := strings.Cut(strings.TrimSpace(v.Value), " ")
		key.Value = mod
		val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(rest), Line: v.Line, Column: v.Column}
	case yaml.MappingNode:
		val = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i].Value == "module" {
				key.Value, key.Line, key.Column = v.Content[i+1].Value, v.Content[i+1].Line, v.Content[i+1].Column
				continue
			}
			val.Content = append(val.Content, v.Content[i], v.Content[i+1])
		}
	default:
		p.fail(v, "local_action must be \"module args\" or a mapping with module:, got %s", kindName(v))
		return
	}
	if key.Value == "" {
		p.fail(v, "local_action: no module given")
		return
	}
	if t.DelegateTo != "" && t.DelegateTo != "localhost" {
		p.fail(k, "local_action runs on localhost: delegate_to %q contradicts it", t.DelegateTo)
		return
	}
	t.DelegateTo = "localhost"
	p.taskModule(parts, key, val)
}
