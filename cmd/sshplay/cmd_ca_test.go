package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
)

// writeTree creates files (path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// playCADir is the CA directory the playbook's modules use for host, given
// the -i arguments (flag names included).
func playCADir(t *testing.T, args []string, host string) string {
	t.Helper()
	var paths []string
	for i := 1; i < len(args); i += 2 {
		paths = append(paths, args[i])
	}
	inv, err := inventory.Load(paths)
	if err != nil {
		t.Fatal(err)
	}
	return pg.CADir(pg.VarLookup(inv.HostVars(host)))
}

// TestCAInitMakesTheCAThePlayUses: `sshplay ca init -i INV` creates the CA
// where `sshplay play -i INV` looks for it, with or without tls_ca_dir,
// and `ca show` finds it there too.
func TestCAInitMakesTheCAThePlayUses(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string // relative to the temp dir
	}{
		{"beside the inventory", map[string]string{"inv/hosts.ini": "[dbservers]\ndb1\ndb2\n"}, "inv/pki"},
		{"beside the first of two inventories", map[string]string{"inv/hosts.ini": "[dbservers]\ndb1\n", "more/hosts.ini": "[dbservers]\ndb2\n"}, "inv/pki"},
		{"tls_ca_dir from group_vars", map[string]string{"inv/hosts.ini": "[dbservers]\ndb1\n", "inv/group_vars/all.yml": "tls_ca_dir: CADIR/ca\n"}, "ca"},
		{"inventory without hosts", map[string]string{"inv/hosts.ini": "[dbservers]\n"}, "inv/pki"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for k, v := range c.files {
				files[k] = strings.ReplaceAll(v, "CADIR", dir)
			}
			writeTree(t, dir, files)
			args := []string{"ca", "init", "-i", filepath.Join(dir, "inv/hosts.ini")}
			if _, ok := files["more/hosts.ini"]; ok {
				args = append(args, "-i", filepath.Join(dir, "more/hosts.ini"))
			}
			code, out, stderr := runCLI(t, args...)
			if code != exitOK {
				t.Fatalf("ca init: exit %d: %s", code, stderr)
			}
			want := filepath.Join(dir, c.want)
			if _, err := os.Stat(filepath.Join(want, "root.crt")); err != nil {
				t.Fatalf("no CA in %s: %v\n%s", want, err, out)
			}
			if !strings.Contains(out, "CA directory "+want+"\n") {
				t.Errorf("ca init output does not name %s:\n%s", want, out)
			}
			if strings.Contains(files["inv/hosts.ini"], "db1") {
				if got := playCADir(t, args[2:], "db1"); filepath.Clean(got) != want {
					t.Errorf("the play's CA directory is %s, ca init made %s", got, want)
				}
			}
			code, out, stderr = runCLI(t, append([]string{"ca", "show"}, args[2:]...)...)
			if code != exitOK || !strings.Contains(out, "CA directory "+want+"\n") {
				t.Errorf("ca show: exit %d, output %q, stderr %q", code, out, stderr)
			}
		})
	}
}

// TestCAInitWithoutInventoryUsesPKIInTheWorkingDirectory: no -i, no --dir:
// ./pki, which is also where a play with an inline host list looks.
func TestCAInitWithoutInventoryUsesPKIInTheWorkingDirectory(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, stderr := runCLI(t, "ca", "init")
	if code != exitOK {
		t.Fatalf("ca init: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "pki", "root.crt")); err != nil {
		t.Fatalf("no CA in ./pki: %v\n%s", err, out)
	}
	inv, err := inventory.Load([]string{"db1,db2,"})
	if err != nil {
		t.Fatal(err)
	}
	if got := pg.CADir(pg.VarLookup(inv.HostVars("db1"))); got != "pki" {
		t.Errorf("a play with a host list uses %s, want pki", got)
	}
}

// TestCADirThatCannotBeDecidedIsBadInput: hosts naming different CA
// directories, or a templated tls_ca_dir, leave the choice to --dir (exit
// 5, nothing created); --dir always wins.
func TestCADirThatCannotBeDecidedIsBadInput(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, c := range []struct{ name, ini, want string }{
		{"hosts disagree", "[a]\ndb1 tls_ca_dir=/srv/ca1\n[b]\ndb2 tls_ca_dir=/srv/ca2\n", "host db2: CA directory /srv/ca2 differs from host db1's /srv/ca1"},
		{"templated", "db1 tls_ca_dir='{{ playbook_dir }}/ca'\n", "host db1: tls_ca_dir holds a template"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"hosts.ini": c.ini})
			inv := filepath.Join(dir, "hosts.ini")
			code, _, stderr := runCLI(t, "ca", "init", "-i", inv)
			if code != exitUsage || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "give --dir") {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, stderr, exitUsage, c.want)
			}
			code, _, stderr = runCLI(t, "ca", "init", "-i", inv, "--dir", filepath.Join(dir, "mine"))
			if code != exitOK {
				t.Errorf("with --dir: exit %d: %s", code, stderr)
			}
		})
	}
}
