// Package varsdir is the one rule for reading a group_vars/ or host_vars/
// entry that is a folder, as Ansible's host_group_vars plugin reads it:
// used for the inventory's folders and for those next to a playbook (and a
// role's vars/ and defaults/ folders), so that both read the same files.
package varsdir

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files lists the vars files of folder dir in the order Ansible reads
// them: names sorted, hidden files and backups (~) left out, sub-folders
// without an extension walked, and files kept when they have no extension
// or .yml, .yaml or .json. A file that cannot be examined is an error.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("vars directory %s: %w", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("vars file %s: %w", p, err)
		}
		ext := filepath.Ext(n)
		switch {
		case st.IsDir() && ext == "":
			sub, err := Files(p)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case !st.IsDir() && (ext == "" || ext == ".yml" || ext == ".yaml" || ext == ".json"):
			out = append(out, p)
		}
	}
	return out, nil
}
