package main

// completion.go gives `sshplay completion bash|zsh|fish` its dynamic
// answers: shipped playbook names, the groups and hosts of the inventories
// on the command line, the tags of the playbooks given, the values of enum
// flags. It walks the built command tree and attaches them by command path
// and flag name, so that no command file has to know about completion;
// a flag a command does not have is simply never registered.

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/playbooks"
)

// registerCompletions attaches completions to every command of root's
// tree. g is not read: the completions look at the flags of the command
// line being completed (cobra has parsed them into the command), never at
// sshplay.yaml or SSHPLAY_*, whose loading (root's PersistentPreRunE) is
// skipped for cobra's __complete requests, so that a TAB still completes
// when the configuration has an error.
func registerCompletions(root *cobra.Command, _ *globals) {
	if load := root.PersistentPreRunE; load != nil {
		root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
			if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
				return nil
			}
			return load(cmd, args)
		}
	}
	args := map[string]cobra.CompletionFunc{
		"sshplay play":           completePlaybookArgs,
		"sshplay exec":           firstArg(completePattern, cobra.ShellCompDirectiveDefault),
		"sshplay pg status":      firstArg(completePattern, cobra.ShellCompDirectiveNoFileComp),
		"sshplay playbooks show": firstArg(completeShippedNames, cobra.ShellCompDirectiveNoFileComp),
		"sshplay inventory":      firstArg(completeInventoryNames(true, false), cobra.ShellCompDirectiveNoFileComp),
	}
	flags := flagCompletions()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f, ok := args[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = f
		}
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			f, ok := flags[fl.Name]
			if _, done := c.GetFlagCompletionFunc(fl.Name); ok && !done {
				// Cannot fail: the flag exists and has no function yet.
				_ = c.RegisterFlagCompletionFunc(fl.Name, f)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// flagCompletions maps a flag name to its completion, wherever the flag
// is defined. Every --output of sshplay is text or json.
func flagCompletions() map[string]cobra.CompletionFunc {
	dirs := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	files := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	}
	enum := func(vals ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveKeepOrder)
	}
	return map[string]cobra.CompletionFunc{
		"output":            enum(outputText, outputJSON),
		"host-key-checking": enum("strict", "accept-new", "off"),
		"color":             enum("auto", "always", "never"),
		"timings":           enum("auto", "always", "never"),
		"key-type":          enum(pki.KeyTypes...),
		"ca-dir":            dirs,
		"dir":               dirs,
		"inventory":         files,
		"limit":             completePattern,
		"hosts":             completePattern,
		"host":              completeInventoryNames(false, true),
		"tags":              completeTags,
		"skip-tags":         completeTags,
		"module-name":       completeModules,
		"extra-vars":        completeExtraVars,
	}
}

// firstArg completes the first positional argument with f, and any later
// one as rest says (the default: files; NoFileComp: nothing).
func firstArg(f cobra.CompletionFunc, rest cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, rest
		}
		return f(cmd, args, toComplete)
	}
}

// playbookExts are the file extensions a playbook file has.
var playbookExts = []cobra.Completion{"yml", "yaml"}

// completePlaybookArgs completes `play PLAYBOOK...`: the shipped names that
// start with toComplete, with the *.yml/*.yaml files of the directory that
// also do; when no name matches (or toComplete is a path), the shell
// completes *.yml/*.yaml files and directories itself.
func completePlaybookArgs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.ContainsAny(toComplete, `/\`) || strings.HasPrefix(toComplete, ".") {
		return playbookExts, cobra.ShellCompDirectiveFilterFileExt
	}
	out, _ := completeShippedNames(cmd, args, toComplete)
	if len(out) == 0 {
		return playbookExts, cobra.ShellCompDirectiveFilterFileExt
	}
	var files []string
	for _, ext := range playbookExts {
		m, _ := filepath.Glob(globEscape(toComplete) + "*." + ext)
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	return append(out, files...), cobra.ShellCompDirectiveNoFileComp
}

// globEscape quotes the characters filepath.Glob would read as a pattern.
func globEscape(s string) string {
	return strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`).Replace(s)
}

