package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/transport"
)

// ansibleDumpNames maps the names `ansible-config dump` prints to the
// ansible.cfg keys sshplay reads.
var ansibleDumpNames = map[string]string{
	"DEFAULT_HOST_LIST": "inventory", "DEFAULT_FORKS": "forks", "DEFAULT_REMOTE_USER": "remote_user",
	"DEFAULT_PRIVATE_KEY_FILE": "private_key_file", "HOST_KEY_CHECKING": "host_key_checking",
	"DEFAULT_ROLES_PATH": "roles_path", "DEFAULT_VAULT_PASSWORD_FILE": "vault_password_file",
	"DEFAULT_TIMEOUT": "timeout", "DEFAULT_LOG_PATH": "log_path", "DEFAULT_ASK_PASS": "ask_pass",
	"DEFAULT_BECOME": "become", "DEFAULT_BECOME_USER": "become_user", "DEFAULT_BECOME_METHOD": "become_method",
	"DEFAULT_BECOME_ASK_PASS": "become_ask_pass", "DEFAULT_GATHERING": "gathering",
}

// hermeticAnsible points every place Ansible looks for its configuration
// into dir, so that the machine's own files never leak into a test.
func hermeticAnsible(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	for _, s := range ansibleSettings {
		t.Setenv(s.env, "")
		os.Unsetenv(s.env)
	}
	t.Setenv("ANSIBLE_CONFIG", "")
	os.Unsetenv("ANSIBLE_CONFIG")
}

// TestAnsibleCfgReadAsAnsibleDoes: every setting of the fixture
// (testdata/ansiblecfg/ansible.cfg: key: value, upper-case keys, quotes,
// inline and line comments, a continuation line, relative and ~ paths, a
// %(x)s that is not interpolated) reads as `ansible-config dump
// --only-changed` (ansible-core 2.14) printed it in dump.golden.
func TestAnsibleCfgReadAsAnsibleDoes(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "ansiblecfg"))
	if err != nil {
		t.Fatal(err)
	}
	hermeticAnsible(t, t.TempDir())
	t.Setenv("HOME", "/home/nobody")
	t.Setenv("ANSIBLE_CONFIG", filepath.Join(dir, "ansible.cfg"))
	ac, err := readAnsibleConfig(os.Getenv, "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	dump, err := os.ReadFile(filepath.Join(dir, "dump.golden"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(\w+)\((.*)\) = (.*)$`)
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(strings.ReplaceAll(string(dump), "$CFGDIR", dir)), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("dump line %q", l)
		}
		if m[1] == "CONFIG_FILE" {
			if ac.file != m[3] {
				t.Errorf("config file %q, Ansible read %q", ac.file, m[3])
			}
			continue
		}
		key, ok := ansibleDumpNames[m[1]]
		if !ok {
			t.Errorf("Ansible sets %s, which sshplay does not read", m[1])
			continue
		}
		seen++
		if got, want := strings.Join(ac.values[key].vals, "|"), pythonValue(m[3]); got != want {
			t.Errorf("%s: got %q, Ansible %q", key, got, want)
		}
	}
	if seen != len(ansibleSettings) {
		t.Errorf("the dump covers %d settings, sshplay reads %d", seen, len(ansibleSettings))
	}
	if !strings.Contains(strings.Join(ac.notes, "\n"), "[ssh_connection] ssh_args is ignored") {
		t.Errorf("notes do not name ssh_args: %q", ac.notes)
	}
}

// pythonValue is a value as `ansible-config dump` prints it, as sshplay
// holds it: a list's items joined by "|", booleans lower-case.
func pythonValue(s string) string {
	switch s {
	case "True", "False":
		return strings.ToLower(s)
	}
	if strings.HasPrefix(s, "[") {
		items := strings.Split(strings.Trim(s, "[]"), ", ")
		for i, it := range items {
			items[i] = strings.Trim(it, "'")
		}
		return strings.Join(items, "|")
	}
	return s
}

