package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/ctxtest"
	"github.com/sshplay/sshplay/internal/yamlx/yamlxtest"
)

// TestAliasBombRefusedInEveryInventoryInput: an inventory file's vars, its
// group bodies, group_vars, host_vars and a YAML file without an
// extension are all refused at the alias that crosses yamlx's limit, with
// file, line and column.
func TestAliasBombRefusedInEveryInventoryInput(t *testing.T) {
	t.Parallel()
	plain := "all:\n  hosts:\n    db1:\n"
	inline := "all:\n  vars:\n" + yamlxtest.Laughs(7, "    ") + "  hosts:\n    db1:\n"
	for _, c := range []struct{ name, source, bad string }{
		{"inventory vars", "inv.yml", "inv.yml"},
		{"group bodies", "groups.yml", "groups.yml"},
		{"group_vars", "plain.yml", "group_vars/all.yml"},
		{"host_vars", "plain.yml", "host_vars/db1.yml"},
		{"no extension", "hosts", "hosts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"inv.yml": inline, "groups.yml": groupBomb(), "plain.yml": plain, "hosts": inline}
			if strings.Contains(c.bad, "_vars/") {
				files[c.bad] = yamlxtest.Laughs(7, "")
			}
			dir := writeFiles(t, files)
			_, err := Load([]string{filepath.Join(dir, c.source)})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want an *Error, got %v", err)
			}
			if e.File != filepath.Join(dir, c.bad) || !strings.HasPrefix(e.Msg, "excessive aliasing: alias *") {
				t.Fatalf("got %v", err)
			}
			data, _ := os.ReadFile(e.File)
			lines := strings.Split(string(data), "\n")
			if e.Line < 1 || e.Line > len(lines) || e.Col < 1 || !strings.HasPrefix(lines[e.Line-1][e.Col-1:], "*") {
				t.Errorf("%s:%d:%d is not an alias", c.bad, e.Line, e.Col)
			}
		})
	}
}

// TestCancelStopsLoadingALargeInventory: cancelled at any point of reading
// a large YAML inventory and its group_vars, Load returns the context's
// error at its next look.
func TestCancelStopsLoadingALargeInventory(t *testing.T) {
	t.Parallel()
	var hosts, vars strings.Builder
	hosts.WriteString("all:\n  hosts:\n")
	vars.WriteString("settings:\n")
	for i := 0; i < 5_000; i++ {
		fmt.Fprintf(&hosts, "    db%d: {pg_port: %d, role: replica, tags: [a, b]}\n", i, 5000+i)
		fmt.Fprintf(&vars, "  s%d: {value: %d, unit: kB}\n", i, i)
	}
	dir := writeFiles(t, map[string]string{"inv.yml": hosts.String(), "group_vars/all.yml": vars.String()})
	src := []string{filepath.Join(dir, "inv.yml")}
	full := ctxtest.New(0)
	if _, err := LoadContext(full, src); err != nil {
		t.Fatal(err)
	}
	for _, at := range ctxtest.CutPoints(full.Looks()) {
		ctx := ctxtest.New(at)
		inv, err := LoadContext(ctx, src)
		if inv != nil || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled at look %d of %d: got %v", at, full.Looks(), err)
		}
		if after := ctx.Looks() - at; after > 2 {
			t.Errorf("cancelled at look %d: loading looked %d more times", at, after)
		}
	}
}
