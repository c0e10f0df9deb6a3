package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/playbooks"
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

// moduleCADir is the CA directory the playbook's modules use for host, given
// the -i arguments (flag names included).
func moduleCADir(t *testing.T, args []string, host string) string {
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
				if got := moduleCADir(t, args[2:], "db1"); filepath.Clean(got) != want {
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
			if code != exitUsage || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "give --ca-dir") {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, stderr, exitUsage, c.want)
			}
			code, _, stderr = runCLI(t, "ca", "init", "-i", inv, "--dir", filepath.Join(dir, "mine"))
			if code != exitOK {
				t.Errorf("with --dir: exit %d: %s", code, stderr)
			}
		})
	}
}

// caDirsOfCommands is the CA directory each command uses for the hosts of
// inv (nil: no -i) with --ca-dir flag: `ca` opens, `pg status` trusts,
// and `play` gives the postgres-tls modules (the tls_ca_dir extra variable
// when set, else each host's pg.CADir, which must then agree). A command
// that refuses the input has its error instead.
func caDirsOfCommands(t *testing.T, invPaths []string, flag string) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	g := newGlobals(os.Stdout, os.Stderr)
	g.Inventories = invPaths
	if d, err := caDirectory(ctx, g, flag); err != nil {
		out["ca"] = "error: " + err.Error()
	} else {
		out["ca"] = d
	}
	if len(invPaths) == 0 {
		return out // pg status and play need -i (exit 5)
	}
	inv, err := inventory.LoadContext(ctx, invPaths)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := inv.Match(pgStatusPattern)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := pgStatusTrust(inv, hosts, pgStatusOptions{CADir: flag}); err != nil {
		out["pg status"] = "error: " + err.Error()
	} else {
		out["pg status"] = tr.CADir
	}
	pb, err := playbooks.LoadContext(ctx, newRegistry(), "postgres-tls")
	if err != nil {
		t.Fatal(err)
	}
	defer playbooks.CleanupEmbedded()
	extra := map[string]any{}
	if err := playCADir(inv, []*playbooks.Playbook{pb}, g, flag, extra); err != nil {
		out["play"] = "error: " + err.Error()
		return out
	}
	dirs := map[string]bool{}
	for _, h := range hosts {
		vars := inv.HostVars(h.Name)
		for k, v := range extra {
			vars[k] = v // extra variables beat the inventory
		}
		dirs[pg.CADir(pg.VarLookup(vars))] = true
	}
	for d := range dirs {
		out["play"] += d
	}
	return out
}

// TestOneCADirectoryRuleForEveryCommand pins the rule `ca`, `pg status`
// and `play` share: --ca-dir, else tls_ca_dir when the hosts agree on one
// (refused when they disagree), else pki/ beside the first -i source, else
// ./pki.
func TestOneCADirectoryRuleForEveryCommand(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"plain/hosts.ini":              "[dbservers]\ndb1\ndb2\n",
		"second/hosts.ini":             "[dbservers]\ndb3\n",
		"set/hosts.ini":                "[dbservers]\ndb1\ndb2\n",
		"set/group_vars/dbservers.yml": "tls_ca_dir: /srv/ca\n",
		"split/hosts.ini":              "[dbservers]\ndb1 tls_ca_dir=/srv/ca1\ndb2 tls_ca_dir=/srv/ca2\n",
	})
	inv := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n, "hosts.ini"))
		}
		return out
	}
	all := func(d string) map[string]string { return map[string]string{"ca": d, "pg status": d, "play": d} }
	refused := "error: CA directory: host db2: CA directory /srv/ca2 differs from host db1's /srv/ca1 (one CA needs one tls_ca_dir for every host); narrow the hosts (PATTERN, -l) or give --ca-dir"
	for _, c := range []struct {
		name string
		inv  []string
		flag string
		want map[string]string
	}{
		{"--ca-dir beats the inventory", inv("set"), "/etc/ca", all("/etc/ca")},
		{"--ca-dir beats disagreeing hosts", inv("split"), "/etc/ca", all("/etc/ca")},
		{"tls_ca_dir set for every host", inv("set"), "", all("/srv/ca")},
		{"hosts that disagree are refused", inv("split"), "", map[string]string{"ca": refused, "pg status": "error: pg status: " + refused[len("error: "):], "play": refused}},
		{"pki beside the first -i source", inv("plain", "second"), "", all(filepath.Join(dir, "plain", "pki"))},
		{"no -i: ./pki", nil, "", map[string]string{"ca": "pki"}},
		{"no -i, --ca-dir", nil, "/etc/ca", map[string]string{"ca": "/etc/ca"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := caDirsOfCommands(t, c.inv, c.flag)
			for cmd, want := range c.want {
				if got[cmd] != want {
					t.Errorf("%s: %q, want %q", cmd, got[cmd], want)
				}
			}
		})
	}
}

// TestPlayCADirFlag: play's --ca-dir reaches the modules as tls_ca_dir; a
// -e tls_ca_dir naming another directory, or hosts that disagree without
// --ca-dir, are refused before anything connects (exit 5); a playbook that
// uses no CA module does not care.
func TestPlayCADirFlag(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // hosts that got past the checks are unreachable: exit 4
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"hosts.ini": "[dbservers]\ndb1 tls_ca_dir=/srv/ca1\ndb2 tls_ca_dir=/srv/ca2\n[all:vars]\nansible_host=127.0.0.1\nansible_port=" + port + "\n",
		"site.yml":  "- hosts: dbservers\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
	})
	inv := filepath.Join(dir, "hosts.ini")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"postgres-tls"}, exitUsage, "host db2: CA directory /srv/ca2 differs from host db1's /srv/ca1"},
		{[]string{"postgres-tls", "-e", "pg_hosts=db2"}, exitUnreachable, "db2"},
		{[]string{"postgres-tls", "-l", "db1"}, exitUnreachable, "db1"},
		{[]string{"postgres-tls", "--ca-dir", "/etc/ca"}, exitUnreachable, "db2"},
		{[]string{"postgres-tls", "--ca-dir", "/etc/ca", "-e", "tls_ca_dir=/x"}, exitUsage, "--ca-dir /etc/ca and -e tls_ca_dir=/x disagree"},
		{[]string{filepath.Join(dir, "site.yml")}, exitUnreachable, "db2"},
	} {
		code, out, stderr := runCLI(t, append([]string{"play", "-i", inv}, c.args...)...)
		if code != c.code || !strings.Contains(out+stderr, c.want) {
			t.Errorf("play %v: exit %d, output %q %q; want %d and %q", c.args, code, out, stderr, c.code, c.want)
		}
	}
}

// TestCADirFlagKeepsDirAsDeprecatedAlias: `ca --dir` still works and says
// to use --ca-dir.
func TestCADirFlagKeepsDirAsDeprecatedAlias(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "ca")
	code, out, stderr := runCLI(t, "ca", "init", "--dir", dir)
	if code != exitOK || !strings.Contains(out, "CA directory "+dir+"\n") || !strings.Contains(out+stderr, "Flag --dir has been deprecated, use --ca-dir") {
		t.Errorf("ca init --dir: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "ca", "show", "--ca-dir", dir)
	if code != exitOK || !strings.Contains(out, "CA directory "+dir+"\n") || strings.Contains(out+stderr, "deprecated") {
		t.Errorf("ca show --ca-dir: exit %d\n%s%s", code, out, stderr)
	}
}