// TestINIParsedAsConfigparser pins the configparser rules an ansible.cfg
// relies on, and its errors (each naming file:line).
func TestINIParsedAsConfigparser(t *testing.T) {
	for _, c := range []struct {
		name, text, section, key, want, err string
	}{
		{"equals", "[d]\nk = v\n", "d", "k", "v", ""},
		{"colon", "[d]\nk: v\n", "d", "k", "v", ""},
		{"first delimiter splits", "[d]\nk = a=b:c\n", "d", "k", "a=b:c", ""},
		{"keys fold case", "[d]\nKEY = v\n", "d", "key", "v", ""},
		{"inline comment after space", "[d]\nk = v ; note\n", "d", "k", "v", ""},
		{"semicolon inside a word stays", "[d]\nk = a;b\n", "d", "k", "a;b", ""},
		{"hash is no inline comment", "[d]\nk = a # b\n", "d", "k", "a # b", ""},
		{"continuation line", "[d]\nk = a\n  b\n\n  c\n\n", "d", "k", "a\nb\n\nc", ""},
		{"DEFAULT section inherited", "[DEFAULT]\nk = v\n[d]\n", "d", "k", "v", ""},
		{"no section", "k = v\n", "", "", "", "f.cfg:1: file contains no section headers"},
		{"no delimiter", "[d]\njust words\n", "", "", "", `f.cfg:2: no '=' or ':' in "just words"`},
		{"duplicate key", "[d]\nk = 1\nK = 2\n", "", "", "", `f.cfg:3: option "k" in section "d" already exists`},
		{"duplicate section", "[d]\n[d]\n", "", "", "", `f.cfg:2: section "d" already exists`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseINI("f.cfg", []byte(c.text))
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := f.get(c.section, c.key); v.text != c.want {
				t.Errorf("got %q, want %q", v.text, c.want)
			}
		})
	}
}

// loadAnsibleFlags runs globals.load for a command with every shared flag
// (and --log-file) on args, in the working directory.
func loadAnsibleFlags(t *testing.T, args ...string) (*globals, error) {
	t.Helper()
	var errb strings.Builder
	g := newGlobals(os.Stdout, &errb)
	g.ansibleSystemCfg = "/nonexistent"
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	addAllGlobalFlags(g, cmd.Flags())
	var out runOutput
	out.AddFlags(cmd.Flags())
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	return g, g.load(cmd)
}

// loadAnsibleLog is loadAnsibleFlags (no arguments) that also returns
// --log-file.
func loadAnsibleLog(t *testing.T) (*globals, string, error) {
	t.Helper()
	g := newGlobals(os.Stdout, os.Stderr)
	g.ansibleSystemCfg = "/nonexistent"
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	addAllGlobalFlags(g, cmd.Flags())
	var out runOutput
	out.AddFlags(cmd.Flags())
	err := g.load(cmd)
	return g, out.LogFile, err
}

