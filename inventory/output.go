package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/internal/secret"
)

// internalVars are the magic variables ansible-inventory leaves out of its
// output (INTERNAL_STATIC_VARS).
var internalVars = []string{
	"ansible_config_file", "ansible_diff_mode", "ansible_facts", "ansible_forks",
	"ansible_inventory_sources", "ansible_limit", "ansible_playbook_python",
	"ansible_run_tags", "ansible_skip_tags", "ansible_verbosity", "ansible_version",
	"inventory_dir", "inventory_file", "inventory_hostname", "inventory_hostname_short",
	"groups", "group_names", "omit", "playbook_dir",
}

func publicVars(m map[string]any) map[string]any {
	for _, k := range internalVars {
		delete(m, k)
	}
	return m
}

// Masked is what ListJSON and HostJSON print instead of a secret's value.
const Masked = "********"

// maskSecrets replaces, in place, the value of every variable and nested
// key whose name is secret (secret.IsSecretName) with Masked.
func maskSecrets(m map[string]any) map[string]any {
	for k, v := range m {
		if secret.IsSecretName(k) {
			m[k] = Masked
			continue
		}
		m[k] = maskValue(v)
	}
	return m
}

func maskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return maskSecrets(x)
	case []any:
		for i, e := range x {
			x[i] = maskValue(e)
		}
	}
	return v
}

// outputVars is a host's merged variables as the output shows them.
func (inv *Inventory) outputVars(h *Host, showSecrets bool) map[string]any {
	v := publicVars(inv.mergedVars(h))
	if !showSecrets {
		v = maskSecrets(v)
	}
	return v
}

// writeJSON writes v as ansible-inventory does (Python's json.dumps with an
// indent of 4), floats included: see pyFloats.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return enc.Encode(pyFloats(v))
}

// pyFloats replaces, in place, every float in v with the number as
// Python's json.dumps writes it (1.0, 1e+16, 1e-05), where encoding/json
// would write 1, 10000000000000000 and 0.00001.
func pyFloats(v any) any {
	switch x := v.(type) {
	case float64:
		return json.Number(pyFloat(x))
	case map[string]any:
		for k, e := range x {
			x[k] = pyFloats(e)
		}
	case []any:
		for i, e := range x {
			x[i] = pyFloats(e)
		}
	}
	return v
}

// pyFloat is Python's repr of a finite float: the shortest digits that
// read back as f, in positional notation with at least one decimal when
// the decimal point falls within 16 digits of the first digit, else in
// exponent notation with a signed exponent of two digits or more.
func pyFloat(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if decpt := x + 1; decpt <= -4 || decpt > 16 {
		return fmt.Sprintf("%se%+03d", mant, x)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// ListJSON writes the inventory as `ansible-inventory --list` does: every
// group with its direct "hosts" and "children" in the order they were added
// (empty keys and empty groups left out, all without hosts), and "_meta.hostvars" with each
// host's merged variables (magic variables left out, hosts without
// variables left out). Secret values (secret.IsSecretName) print as Masked unless
// showSecrets is set.
func (inv *Inventory) ListJSON(w io.Writer, showSecrets bool) error {
	out := map[string]any{}
	var format func(g *Group)
	format = func(g *Group) {
		entry := map[string]any{}
		if g.Name != "all" && len(g.hosts) > 0 {
			entry["hosts"] = hostNames(g.hosts)
		}
		if len(g.children) > 0 {
			entry["children"] = groupNames(g.children)
		}
		if len(entry) > 0 {
			out[g.Name] = entry
		}
		for _, c := range g.children {
			format(c)
		}
	}
	format(inv.groupByName["all"])
	hostvars := map[string]any{}
	for _, h := range inv.hosts {
		if v := inv.outputVars(h, showSecrets); len(v) > 0 {
			hostvars[h.Name] = v
		}
	}
	out["_meta"] = map[string]any{"hostvars": hostvars}
	if err := writeJSON(w, out); err != nil {
		return fmt.Errorf("inventory list: %w", err)
	}
	return nil
}

// HostJSON writes one host's merged variables as `ansible-inventory --host`,
// secret values masked unless showSecrets is set.
func (inv *Inventory) HostJSON(w io.Writer, name string, showSecrets bool) error {
	h, ok := inv.hostByName[name]
	if !ok {
		return inv.noMatch(name)
	}
	if err := writeJSON(w, inv.outputVars(h, showSecrets)); err != nil {
		return fmt.Errorf("host %s: %w", name, err)
	}
	return nil
}

// Graph writes the tree under group ("" means all) as
// `ansible-inventory --graph` does: child groups first, then the group's own
// hosts, in the order they were added (as ansible-core 2.14 prints it).
// It prints names only, never a variable, so it has nothing to mask.
func (inv *Inventory) Graph(w io.Writer, group string) error {
	if group == "" {
		group = "all"
	}
	g, ok := inv.groupByName[group]
	if !ok {
		return &Error{Msg: fmt.Sprintf("graph: %q is not a group; groups: %s", group, strings.Join(inv.userGroups(), ", "))}
	}
	var lines []string
	name := func(s string, depth int) string {
		if depth == 0 {
			return s
		}
		return strings.Repeat("  |", depth) + "--" + s
	}
	var walk func(g *Group, depth int)
	walk = func(g *Group, depth int) {
		lines = append(lines, name("@"+g.Name+":", depth))
		for _, k := range g.children {
			walk(k, depth+1)
		}
		if g.Name != "all" {
			for _, h := range hostNames(g.hosts) {
				lines = append(lines, name(h, depth+1))
			}
		}
	}
	walk(g, 0)
	if _, err := io.WriteString(w, strings.Join(lines, "\n")+"\n"); err != nil {
		return fmt.Errorf("inventory graph: %w", err)
	}
	return nil
}
