package playbooks

// import_playbook: another playbook's plays, read when the playbook is
// loaded, in its place among the plays.

import (
	"fmt"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/playbooks/template"
)

// plays reads one entry of a playbook: a play, or an import_playbook's
// (or the old play-level include:'s) plays.
func (p *parser) plays(n *yaml.Node) []*Play {
	n = resolveAlias(n)
	if n.Kind == yaml.MappingNode && (hasKey(n, "import_playbook") || hasKey(n, "ansible.builtin.import_playbook") || hasKey(n, "include") && !hasKey(n, "hosts")) {
		return p.importPlaybook(n)
	}
	if play := p.play(n); play != nil {
		return []*Play{play}
	}
	return nil
}

// importPlaybook reads an import_playbook entry: the file (relative to
// the importing playbook, no template), whose plays get the entry's vars
// and tags; their relative files are found next to that file.
func (p *parser) importPlaybook(n *yaml.Node) []*Play {
	var file string
	var at *yaml.Node
	var vars map[string]any
	var tags []string
	p.pairs(n, "import_playbook", func(k, v *yaml.Node) {
		switch k.Value {
		case "import_playbook", "ansible.builtin.import_playbook", "include":
			file, at = p.str(v, k.Value), v
		case "vars":
			vars = p.mapping(v, "vars")
		case "tags":
			tags = p.strList(v, "tags")
		case "name":
		default:
			p.fail(k, "unknown key %q in import_playbook (name, vars and tags are known)", k.Value)
		}
	})
	if p.err != nil {
		return nil
	}
	if template.IsTemplate(file) {
		p.fail(at, "import_playbook: the file name cannot be a template (Ansible refuses it too)")
		return nil
	}
	path, err := findIn(file, []string{filepath.Dir(p.file)})
	if err != nil || p.load.depth > maxIncludeDepth {
		p.fail(at, "import_playbook: %v", orDepth(err, file))
		return nil
	}
	return p.importedPlays(path, vars, tags)
}

func orDepth(err error, file string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%q imported too deep (does it import itself?)", file)
}

// importedPlays parses the imported playbook's plays.
func (p *parser) importedPlays(path string, vars map[string]any, tags []string) []*Play {
	data, err := readSource(p.ctx, path)
	if err != nil {
		p.err = sourceError(path, "read playbook", err)
		return nil
	}
	root, err := parseYAML(p.ctx, path, data)
	if err != nil {
		p.err = err
		return nil
	}
	if root == nil || root.Kind != yaml.SequenceNode {
		p.err = &ParseError{File: path, Line: 1, Col: 1, Msg: "a playbook is a list of plays"}
		return nil
	}
	q := p.sub(path, nil)
	q.load.pbDir = filepath.Dir(path)
	var out []*Play
	for _, e := range root.Content {
		out = append(out, q.plays(e)...)
		if q.err != nil {
			p.err = q.err
			return nil
		}
	}
	dir, _ := filepath.Abs(q.load.pbDir)
	for _, play := range out {
		play.Vars = mergeMaps(play.Vars, vars)
		play.Tags = append(append([]string(nil), tags...), play.Tags...)
		if filepath.Clean(q.load.pbDir) == filepath.Clean(p.load.pbDir) || play.Dir != "" {
			continue
		}
		play.Dir = dir
		for i, f := range play.VarsFiles {
			if !filepath.IsAbs(f) {
				play.VarsFiles[i] = filepath.Join(dir, f)
			}
		}
	}
	return out
}
