package inventory

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Host is one inventory host. Its fields are read-only once Load returns.
type Host struct {
	Name string
	Pos  Pos // where the host was first defined

	vars   map[string]any // inventory-file host vars, in the order set
	groups []*Group       // direct groups, in the order joined
	file   string         // absolute inventory_file; "" for a host list
}

// Vars returns a copy of the variables set on the host in inventory files
// (not group vars, not host_vars/ files; see Inventory.HostVars).
func (h *Host) Vars() map[string]any { return deepCopyMap(h.vars) }

// Group is one inventory group. Its fields are read-only once Load returns.
type Group struct {
	Name string
	Pos  Pos // where the group was first defined; zero for all and ungrouped

	vars     map[string]any
	priority int
	depth    int
	hosts    []*Host
	hostSet  map[*Host]bool // the same hosts, for joinGroup in O(1)
	children []*Group
	parents  []*Group
}

// Hosts returns the names of the hosts placed directly in the group.
func (g *Group) Hosts() []string { return hostNames(g.hosts) }

// Children returns the names of the direct child groups, in the order added.
func (g *Group) Children() []string { return groupNames(g.children) }

// Parents returns the names of the direct parent groups.
func (g *Group) Parents() []string { return groupNames(g.parents) }

// Vars returns a copy of the group's variables from inventory files.
func (g *Group) Vars() map[string]any { return deepCopyMap(g.vars) }

// Priority is ansible_group_priority (default 1).
func (g *Group) Priority() int { return g.priority }

// Depth is the longest parent chain up to all (all is 0).
func (g *Group) Depth() int { return g.depth }

// Inventory is a loaded inventory. It is immutable and safe for concurrent use.
type Inventory struct {
	hosts       []*Host
	hostByName  map[string]*Host
	groups      []*Group
	groupByName map[string]*Group
	sources     []string
	varDirs     []varDir
	// playDirs are the playbook folders ansible-inventory's output reads
	// (AddPlaybookDir); HostVars and HostVarLayers leave them out.
	playDirs []varDir
	absFiles map[string]string // absPath's cache, used while loading
}

func newInventory() *Inventory {
	inv := &Inventory{hostByName: map[string]*Host{}, groupByName: map[string]*Group{}}
	all := inv.addGroup("all", Pos{})
	ung := inv.addGroup("ungrouped", Pos{})
	// Cannot loop: both are new.
	_ = inv.addChild(all, ung, Pos{})
	return inv
}

// Hosts returns every host in order of first appearance.
func (inv *Inventory) Hosts() []*Host { return append([]*Host(nil), inv.hosts...) }

// Host looks a host up by name.
func (inv *Inventory) Host(name string) (*Host, bool) {
	h, ok := inv.hostByName[name]
	return h, ok
}

// Groups returns every group, all and ungrouped first, then in order of
// first appearance.
func (inv *Inventory) Groups() []*Group { return append([]*Group(nil), inv.groups...) }

// Group looks a group up by name.
func (inv *Inventory) Group(name string) (*Group, bool) {
	g, ok := inv.groupByName[name]
	return g, ok
}

// Sources returns the inventory sources Load was given.
func (inv *Inventory) Sources() []string { return append([]string(nil), inv.sources...) }

// GroupHosts maps every group name (all and ungrouped included) to the
// names of its hosts, children's hosts included: Ansible's `groups` var.
func (inv *Inventory) GroupHosts() map[string][]string {
	out := make(map[string][]string, len(inv.groups))
	for _, g := range inv.groups {
		out[g.Name] = hostNames(inv.groupHosts(g))
	}
	return out
}

// groupHosts lists a group's hosts as Ansible's Group.get_hosts walks them:
// its own in the order added, then its descendants' breadth first, children
// in the order added, without duplicates. For all this differs from Hosts()
// (first appearance): hosts of deeper groups come after shallower ones.
func (inv *Inventory) groupHosts(g *Group) []*Host {
	var out []*Host
	seenH := map[*Host]bool{}
	seenG := map[*Group]bool{g: true}
	queue := []*Group{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, h := range cur.hosts {
			if !seenH[h] {
				seenH[h] = true
				out = append(out, h)
			}
		}
		for _, c := range cur.children {
			if !seenG[c] {
				seenG[c] = true
				queue = append(queue, c)
			}
		}
	}
	return out
}

// hostGroups returns the host's groups and all their ancestors, without all.
func (inv *Inventory) hostGroups(h *Host) []*Group {
	seen := map[*Group]bool{}
	var out []*Group
	var walk func(g *Group)
	walk = func(g *Group) {
		if seen[g] {
			return
		}
		seen[g] = true
		if g.Name != "all" {
			out = append(out, g)
		}
		for _, p := range g.parents {
			walk(p)
		}
	}
	for _, g := range h.groups {
		walk(g)
	}
	return out
}

// GroupNames returns Ansible's group_names for the host: its groups and
// their ancestors, sorted, without all and ungrouped.
func (inv *Inventory) groupNamesOf(h *Host) []string {
	var out []string
	for _, g := range inv.hostGroups(h) {
		if g.Name != "ungrouped" {
			out = append(out, g.Name)
		}
	}
	sort.Strings(out)
	return out
}

// sortGroups orders groups as Ansible merges their vars: by depth, then
// ansible_group_priority, then name.
func sortGroups(gs []*Group) []*Group {
	out := append([]*Group(nil), gs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		return a.Name < b.Name
	})
	return out
}

