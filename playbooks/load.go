package playbooks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Embedded holds the playbooks shipped inside the sshplay binary (the *.yml
// files of this folder, and their templates/ and files/ folders if any).
//
//go:embed *.yml
var Embedded embed.FS

// EmbeddedNames lists the shipped playbooks (without .yml).
func EmbeddedNames() []string {
	ents, _ := fs.ReadDir(Embedded, ".")
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yml"))
		}
	}
	sort.Strings(out)
	return out
}

// Load finds and parses a playbook: a file path first; then, when no such
// file exists, NAME or NAME.yml among the embedded playbooks.
func Load(name string) (*Playbook, error) {
	if _, err := os.Stat(name); err == nil {
		return LoadFile(name)
	}
	base := strings.TrimSuffix(name, ".yml")
	if !strings.ContainsAny(base, "/\\") {
		file := base + ".yml"
		if data, err := fs.ReadFile(Embedded, file); err == nil {
			pb, err := Parse("embedded:"+file, data)
			if err != nil {
				return nil, err
			}
			pb.FS = Embedded
			pb.Dir = "."
			if err := pb.checkVarsFiles(); err != nil {
				return nil, err
			}
			return pb, nil
		}
	}
	msg := "playbook not found"
	if names := EmbeddedNames(); len(names) > 0 {
		msg += fmt.Sprintf(" (no such file; shipped playbooks: %s)", strings.Join(names, ", "))
	}
	return nil, &ParseError{File: name, Msg: msg}
}

// decodeVars reads a YAML mapping of variables (vars_files, -e @file).
func decodeVars(name string, data []byte) (map[string]any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, yamlError(name, err)
	}
	if n.Kind == 0 || len(n.Content) == 0 {
		return map[string]any{}, nil
	}
	root := n.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: root.Line, Col: root.Column, Msg: "a vars file must be a mapping of variables, got " + kindName(root)}
	}
	var v any
	if err := root.Decode(&v); err != nil {
		return nil, &ParseError{File: name, Line: root.Line, Col: root.Column, Msg: err.Error()}
	}
	m, _ := normalize(v).(map[string]any)
	return m, nil
}

// ParseExtraVars reads one -e value: k=v pairs, a JSON/YAML mapping, or
// @file (YAML or JSON).
func ParseExtraVars(arg string) (map[string]any, error) {
	arg = strings.TrimSpace(arg)
	switch {
	case strings.HasPrefix(arg, "@"):
		file := arg[1:]
		data, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &ParseError{File: file, Msg: "extra vars file not found"}
			}
			return nil, fmt.Errorf("extra vars %s: %w", file, err)
		}
		return decodeVars(file, data)
	case strings.HasPrefix(arg, "{"):
		return decodeVars("-e", []byte(arg))
	}
	kv, err := ParseKV("", arg)
	if err != nil || len(kv) == 0 {
		return nil, &ParseError{File: "-e", Msg: fmt.Sprintf("want k=v, a JSON/YAML mapping or @file, got %q", arg)}
	}
	return kv, nil
}
