package inventory

import (
	"context"

	"gopkg.in/yaml.v3"
)

// This file follows ansible/plugins/inventory/yaml.py, but rejects what
// Ansible only warns about (unknown keys, groups that are not mappings).

// parseYAMLInventory reads one YAML (or JSON) inventory file into inv.
func (inv *Inventory) parseYAMLInventory(ctx context.Context, file string, data []byte) error {
	root, err := readYAML(ctx, file, data)
	if err != nil {
		return err
	}
	if root == nil || isNull(root) {
		return nil
	}
	root = resolveAlias(root)
	if root.Kind != yaml.MappingNode {
		return errorf(nodePos(file, root), "expected a mapping of groups at the top, got %s", kindName(root))
	}
	w := &valueWalk{ctx: ctx, file: file}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if _, err := inv.yamlGroup(file, root.Content[i], root.Content[i+1], 0, w); err != nil {
			return err
		}
	}
	return nil
}

// A group body reached through an alias is walked again each time; what
// that costs is bounded by the alias rule readYAML applied to the file.
func (inv *Inventory) yamlGroup(file string, keyNode, val *yaml.Node, depth int, w *valueWalk) (*Group, error) {
	pos := nodePos(file, keyNode)
	if depth > 100 {
		return nil, errorf(pos, "groups nested too deeply")
	}
	if err := w.step(); err != nil {
		return nil, err
	}
	name, err := groupName(file, keyNode)
	if err != nil {
		return nil, err
	}
	val = resolveAlias(val)
	if !isNull(val) && val.Kind != yaml.MappingNode {
		return nil, errorf(nodePos(file, val), "group %q: want a mapping with hosts, vars or children, got %s", name, kindName(val))
	}
	g := inv.addGroup(name, pos)
	if isNull(val) {
		return g, nil
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], resolveAlias(val.Content[i+1])
		section := k.Value
		switch section {
		case "hosts", "vars", "children":
		default:
			return nil, errorf(nodePos(file, k), "group %q: unknown key %q (want hosts, vars or children)", name, section)
		}
		if isNull(v) {
			continue
		}
		entries, err := sectionEntries(file, name, section, v)
		if err != nil {
			return nil, err
		}
		for j := 0; j+1 < len(entries); j += 2 {
			ek, ev := entries[j], entries[j+1]
			switch section {
			case "vars":
				key, err := mapKey(file, ek)
				if err != nil {
					return nil, err
				}
				x, err := yamlValue(file, ev, w)
				if err != nil {
					return nil, err
				}
				if err := inv.setGroupVar(g, key, x, nodePos(file, ek)); err != nil {
					return nil, err
				}
			case "children":
				child, err := inv.yamlGroup(file, ek, ev, depth+1, w)
				if err != nil {
					return nil, err
				}
				if err := inv.addChild(g, child, nodePos(file, ek)); err != nil {
					return nil, err
				}
			case "hosts":
				if err := inv.yamlHost(file, g, ek, ev, w); err != nil {
					return nil, err
				}
			}
		}
	}
	return g, nil
}

// groupName reads a group's key. As in Ansible, whose add_group refuses
// them, it must be a string and not empty: a null, a number or a boolean
// key (2024:, yes:) is an error, as is "".
func groupName(file string, k *yaml.Node) (string, error) {
	k = resolveAlias(k)
	if k.Kind != yaml.ScalarNode {
		return "", errorf(nodePos(file, k), "group name must be a string, got %s", kindName(k))
	}
	v, err := scalarValue(file, k)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return "", errorf(nodePos(file, k), "group name must not be empty")
		}
		return x, nil
	case nil:
		return "", errorf(nodePos(file, k), "group name must be a string, got null")
	case bool:
		return "", errorf(nodePos(file, k), "group name must be a string, got the boolean %q (quote it: %q)", k.Value, k.Value)
	}
	return "", errorf(nodePos(file, k), "group name must be a string, got the number %q (quote it: %q)", k.Value, k.Value)
}

// sectionEntries returns the key/value nodes of a hosts/vars/children
// section. A lone string stands for {string: null}, as in Ansible.
func sectionEntries(file, group, section string, v *yaml.Node) ([]*yaml.Node, error) {
	switch {
	case v.Kind == yaml.MappingNode:
		return v.Content, nil
	case v.Kind == yaml.ScalarNode && section != "vars":
		return []*yaml.Node{v, {Kind: yaml.ScalarNode, Tag: "!!null", Line: v.Line, Column: v.Column}}, nil
	}
	return nil, errorf(nodePos(file, v), "group %q: %s must be a mapping, got %s", group, section, kindName(v))
}

func (inv *Inventory) yamlHost(file string, g *Group, k, v *yaml.Node, w *valueWalk) error {
	pos := nodePos(file, k)
	if err := w.step(); err != nil {
		return err
	}
	orig := v
	k = resolveAlias(k)
	if k.Kind != yaml.ScalarNode || k.Value == "" {
		return errorf(pos, "group %q: host name must be a non-empty scalar, got %s", g.Name, kindName(k))
	}
	v = resolveAlias(v)
	if !isNull(v) && v.Kind != yaml.MappingNode {
		return errorf(nodePos(file, v), "host %q in group %q: want a mapping of host vars or nothing, got %s", k.Value, g.Name, kindName(v))
	}
	names, port, err := expandHostPattern(k.Value)
	if err != nil {
		return errorf(pos, "%v", err)
	}
	var vars map[string]any
	if !isNull(v) {
		x, err := yamlValue(file, orig, w)
		if err != nil {
			return err
		}
		vars = x.(map[string]any)
	}
	for _, n := range names {
		h := inv.addHost(n, pos, g, port)
		for key, val := range vars {
			h.vars[key] = deepCopy(val)
		}
	}
	return nil
}
