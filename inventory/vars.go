package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/varsdir"
)

// varDir is one base directory whose group_vars/ and host_vars/ apply, with
// the variables read from them per group and per host name.
type varDir struct {
	base   string
	groups map[string]map[string]any
	hosts  map[string]map[string]any
}

// varFileExts are Ansible's YAML_FILENAME_EXTENSIONS, tried after the bare
// name; the first that exists wins.
var varFileExts = []string{"", ".yml", ".yaml", ".json"}

func (inv *Inventory) loadVarFiles(ctx context.Context) error {
	for i := range inv.varDirs {
		if err := inv.loadVarDir(ctx, &inv.varDirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// AddPlaybookDir reads dir's group_vars/ and host_vars/ for the
// inventory's groups and hosts, as ansible-inventory reads its playbook
// folder (--playbook-dir, by default the working directory), so that
// ListJSON and HostJSON print what it prints. HostVars and HostVarLayers
// leave these variables out: a playbook run reads its own folder.
func (inv *Inventory) AddPlaybookDir(ctx context.Context, dir string) error {
	vd := varDir{base: dir}
	if err := inv.loadVarDir(ctx, &vd); err != nil {
		return err
	}
	inv.playDirs = append(inv.playDirs, vd)
	return nil
}

// loadVarDir reads the group_vars/ and host_vars/ files of vd.base for
// the inventory's groups and hosts.
func (inv *Inventory) loadVarDir(ctx context.Context, vd *varDir) error {
	vd.groups = map[string]map[string]any{}
	vd.hosts = map[string]map[string]any{}
	// One directory listing instead of a stat per name and extension:
	// 100,000 hosts without host_vars files must cost nothing.
	gdir, hdir := filepath.Join(vd.base, "group_vars"), filepath.Join(vd.base, "host_vars")
	gnames, hnames := dirNames(gdir), dirNames(hdir)
	for _, g := range inv.groups {
		if !hasEntityFile(gnames, g.Name) {
			continue
		}
		m, err := readEntityVars(ctx, gdir, g.Name)
		if err != nil {
			return err
		}
		if m != nil {
			vd.groups[g.Name] = m
		}
	}
	for _, h := range inv.hosts {
		if !hasEntityFile(hnames, h.Name) {
			continue
		}
		m, err := readEntityVars(ctx, hdir, h.Name)
		if err != nil {
			return err
		}
		if m != nil {
			vd.hosts[h.Name] = m
		}
	}
	return nil
}

// dirNames lists the entry names of dir (nil when it cannot be read).
func dirNames(dir string) map[string]bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make(map[string]bool, len(entries))
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// hasEntityFile reports whether names holds a vars file or folder for name.
func hasEntityFile(names map[string]bool, name string) bool {
	for _, ext := range varFileExts {
		if names[name+ext] {
			return true
		}
	}
	return false
}

// readEntityVars reads dir/NAME, NAME.yml, NAME.yaml or NAME.json (the first
// that exists), or every file of the folder dir/NAME/ in lexical order.
func readEntityVars(ctx context.Context, dir, name string) (map[string]any, error) {
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, nil
	}
	for _, ext := range varFileExts {
		p := filepath.Join(dir, name+ext)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		var files []string
		if st.IsDir() {
			if files, err = varsdir.Files(p); err != nil {
				return nil, err
			}
		} else {
			files = []string{p}
		}
		out := map[string]any{}
		for _, f := range files {
			m, err := readVarsFile(ctx, f)
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

func readVarsFile(ctx context.Context, p string) (map[string]any, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("vars file %s: %w", p, err)
	}
	if data, err = decryptVarsFile(ctx, p, data); err != nil {
		return nil, err
	}
	root, err := readYAML(ctx, p, data)
	if err != nil {
		return nil, err
	}
	if root == nil || isNull(root) {
		return nil, nil
	}
	if resolveAlias(root).Kind != yaml.MappingNode {
		return nil, errorf(nodePos(p, root), "vars file must be a mapping of variables, got %s", kindName(root))
	}
	v, err := yamlValue(p, root, &valueWalk{ctx: ctx, file: p})
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// HostVars returns the host's variables merged with Ansible's precedence,
// lowest first:
//
//  1. all's vars from inventory files
//  2. every other group of the host (ancestors included) from inventory
//     files, by depth, then ansible_group_priority, then name
//  3. group_vars/all of each source, in source order
//  4. group_vars/<group> of each source, groups ordered as in 2
//  5. the host's own vars from inventory files (host:port included)
//  6. host_vars/<host> of each source
//
// and the magic variables inventory_hostname, inventory_hostname_short,
// group_names, inventory_file and inventory_dir. This is Ansible's default
// VARIABLE_PRECEDENCE: note a group_vars/all file beats any group's vars
// written in the inventory file itself. It returns nil for an unknown host.
// The result is a fresh copy the caller may change.
func (inv *Inventory) HostVars(name string) map[string]any {
	l, ok := inv.HostVarLayers(name)
	if !ok {
		return nil
	}
	out := l.All
	for k, v := range l.Groups {
		out[k] = v
	}
	for k, v := range l.Host {
		out[k] = v
	}
	return out
}

// VarLayers are a host's inventory variables (HostVars) cut where
// Ansible slots in the playbook's own group_vars/ and host_vars/ folders:
// playbook group_vars/all goes between All and Groups, playbook
// group_vars/<group> between Groups and Host, playbook host_vars above
// Host. ansible-inventory reads no playbook folder, so HostVars, which
// it mirrors, is the three layers merged.
type VarLayers struct {
	// GroupOrder is the host's groups (ancestors included, all left out)
	// in merge order: depth, then ansible_group_priority, then name.
	GroupOrder []string
	// All is levels 1 to 3 of HostVars: inventory-file vars of all and of
	// the host's groups, then group_vars/all of each source.
	All map[string]any
	// Groups is level 4: group_vars/<group> of each source.
	Groups map[string]any
	// Host is levels 5 and 6 and the magic variables.
	Host map[string]any
}

// HostVarLayers returns the host's inventory variables in layers (fresh
// copies the caller may change); false for an unknown host.
func (inv *Inventory) HostVarLayers(name string) (VarLayers, bool) {
	h, ok := inv.hostByName[name]
	if !ok {
		return VarLayers{}, false
	}
	l := inv.layers(h)
	inv.putMagic(l.Host, h)
	return l, true
}

// mergedVars is HostVars without the magic variables, with the playbook
// folders' variables (AddPlaybookDir) at their levels, as
// ansible-inventory shows them.
func (inv *Inventory) mergedVars(h *Host) map[string]any {
	l := inv.layers(h)
	out := l.All
	put := func(m map[string]any) {
		for k, v := range m {
			out[k] = deepCopy(v)
		}
	}
	for _, vd := range inv.playDirs {
		put(vd.groups["all"])
	}
	put(l.Groups)
	for _, vd := range inv.playDirs {
		for _, g := range l.GroupOrder {
			put(vd.groups[g])
		}
	}
	put(l.Host)
	for _, vd := range inv.playDirs {
		put(vd.hosts[h.Name])
	}
	return out
}

// layers is HostVarLayers without the magic variables.
func (inv *Inventory) layers(h *Host) VarLayers {
	groups := sortGroups(inv.hostGroups(h))
	l := VarLayers{All: map[string]any{}, Groups: map[string]any{}, Host: map[string]any{}}
	put := func(out, m map[string]any) {
		for k, v := range m {
			out[k] = deepCopy(v)
		}
	}
	put(l.All, inv.groupByName["all"].vars)
	for _, g := range groups {
		l.GroupOrder = append(l.GroupOrder, g.Name)
		put(l.All, g.vars)
	}
	for _, vd := range inv.varDirs {
		put(l.All, vd.groups["all"])
	}
	for _, vd := range inv.varDirs {
		for _, g := range groups {
			put(l.Groups, vd.groups[g.Name])
		}
	}
	put(l.Host, h.vars)
	for _, vd := range inv.varDirs {
		put(l.Host, vd.hosts[h.Name])
	}
	return l
}

// putMagic sets the inventory's magic variables of host h in out.
func (inv *Inventory) putMagic(out map[string]any, h *Host) {
	out["inventory_hostname"] = h.Name
	out["inventory_hostname_short"], _, _ = strings.Cut(h.Name, ".")
	names := inv.groupNamesOf(h)
	gn := make([]any, len(names))
	for i, n := range names {
		gn[i] = n
	}
	out["group_names"] = gn
	out["sshplay_inventory_dir"] = inv.Dir()
	if h.file != "" {
		out["inventory_file"] = h.file
		out["inventory_dir"] = filepath.Dir(h.file)
	} else {
		out["inventory_file"] = nil
		out["inventory_dir"] = nil
	}
}

// Dir is the value of the magic variable sshplay_inventory_dir: the
// directory of the first -i source (the source itself when it is a
// directory; the working directory, ".", for an inline host list). Unlike
// inventory_dir, it is the same for every host, so fleet-wide files (the
// TLS job's pki/ CA directory) have one home however many inventories are
// given.
func (inv *Inventory) Dir() string {
	if len(inv.sources) == 0 {
		return "."
	}
	src := inv.sources[0]
	if st, err := os.Stat(src); err == nil {
		if st.IsDir() {
			return filepath.Clean(src)
		}
		return filepath.Dir(src)
	}
	return "."
}