// completeShippedNames offers the shipped playbooks that start with
// toComplete, each with its one-line description.
func completeShippedNames(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, name := range playbooks.EmbeddedNames() {
		if !strings.HasPrefix(name, toComplete) {
			continue
		}
		d, err := playbooks.EmbeddedDoc(name)
		if err != nil {
			out = append(out, name)
			continue
		}
		out = append(out, cobra.CompletionWithDesc(name, d.Description))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completePattern completes a host pattern (exec PATTERN, pg status
// PATTERN, -l): the groups and hosts of the -i inventories on the command
// line. Only the last element of a:b or a,b is completed, keeping a ! or &
// in front of it; @FILE completes the file's path.
func completePattern(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.HasPrefix(toComplete, "@") {
		return atFiles(toComplete)
	}
	cut := strings.LastIndexAny(toComplete, ":,") + 1
	head, last := toComplete[:cut], toComplete[cut:]
	if strings.HasPrefix(last, "!") || strings.HasPrefix(last, "&") {
		head, last = head+last[:1], last[1:]
	}
	return matching(inventoryNames(cmd, true, true), head, last), cobra.ShellCompDirectiveNoFileComp
}

// completeExtraVars completes -e @FILE; k=v pairs and mappings are the
// user's to type.
func completeExtraVars(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.HasPrefix(toComplete, "@") {
		return atFiles(toComplete)
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// atFiles completes "@PATH" (-l @file, -e @file), which the shells' own
// file completion cannot do behind the @: the files and directories
// (with a slash, and no space after it) whose path starts with PATH.
func atFiles(toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	m, _ := filepath.Glob(globEscape(toComplete[1:]) + "*")
	var out []cobra.Completion
	dir := false
	for _, f := range m {
		st, err := os.Stat(f)
		switch {
		case err != nil:
			continue
		case st.IsDir():
			dir = true
			f += string(filepath.Separator)
		}
		out = append(out, "@"+f)
	}
	if dir {
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeInventoryNames completes a group (inventory --graph GROUP) or a
// host name (inventory --host) of the -i inventories.
func completeInventoryNames(groups, hosts bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return matching(inventoryNames(cmd, groups, hosts), "", toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// named is a candidate with the description the shells show beside it.
type named struct{ name, desc string }

// matching returns head+name for each candidate that starts with prefix.
func matching(cands []named, head, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range cands {
		if strings.HasPrefix(c.name, prefix) {
			out = append(out, cobra.CompletionWithDesc(head+c.name, c.desc))
		}
	}
	return out
}

// inventoryNames loads the -i inventories of cmd's command line quietly
// and returns their groups, then their hosts, each sorted; nothing when
// there is no -i or an inventory does not load (a TAB prints no errors).
func inventoryNames(cmd *cobra.Command, groups, hosts bool) []named {
	paths, err := cmd.Flags().GetStringArray("inventory")
	if err != nil || len(paths) == 0 {
		return nil
	}
	inv, err := inventory.LoadContext(commandContext(cmd), paths)
	if err != nil {
		return nil
	}
	var gs, hs []named
	if groups {
		for _, g := range inv.Groups() {
			gs = append(gs, named{g.Name, "group"})
		}
	}
	if hosts {
		for _, h := range inv.Hosts() {
			hs = append(hs, named{h.Name, "host"})
		}
	}
	byName := func(s []named) { sort.Slice(s, func(i, j int) bool { return s[i].name < s[j].name }) }
	byName(gs)
	byName(hs)
	return append(gs, hs...)
}

// commandContext is cmd's context, or Background when it has none.
func commandContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// completeTags completes -t/--tags and --skip-tags (comma lists: the last
// element) with the tags of the playbooks given as arguments, then the
// special tags Ansible selects by (always, never, tagged, untagged, all).
func completeTags(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cut := strings.LastIndex(toComplete, ",") + 1
	head, last := toComplete[:cut], toComplete[cut:]
	seen := map[string]bool{}
	var tags []named
	for _, arg := range args {
		pb, err := playbooks.LoadContext(commandContext(cmd), newRegistry(), arg)
		if err != nil {
			continue
		}
		for _, t := range playbookTags(pb) {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, named{t, "tag"})
			}
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].name < tags[j].name })
	for _, t := range []string{"all", "always", "never", "tagged", "untagged"} {
		if !seen[t] {
			tags = append(tags, named{t, "special tag"})
		}
	}
	return matching(tags, head, last), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// playbookTags lists every tag written in pb: on plays, tasks, blocks and
// handlers.
func playbookTags(pb *playbooks.Playbook) []string {
	var out []string
	var walk func(ts []*playbooks.Task)
	walk = func(ts []*playbooks.Task) {
		for _, t := range ts {
			out = append(out, t.Tags...)
			walk(t.Block)
			walk(t.Rescue)
			walk(t.Always)
		}
	}
	for _, p := range pb.Plays {
		out = append(out, p.Tags...)
		for _, sec := range [][]*playbooks.Task{p.PreTasks, p.Tasks, p.PostTasks, p.Handlers} {
			walk(sec)
		}
	}
	return out
}

// completeModules completes exec -m with the modules sshplay knows.
func completeModules(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, m := range newRegistry().Modules() {
		if strings.HasPrefix(m.Name, toComplete) {
			out = append(out, m.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