// userGroups lists group names without all and ungrouped, sorted.
func (inv *Inventory) userGroups() []string {
	var out []string
	for _, g := range inv.groups {
		if g.Name != "all" && g.Name != "ungrouped" {
			out = append(out, g.Name)
		}
	}
	sort.Strings(out)
	return out
}

// --- building ---

func (inv *Inventory) addGroup(name string, pos Pos) *Group {
	if g, ok := inv.groupByName[name]; ok {
		return g
	}
	g := &Group{Name: name, Pos: pos, vars: map[string]any{}, priority: 1, hostSet: map[*Host]bool{}}
	inv.groups = append(inv.groups, g)
	inv.groupByName[name] = g
	return g
}

// addHost adds (or finds) a host and puts it in group g (nil: none). A
// port from host:port becomes the host var ansible_port.
func (inv *Inventory) addHost(name string, pos Pos, g *Group, port int) *Host {
	h, ok := inv.hostByName[name]
	if !ok {
		h = &Host{Name: name, Pos: pos, vars: map[string]any{}}
		if pos.Line > 0 {
			h.file = inv.absPath(pos.File)
		}
		inv.hosts = append(inv.hosts, h)
		inv.hostByName[name] = h
	}
	if port > 0 {
		h.vars["ansible_port"] = port
	}
	if g != nil {
		inv.joinGroup(h, g)
	}
	return h
}

// absPath is filepath.Abs of an inventory file, computed once per file
// (Abs asks the OS for the working directory each time).
func (inv *Inventory) absPath(file string) string {
	if abs, ok := inv.absFiles[file]; ok {
		return abs
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	if inv.absFiles == nil {
		inv.absFiles = map[string]string{}
	}
	inv.absFiles[file] = abs
	return abs
}

// joinGroup puts h in g unless it is there already. The group's host set
// keeps this O(1): a range of 100,000 hosts must not cost 100,000² checks.
func (inv *Inventory) joinGroup(h *Host, g *Group) {
	if g.hostSet[h] {
		return
	}
	g.hostSet[h] = true
	g.hosts = append(g.hosts, h)
	h.groups = append(h.groups, g)
}

func (inv *Inventory) leaveGroup(h *Host, g *Group) {
	if !g.hostSet[h] {
		return
	}
	delete(g.hostSet, h)
	g.hosts = removeHost(g.hosts, h)
	var gs []*Group
	for _, x := range h.groups {
		if x != g {
			gs = append(gs, x)
		}
	}
	h.groups = gs
}

func removeHost(hs []*Host, h *Host) []*Host {
	var out []*Host
	for _, x := range hs {
		if x != h {
			out = append(out, x)
		}
	}
	return out
}

// addChild makes child a child of parent, refusing loops.
func (inv *Inventory) addChild(parent, child *Group, pos Pos) error {
	if parent == child || isAncestor(child, parent) {
		return errorf(pos, "adding group %q as a child of %q creates a loop", child.Name, parent.Name)
	}
	for _, c := range parent.children {
		if c == child {
			return nil
		}
	}
	parent.children = append(parent.children, child)
	child.parents = append(child.parents, parent)
	return nil
}

// isAncestor reports whether a is g or one of g's ancestors.
func isAncestor(a, g *Group) bool {
	if a == g {
		return true
	}
	for _, p := range g.parents {
		if isAncestor(a, p) {
			return true
		}
	}
	return false
}

// setGroupVar sets a group variable from an inventory file.
// ansible_group_priority sets the merge priority instead, as in Ansible.
func (inv *Inventory) setGroupVar(g *Group, key string, val any, pos Pos) error {
	if key == "ansible_group_priority" {
		n, ok := toInt(val)
		if !ok {
			return errorf(pos, "group %q: ansible_group_priority must be an integer, got %v", g.Name, val)
		}
		g.priority = n
		return nil
	}
	g.vars[key] = val
	return nil
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

// reconcile applies Ansible's rules once every source is read: groups
// without a parent become children of all; hosts in no group but all go to
// ungrouped and hosts in another group leave it; depths are computed.
func (inv *Inventory) reconcile() {
	all, ung := inv.groupByName["all"], inv.groupByName["ungrouped"]
	for _, g := range inv.groups {
		if g != all && len(g.parents) == 0 {
			// Cannot loop: g has no parent and is not all.
			_ = inv.addChild(all, g, Pos{})
		}
	}
	for _, h := range inv.hosts {
		other := false
		for _, g := range h.groups {
			if g != all && g != ung {
				other = true
			}
		}
		if other {
			inv.leaveGroup(h, ung)
		} else {
			inv.joinGroup(h, ung)
		}
	}
	memo := map[*Group]int{}
	var depth func(g *Group) int
	depth = func(g *Group) int {
		if d, ok := memo[g]; ok {
			return d
		}
		d := 0
		for _, p := range g.parents {
			if pd := depth(p) + 1; pd > d {
				d = pd
			}
		}
		memo[g] = d
		return d
	}
	for _, g := range inv.groups {
		g.depth = depth(g)
	}
}

func hostNames(hs []*Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

func groupNames(gs []*Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func (h *Host) String() string  { return fmt.Sprintf("%s (%s)", h.Name, h.Pos) }
func (g *Group) String() string { return g.Name }
