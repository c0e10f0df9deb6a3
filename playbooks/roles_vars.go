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

	"github.com/sshplay/sshplay/internal/varsdir"
	"github.com/sshplay/sshplay/inventory"
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

// varsDirFiles lists a vars folder's files (varsdir.Files); a folder that
// cannot be read gives none.
func varsDirFiles(dir string) []string {
	files, _ := varsdir.Files(dir)
	return files
}

// LayeredInventory is an Inventory that also gives a host's variables in
// the layers where Ansible slots in the playbook's group_vars/ and
// host_vars/ (inventory.Inventory does). With it, inventoryVars follows
// Ansible's order exactly; without it, the playbook's folders sit above
// all of HostVars.
type LayeredInventory interface {
	HostVarLayers(host string) (inventory.VarLayers, bool)
}

// inventoryVars are the host's inventory variables and the playbook's
// group_vars and host_vars, merged in Ansible's default precedence:
// inventory-file group vars < inventory group_vars/all < playbook
// group_vars/all < inventory group_vars/* < playbook group_vars/* <
// inventory-file host vars < inventory host_vars < playbook host_vars.
// The result is a fresh map.
func (r *runner) inventoryVars(pb *Playbook, host string) map[string]any {
	var l inventory.VarLayers
	ok := false
	if li, is := r.opts.Inventory.(LayeredInventory); is {
		l, ok = li.HostVarLayers(host)
	}
	if !ok {
		// An inventory without layers (a test's, or a host it does not
		// know): its variables sit below all of the playbook's.
		l = inventory.VarLayers{All: r.opts.Inventory.HostVars(host)}
	}
	out := map[string]any{}
	mergeInto(out, l.All)
	mergeInto(out, pb.GroupVars["all"])
	mergeInto(out, l.Groups)
	for _, g := range r.playbookGroups(pb, host, l.GroupOrder) {
		mergeInto(out, pb.GroupVars[g])
	}
	mergeInto(out, l.Host)
	mergeInto(out, pb.HostVars[host])
	return out
}

// playbookGroups are the groups of host that have playbook group_vars, in
// merge order: first as the inventory orders them (depth, then
// ansible_group_priority, then name), then, for an inventory that gives
// no order, the host's other groups by name.
func (r *runner) playbookGroups(pb *Playbook, host string, order []string) []string {
	if len(pb.GroupVars) == 0 {
		return nil
	}
	seen := map[string]bool{"all": true}
	var out []string
	for _, g := range order {
		if !seen[g] && pb.GroupVars[g] != nil {
			out = append(out, g)
		}
		seen[g] = true
	}
	var rest []string
	for g, hs := range r.groups {
		if seen[g] || pb.GroupVars[g] == nil {
			continue
		}
		for _, h := range hs {
			if h == host {
				rest = append(rest, g)
				break
			}
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
