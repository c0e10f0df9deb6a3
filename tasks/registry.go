package tasks

import (
	"cmp"
	"fmt"
	"slices"
)

// Registry is the set of modules one run knows: the names a playbook task
// or `sshplay exec -m` may use, which module each name means, and how each
// module's short form ("copy: src=a dest=b") is read.
//
// A Registry is a value, built in one place and handed to whatever looks a
// module up (the playbook parser, the engine, the ad-hoc path, the vars
// preflight). cmd/sshplay builds the one a real run uses from the Register
// functions of tasks/core, tasks/postgres and playbooks; nothing registers
// itself, so a test that adds a throwaway module adds it to its own
// registry and no other test sees it.
//
// Fill a Registry before sharing it: Add and AddFreeForm must not run
// concurrently with anything else. Once filled, its lookups are safe for
// concurrent use. The zero value is an empty registry ready to use, and a
// nil *Registry knows no module.
type Registry struct {
	byName map[string]*entry
	// names holds every name, aliases included, sorted.
	names []string
	// entries holds each module once, in the order it was added.
	entries []*entry
}

// entry is one registered module.
type entry struct {
	module Module
	// names: the module's own name first, then its aliases.
	names []string
	free  *FreeForm
}

// FreeForm says that a module's short form takes free text, as command
// does ("command: ls -l chdir=/tmp"): the words that are not one of its
// Options written as key=value are joined into its _raw_params argument.
// Every other module's short form is key=value only.
type FreeForm struct {
	// Options are the keys the short form still reads as key=value.
	Options []string
}

// Takes reports whether key=value in the short form is one of the
// module's options rather than free text. A nil *FreeForm (a module
// without free text) takes every key.
func (f *FreeForm) Takes(key string) bool {
	return f == nil || slices.Contains(f.Options, key)
}

// ModuleInfo describes one registered module, for listings.
type ModuleInfo struct {
	// Name is the module's own name (the first one it was added under).
	Name string
	// Aliases are its other names ("ansible.builtin.copy"), as added.
	Aliases []string
	// FreeForm is nil unless the module's short form takes free text.
	FreeForm *FreeForm
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Add registers m under names: the first is the module's own name, the
// others are its aliases ("ansible.builtin.copy", "ansible.legacy.copy").
//
// A name that is already taken, an empty name or a call without names is
// a programming error, never a user's input: Add panics with a message
// naming the name and both modules, so the test that builds the registry
// fails at once with it.
func (r *Registry) Add(m Module, names ...string) {
	r.add(&entry{module: m, names: slices.Clone(names)})
}

// AddFreeForm is Add for a module whose short form takes free text besides
// the key=value options in free (command, shell, meta, include_vars).
func (r *Registry) AddFreeForm(m Module, free FreeForm, names ...string) {
	free.Options = slices.Clone(free.Options)
	r.add(&entry{module: m, names: slices.Clone(names), free: &free})
}

func (r *Registry) add(e *entry) {
	if e.module == nil {
		panic(fmt.Sprintf("tasks: registry: module %q is nil", e.names))
	}
	if len(e.names) == 0 {
		panic("tasks: registry: a module added without a name")
	}
	for i, n := range e.names {
		if n == "" {
			panic(fmt.Sprintf("tasks: registry: module %q: empty name", e.names[0]))
		}
		if prev, dup := r.byName[n]; dup {
			panic(fmt.Sprintf("tasks: registry: name %q of module %q is already taken by module %q", n, e.names[0], prev.names[0]))
		}
		if slices.Contains(e.names[:i], n) {
			panic(fmt.Sprintf("tasks: registry: module %q lists the name %q twice", e.names[0], n))
		}
	}
	if r.byName == nil {
		r.byName = map[string]*entry{}
	}
	for _, n := range e.names {
		r.byName[n] = e
		i, _ := slices.BinarySearch(r.names, n)
		r.names = slices.Insert(r.names, i, n)
	}
	r.entries = append(r.entries, e)
}

// Lookup returns the module registered under name (its own name or an
// alias).
func (r *Registry) Lookup(name string) (Module, bool) {
	if r == nil {
		return nil, false
	}
	e, ok := r.byName[name]
	if !ok {
		return nil, false
	}
	return e.module, true
}

// FreeForm returns how the short form of the module registered under name
// takes free text, or nil when it takes key=value only (or name is not
// registered).
func (r *Registry) FreeForm(name string) *FreeForm {
	if r == nil {
		return nil
	}
	if e, ok := r.byName[name]; ok {
		return e.free
	}
	return nil
}

// Names lists every registered name, aliases included, sorted: the
// candidates of a "did you mean" hint for a misspelt module.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.names)
}

// Modules lists each registered module once, sorted by its own name.
func (r *Registry) Modules() []ModuleInfo {
	if r == nil {
		return nil
	}
	out := make([]ModuleInfo, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, ModuleInfo{Name: e.names[0], Aliases: slices.Clone(e.names[1:]), FreeForm: e.free})
	}
	slices.SortFunc(out, func(a, b ModuleInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
