package tasks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func nop(name string) Module {
	return ModuleFunc(func(context.Context, *Env, map[string]any) (*Change, error) {
		return &Change{Summary: name}, nil
	})
}

func TestRegistryFindsModulesByNameAndAlias(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	copyMod := nop("copy")
	r.Add(copyMod, "copy", "ansible.builtin.copy")
	r.AddFreeForm(nop("command"), FreeForm{Options: []string{"chdir", "creates"}}, "command", "ansible.builtin.command")
	for _, n := range []string{"copy", "ansible.builtin.copy"} {
		m, ok := r.Lookup(n)
		if !ok {
			t.Fatalf("Lookup(%q): not found", n)
		}
		if c, _ := m.Plan(context.Background(), nil, nil); c.Summary != "copy" {
			t.Errorf("Lookup(%q) gave module %q", n, c.Summary)
		}
	}
	if _, ok := r.Lookup("cpy"); ok {
		t.Error("Lookup(cpy) found a module")
	}
	if got, want := r.Names(), []string{"ansible.builtin.command", "ansible.builtin.copy", "command", "copy"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	mods := r.Modules()
	if len(mods) != 2 || mods[0].Name != "command" || mods[1].Name != "copy" || !slices.Equal(mods[1].Aliases, []string{"ansible.builtin.copy"}) {
		t.Errorf("Modules() = %+v", mods)
	}
}

func TestRegistryKnowsWhichShortFormsTakeFreeText(t *testing.T) {
	t.Parallel()
	opts := []string{"chdir", "creates"}
	r := NewRegistry()
	r.AddFreeForm(nop("command"), FreeForm{Options: opts}, "command", "ansible.builtin.command")
	r.Add(nop("copy"), "copy")
	opts[0] = "changed" // the registry keeps its own copy
	for _, n := range []string{"command", "ansible.builtin.command"} {
		f := r.FreeForm(n)
		if f == nil || !f.Takes("chdir") || !f.Takes("creates") || f.Takes("dest") {
			t.Errorf("FreeForm(%q) = %+v", n, f)
		}
	}
	if f := r.FreeForm("copy"); f != nil || !f.Takes("dest") {
		t.Errorf("FreeForm(copy) = %+v, want nil (key=value only)", f)
	}
	if f := r.FreeForm("nosuch"); f != nil {
		t.Errorf("FreeForm(nosuch) = %+v", f)
	}
}

func TestRegistryNamesAreACopy(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	r.Add(nop("a"), "a")
	r.Names()[0] = "z"
	if _, ok := r.Lookup("a"); !ok || r.Names()[0] != "a" {
		t.Errorf("Names() shares its slice with the registry")
	}
}

func TestEmptyAndNilRegistriesKnowNoModule(t *testing.T) {
	t.Parallel()
	var zero Registry
	var none *Registry
	for _, r := range []*Registry{&zero, none} {
		if _, ok := r.Lookup("copy"); ok || r.FreeForm("copy") != nil || len(r.Names()) != 0 || len(r.Modules()) != 0 {
			t.Errorf("%v: knows a module", r)
		}
	}
	zero.Add(nop("a"), "a")
	if _, ok := zero.Lookup("a"); !ok {
		t.Error("the zero Registry does not take modules")
	}
}

// TestRegistryRefusesProgrammingErrors pins that a name taken twice (or
// no name, or a nil module) stops the program that builds the registry,
// with a message that names what clashed.
func TestRegistryRefusesProgrammingErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		add  func(r *Registry)
		want string
	}{
		{"name taken by another module", func(r *Registry) { r.Add(nop("x"), "mycopy", "copy") },
			`name "copy" of module "mycopy" is already taken by module "copy"`},
		{"alias taken by another module", func(r *Registry) { r.Add(nop("x"), "copy2", "ansible.builtin.copy") },
			`name "ansible.builtin.copy" of module "copy2" is already taken by module "copy"`},
		{"free-form name taken", func(r *Registry) { r.AddFreeForm(nop("x"), FreeForm{}, "copy") },
			`name "copy" of module "copy" is already taken by module "copy"`},
		{"one name twice", func(r *Registry) { r.Add(nop("x"), "y", "y") }, `module "y" lists the name "y" twice`},
		{"no name", func(r *Registry) { r.Add(nop("x")) }, "a module added without a name"},
		{"empty name", func(r *Registry) { r.Add(nop("x"), "z", "") }, `module "z": empty name`},
		{"nil module", func(r *Registry) { r.Add(nil, "n") }, `module ["n"] is nil`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry()
			r.Add(nop("copy"), "copy", "ansible.builtin.copy")
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want it to say %q", msg, tc.want)
				}
				if _, ok := r.Lookup("copy"); !ok {
					t.Error("the refused Add removed copy")
				}
			}()
			tc.add(r)
		})
	}
}
