package playbooks

// The group_vars/ and host_vars/ folders next to a playbook, read as
// Ansible's host_group_vars plugin reads them, and where their variables
// sit among a host's others.

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// varsExts are the extensions a group_vars or host_vars file may have,
// tried in this order after the bare name (Ansible's
// YAML_FILENAME_EXTENSIONS).
var varsExts = []string{"", ".yml", ".yaml", ".json"}

// readVarsDir reads a group_vars or host_vars folder: for each group or
// host name, the first of NAME, NAME.yml, NAME.yaml, NAME.json that
// exists, a file or a folder of files (read in sorted order, recursively;
// later files win). A missing folder is no error.
func readVarsDir(ctx context.Context, dir string) (map[string]map[string]any, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		for _, ext := range varsExts[1:] {
			n = strings.TrimSuffix(n, ext)
		}
		names[n] = true
	}
	out := map[string]map[string]any{}
	for n := range names {
		m, err := readVarsName(ctx, filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		if m != nil {
			out[n] = m
		}
	}
	return out, nil
}

// readVarsName reads the first of base, base.yml, base.yaml, base.json.
func readVarsName(ctx context.Context, base string) (map[string]any, error) {
	for _, ext := range varsExts {
		st, err := os.Stat(base + ext)
		if err != nil {
			continue
		}
		var files []string
		if st.IsDir() {
			files = varsDirFiles(base + ext)
		} else {
			files = []string{base + ext}
		}
		out := map[string]any{}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			m, err := readVars(ctx, f, data)
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, nil
	}
	return nil, nil
}

// varsDirFiles lists the vars files of a folder as Ansible does: sorted,
// hidden files and backups (~) left out, sub-folders without an extension
// walked, files with no extension or a vars extension kept.
func varsDirFiles(dir string) []string {
	ents, _ := os.ReadDir(dir)
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		full := filepath.Join(dir, n)
		ext := filepath.Ext(n)
		st, err := os.Stat(full)
		switch {
		case err != nil:
		case st.IsDir() && ext == "":
			out = append(out, varsDirFiles(full)...)
		case !st.IsDir() && (ext == "" || ext == ".yml" || ext == ".yaml" || ext == ".json"):
			out = append(out, full)
		}
	}
	return out
}

// playbookVars are the playbook-adjacent variables of a host: group_vars
// of all, then of its other groups by name, then host_vars of the host.
// Ansible orders groups by depth, then priority, then name; the engine
// knows no depth, so nested groups are ordered by name only.
func (r *runner) playbookVars(pb *Playbook, host string) map[string]any {
	if len(pb.GroupVars) == 0 && len(pb.HostVars) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range pb.GroupVars["all"] {
		out[k] = v
	}
	var gs []string
	for g, hs := range r.groups {
		if g == "all" || pb.GroupVars[g] == nil {
			continue
		}
		for _, h := range hs {
			if h == host {
				gs = append(gs, g)
				break
			}
		}
	}
	sort.Strings(gs)
	for _, g := range gs {
		for k, v := range pb.GroupVars[g] {
			out[k] = v
		}
	}
	for k, v := range pb.HostVars[host] {
		out[k] = v
	}
	return out
}