// TestAnsibleCfgPrecedence: ansible.cfg < ANSIBLE_* < sshplay.yaml <
// SSHPLAY_* < the command line; remote_user, private_key_file and
// host_key_checking sit below a host's own variables.
func TestAnsibleCfgPrecedence(t *testing.T) {
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	t.Chdir(dir)
	cfg := "[defaults]\nforks = 7\ninventory = a.ini,b.ini\nremote_user = deploy\nhost_key_checking = false\n" +
		"log_path = run.log\nroles_path = r1:r2\nvault_password_file = vp\n[privilege_escalation]\nbecome = true\nbecome_user = pg\n"
	if err := os.WriteFile("ansible.cfg", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	g, logFile, err := loadAnsibleLog(t)
	if err != nil {
		t.Fatal(err)
	}
	if logFile != filepath.Join(dir, "run.log") {
		t.Errorf("log_path should fill --log-file: %q", logFile)
	}
	want := []string{filepath.Join(dir, "a.ini"), filepath.Join(dir, "b.ini")}
	if g.Forks != 7 || strings.Join(g.Inventories, ",") != strings.Join(want, ",") || !g.Become || g.BecomeUser != "pg" {
		t.Errorf("from ansible.cfg: forks=%d inv=%v become=%v %q", g.Forks, g.Inventories, g.Become, g.BecomeUser)
	}
	if strings.Join(g.RolesPath, ":") != filepath.Join(dir, "r1")+":"+filepath.Join(dir, "r2") || g.VaultPasswordFile != filepath.Join(dir, "vp") {
		t.Errorf("roles_path %v, vault_password_file %q", g.RolesPath, g.VaultPasswordFile)
	}
	ov := g.transportOverrides()
	tg, _, err := transport.TargetFromVars("h", map[string]any{}, ov)
	if err != nil || tg.User != "deploy" || tg.HostKeyChecking != transport.HostKeyOff {
		t.Errorf("host without variables: user %q policy %q err %v", tg.User, tg.HostKeyChecking, err)
	}
	tg, _, _ = transport.TargetFromVars("h", map[string]any{"ansible_user": "own", "ansible_host_key_checking": "true"}, ov)
	if tg.User != "own" || tg.HostKeyChecking != transport.HostKeyStrict {
		t.Errorf("host variables must beat ansible.cfg: user %q policy %q", tg.User, tg.HostKeyChecking)
	}

	t.Setenv("ANSIBLE_FORKS", "8")
	if g, _ := loadAnsibleFlags(t); g.Forks != 8 {
		t.Errorf("ANSIBLE_FORKS should beat ansible.cfg: %d", g.Forks)
	}
	if err := os.WriteFile("sshplay.yaml", []byte("forks: 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g, _ := loadAnsibleFlags(t); g.Forks != 9 {
		t.Errorf("sshplay.yaml should beat ANSIBLE_FORKS: %d", g.Forks)
	}
	t.Setenv("SSHPLAY_FORKS", "10")
	if g, _ := loadAnsibleFlags(t); g.Forks != 10 {
		t.Errorf("SSHPLAY_FORKS should beat sshplay.yaml: %d", g.Forks)
	}
	if g.Gathering != "" {
		t.Errorf("without a gathering setting the engine keeps its default, got %q", g.Gathering)
	}
	t.Setenv("ANSIBLE_GATHERING", "explicit")
	if g, _ := loadAnsibleFlags(t); g.Gathering != playbooks.GatherExplicit {
		t.Errorf("ANSIBLE_GATHERING should set the gathering: %q", g.Gathering)
	}
	if g, _ := loadAnsibleFlags(t, "-f", "11", "-i", "c.ini"); g.Forks != 11 || len(g.Inventories) != 1 {
		t.Errorf("the command line wins: forks=%d inv=%v", g.Forks, g.Inventories)
	}
}

// TestAnsibleCfgSearchOrder: $ANSIBLE_CONFIG (a file or its folder), then
// ./ansible.cfg (skipped in a world-writable directory, said at -v), then
// ~/.ansible.cfg, then the system file; the first found is the only one
// read.
func TestAnsibleCfgSearchOrder(t *testing.T) {
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	write := func(p, forks string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("[defaults]\nforks = "+forks+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := filepath.Join(dir, "work")
	write(filepath.Join(dir, "system", "ansible.cfg"), "2")
	write(filepath.Join(dir, "home", ".ansible.cfg"), "3")
	write(filepath.Join(work, "ansible.cfg"), "4")
	write(filepath.Join(dir, "env", "ansible.cfg"), "5")
	t.Chdir(work)
	forks := func() (int, []string) {
		t.Helper()
		ac, err := readAnsibleConfig(os.Getenv, filepath.Join(dir, "system", "ansible.cfg"))
		if err != nil {
			t.Fatal(err)
		}
		v := ac.values["forks"].vals
		if len(v) == 0 {
			return 0, ac.notes
		}
		n := 0
		for _, c := range v[0] {
			n = n*10 + int(c-'0')
		}
		return n, ac.notes
	}
	t.Setenv("ANSIBLE_CONFIG", filepath.Join(dir, "env"))
	if n, _ := forks(); n != 5 {
		t.Errorf("ANSIBLE_CONFIG folder: forks %d", n)
	}
	os.Unsetenv("ANSIBLE_CONFIG")
	if n, notes := forks(); n != 4 || notes[0] != "Using "+filepath.Join(work, "ansible.cfg")+" as config file" {
		t.Errorf("./ansible.cfg: forks %d, notes %q", n, notes)
	}
	if err := os.Chmod(work, 0o777); err != nil {
		t.Fatal(err)
	}
	if n, notes := forks(); n != 3 || !strings.Contains(notes[0], "world-writable") {
		t.Errorf("world-writable cwd: forks %d (want ~/.ansible.cfg's 3), notes %q", n, notes)
	}
	if err := os.Remove(filepath.Join(dir, "home", ".ansible.cfg")); err != nil {
		t.Fatal(err)
	}
	if n, _ := forks(); n != 2 {
		t.Errorf("system file: forks %d", n)
	}
}

// TestAnsibleCfgBadValueExitsFive: a value a setting cannot take, or a
// line configparser refuses, is one line naming file:line and key (or the
// variable), exit 5.
func TestAnsibleCfgBadValueExitsFive(t *testing.T) {
	for _, c := range []struct{ cfg, env, envVal, want string }{
		{"[defaults]\n\nforks = many\n", "", "", `ansible.cfg:3: forks: want a whole number, got "many"`},
		{"[privilege_escalation]\nbecome = perhaps\n", "", "", `ansible.cfg:2: become: want a boolean (yes/no, true/false), got "perhaps"`},
		{"[privilege_escalation]\nbecome_method = su\n", "", "", `ansible.cfg:2: become_method: not supported yet: become_method su`},
		{"forks = 3\n", "", "", `ansible.cfg:1: file contains no section headers`},
		{"", "ANSIBLE_TIMEOUT", "soon", `ANSIBLE_TIMEOUT: want a whole number, got "soon"`},
		{"[defaults]\ngathering = sometimes\n", "", "", `ansible.cfg:2: gathering: invalid value "sometimes", valid values are: implicit, explicit, smart`},
		{"", "ANSIBLE_GATHERING", "nope", `ANSIBLE_GATHERING: invalid value "nope", valid values are: implicit, explicit, smart`},
	} {
		dir := t.TempDir()
		hermeticAnsible(t, dir)
		t.Chdir(dir)
		if err := os.WriteFile("ansible.cfg", []byte(c.cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if c.env != "" {
			t.Setenv(c.env, c.envVal)
		}
		code, _, stderr := runCLI(t, "exec", "all", "-i", "nothing.ini", "--", "true")
		if got := strings.TrimSpace(stderr); code != exitUsage || strings.Contains(got, "\n") || !strings.HasSuffix(got, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", c.cfg+c.env, code, stderr, c.want)
		}
		if c.env != "" {
			os.Unsetenv(c.env)
		}
	}
}

// TestAnsibleCfgVerboseSaysWhichFile: -v names the ansible.cfg read, as
// Ansible's -v does, and the ssh client keys sshplay ignores.
func TestAnsibleCfgVerboseSaysWhichFile(t *testing.T) {
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	t.Chdir(dir)
	cfg := "[defaults]\ninventory = inv.ini\n[ssh_connection]\npipelining = true\n"
	if err := os.WriteFile("ansible.cfg", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("inv.ini", []byte("ctl ansible_connection=local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "exec", "all", "-v", "-o", "--", "echo", "hi")
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"Using " + filepath.Join(dir, "ansible.cfg") + " as config file\n",
		"ansible.cfg:4: [ssh_connection] pipelining is ignored",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout != "ctl | CHANGED | rc=0 | (stdout) hi\n" {
		t.Errorf("stdout %q", stdout)
	}
}

// TestExecOneLineMatchesAnsible: exec -o prints each host's result as
// `ansible HOST -o` (ansible-core 2.14) printed it for the same module and
// arguments on a local host (testdata/oneline/cases.txt: module, args,
// extra flags, Ansible's line), and no recap.
func TestExecOneLineMatchesAnsible(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "oneline", "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	localInventory(t)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(l, "\t")
		args := []string{"exec", "ctl", "-i", "inv.ini", "-o", "-m", f[0]}
		if f[1] != "" {
			args = append(args, "-a", f[1])
		}
		args = append(args, strings.Fields(f[2])...)
		_, stdout, stderr := runCLI(t, args...)
		if stdout != f[3]+"\n" {
			t.Errorf("%s -a %q %s:\n got %q\nwant %q (stderr %q)", f[0], f[1], f[2], stdout, f[3]+"\n", stderr)
		}
	}
}

// TestBecomeMethodOnlySudo: sudo is accepted wherever Ansible takes a
// become_method (--become-method, a play, a block, a task, the inventory);
// any other method is refused before anything runs, exit 5.
func TestBecomeMethodOnlySudo(t *testing.T) {
	localInventory(t)
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok.yml", "- hosts: all\n  become_method: sudo\n  tasks:\n    - block:\n        - command: \"true\"\n          become_method: sudo\n      become_method: sudo\n")
	if code, out, errs := runCLI(t, "play", "ok.yml", "-i", "inv.ini", "--become-method", "sudo"); code != exitOK {
		t.Errorf("sudo everywhere: exit %d\n%s%s", code, out, errs)
	}
	write("su.yml", "- hosts: all\n  tasks:\n    - command: touch ran\n      become_method: su\n")
	write("su.ini", "ctl ansible_connection=local ansible_become_method=doas\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"play", "ok.yml", "-i", "inv.ini", "--become-method", "su"}, "--become-method: not supported yet: become_method su"},
		{[]string{"play", "su.yml", "-i", "inv.ini"}, "su.yml:4:22: not supported yet: become_method su"},
		{[]string{"exec", "all", "-i", "su.ini", "--", "touch", "ran"}, "ansible_become_method: not supported yet: become_method doas"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat("ran"); err == nil {
		t.Error("a refused become_method ran a task")
	}
}

// TestConnectionFlag: -c local runs on the control machine a host whose
// inventory says nothing of its connection (its address is never dialled);
// a host's ansible_connection beats -c, as in Ansible; other types exit 5.
func TestConnectionFlag(t *testing.T) {
	localInventory(t)
	if err := os.WriteFile("far.ini", []byte("far ansible_host=192.0.2.1 ansible_port=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "exec", "all", "-i", "far.ini", "-c", "local", "-o", "--", "echo", "hi")
	if code != exitOK || stdout != "far | CHANGED | rc=0 | (stdout) hi\n" {
		t.Errorf("-c local: exit %d, %q %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "exec", "all", "-i", "inv.ini", "-c", "ssh", "-o", "--", "echo", "hi")
	if code != exitOK || stdout != "ctl | CHANGED | rc=0 | (stdout) hi\n" {
		t.Errorf("ansible_connection=local must beat -c ssh: exit %d, %q", code, stdout)
	}
	code, _, stderr = runCLI(t, "exec", "all", "-i", "inv.ini", "-c", "winrm", "--", "true")
	if code != exitUsage || !strings.Contains(stderr, `--connection: want ssh or local, got "winrm"`) {
		t.Errorf("-c winrm: exit %d, %q", code, stderr)
	}
}

// TestSSHArgsFlags: --ssh-common-args and --ssh-extra-args are read by the
// parser of ansible_ssh_common_args (options applied, bad quoting exit 5
// naming the flag), and a host's own ansible_ssh_*_args replace them, as
// in Ansible.
func TestSSHArgsFlags(t *testing.T) {
	dir := t.TempDir()
	hermeticAnsible(t, dir)
	t.Chdir(dir)
	g, err := loadAnsibleFlags(t, "--ssh-common-args", "-o Port=2222 -l bob", "--ssh-extra-args", "-o ConnectTimeout=7")
	if err != nil {
		t.Fatal(err)
	}
	ov := g.transportOverrides()
	ov.SSHConfigFile = "none"
	tg, _, err := transport.TargetFromVars("h", map[string]any{}, ov)
	if err != nil || tg.Port != 2222 || tg.User != "bob" || tg.ConnectTimeout.Seconds() != 7 {
		t.Errorf("flags: port %d user %q timeout %v err %v", tg.Port, tg.User, tg.ConnectTimeout, err)
	}
	tg, _, _ = transport.TargetFromVars("h", map[string]any{"ansible_ssh_common_args": "-p 2200"}, ov)
	if tg.Port != 2200 || tg.User == "bob" {
		t.Errorf("the host's ansible_ssh_common_args must replace --ssh-common-args: port %d user %q", tg.Port, tg.User)
	}
	if err := os.WriteFile("inv.ini", []byte("h ansible_host=192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "exec", "all", "-i", "inv.ini", "--ssh-common-args", "-o 'ProxyCommand=nc", "--", "true")
	if code != exitUsage || !strings.Contains(stderr, "--ssh-common-args") {
		t.Errorf("bad quoting: exit %d, %q", code, stderr)
	}
}
