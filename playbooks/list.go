package playbooks

// Listing: --list-hosts and --list-tasks, printed as ansible-playbook
// prints them. Listing reads the parsed playbooks and the inventory only; it
// must never connect to a host or render a template other than a play's
// hosts: (rendered as a run renders it, Play.Pattern).

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// ListOptions say what List prints.
type ListOptions struct {
	// Hosts lists the hosts each play's pattern matches.
	Hosts bool
	// Tasks lists the tasks -t/--tags and --skip-tags select, blocks
	// (block, rescue, always) flattened into their tasks.
	Tasks bool
	// ListTags prints each play's TASK TAGS: the sorted union of the tags
	// of the tasks the tags select (inherited ones included), as
	// ansible-playbook --list-tags does.
	ListTags bool
	// Tags and SkipTags are -t/--tags and --skip-tags, as in Options.
	Tags, SkipTags []string
	// ExtraVars render a templated hosts: (Play.Pattern), as in a run.
	ExtraVars map[string]any
}

// List writes, for every play of every playbook, its hosts and/or tasks as
// `ansible-playbook --list-hosts / --list-tasks` does. A task's tags include
// those of its play and enclosing blocks; a task is listed when TagsSelected
// keeps it. The only error is a host pattern the inventory rejects.
func List(w io.Writer, pbs []*Playbook, inv Inventory, opts ListOptions) error {
	for _, pb := range pbs {
		fmt.Fprintf(w, "\nplaybook: %s\n", pb.Path)
		for i, play := range pb.Plays {
			// ansible-playbook renders hosts: before listing (post_validate),
			// in the play line too.
			pattern, err := play.Pattern(opts.ExtraVars)
			if err != nil {
				return err
			}
			name := play.Name
			if name == "" {
				name = pattern // Ansible names a play without name by its hosts
			}
			fmt.Fprintf(w, "\n  play #%d (%s): %s\tTAGS: [%s]\n", i+1, pattern, name, strings.Join(play.Tags, ","))
			if opts.Hosts {
				hosts, err := listHosts(inv, pattern)
				if err != nil {
					return fmt.Errorf("%s: hosts %q: %w", play.Pos, pattern, err)
				}
				fmt.Fprintf(w, "    pattern: ['%s']\n    hosts (%d):\n", pattern, len(hosts))
				for _, h := range hosts {
					fmt.Fprintf(w, "      %s\n", h)
				}
			}
			if opts.Tasks {
				fmt.Fprintf(w, "    tasks:\n")
			}
			seen := map[string]bool{}
			for _, tag := range play.Tags {
				seen[tag] = true // TASK TAGS include the play's own
			}
			for _, sec := range [][]*Task{play.PreTasks, play.Tasks, play.PostTasks} {
				listTasks(w, sec, play.Tags, opts, "      ", seen)
			}
			if opts.ListTags {
				fmt.Fprintf(w, "      TASK TAGS: [%s]\n", sortedTags(seen))
			}
		}
	}
	return nil
}

// listTasks prints, under --list-tasks, the tasks of ts that opts' tags
// select, with their tags (inherited ones first), walking into blocks; it
// adds the tags of each selected task to seen.
func listTasks(w io.Writer, ts []*Task, tags []string, opts ListOptions, indent string, seen map[string]bool) {
	for _, t := range ts {
		all := append(append([]string(nil), tags...), t.Tags...)
		if t.IsBlock() {
			listTasks(w, t.Block, all, opts, indent, seen)
			listTasks(w, t.Rescue, all, opts, indent, seen)
			listTasks(w, t.Always, all, opts, indent, seen)
			continue
		}
		if !TagsSelected(all, opts.Tags, opts.SkipTags) {
			continue
		}
		own := map[string]bool{}
		for _, tag := range all {
			seen[tag], own[tag] = true, true
		}
		if opts.Tasks {
			fmt.Fprintf(w, "%s%s\tTAGS: [%s]\n", indent, t.DisplayName(), sortedTags(own))
		}
	}
}

// sortedTags is a set of tags as ansible-playbook lists a task's: sorted,
// each once, ", " between.
func sortedTags(set map[string]bool) string {
	tags := make([]string, 0, len(set))
	for t := range set {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return strings.Join(tags, ", ")
}

// listHosts are the hosts pattern selects, as a run selects them: the
// inventory's, or Ansible's implicit localhost when the pattern is just
// "localhost" (or 127.0.0.1) and the inventory has no such host.
func listHosts(inv Inventory, pattern string) ([]string, error) {
	hosts, err := inv.Hosts(pattern)
	name := strings.TrimSpace(pattern)
	if err != nil && (name == "localhost" || name == "127.0.0.1") && !slices.Contains(inv.Groups()["all"], name) {
		return []string{name}, nil
	}
	return hosts, err
}
