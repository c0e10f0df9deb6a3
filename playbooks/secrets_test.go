package playbooks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runDir parses src as DIR/site.yml (files given are written under DIR
// first) and runs it.
func runDir(t *testing.T, f *memFleet, files map[string]string, src string, set ...runOpt) (*Summary, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(site, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}, Forks: 4, Out: &out}
	for _, m := range set {
		m(&opts)
	}
	pb, err := LoadFile(opts.Modules, site)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	sum, err := Run(context.Background(), []*Playbook{pb}, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum, out.String()
}

const secretsPlay = `
- hosts: dbservers
  vars:
    db_password: S3cretPassw0rd
    db:
      password: N3stedS3cret
    api_token: "{{ vault_api_key }}"
    vault_api_key: T0kenValue99
    pin_pass: "7"
  vars_files: [vault.yml]
  tasks:
    - debug: msg="connecting with {{ db_password }}"
    - debug: msg="vault {{ vault_db_password }} nested {{ db.password }} token {{ api_token }}"
    - set_fact:
        other: "{{ db_password }}"
    - debug: var=other
    - trun: "login --pw {{ vault_db_password }}"
    - tput: {path: /etc/pw, content: "password={{ db_password }}\n"}
    - debug: msg="{{ blockpw }} {{ task_password }}"
      vars:
        task_password: TaskLevelSecret1
    - block:
        - debug: msg="{{ block_secret }}"
      vars:
        block_secret: BlockLevelSecret2
    - tmsg: {msg: "fails with {{ db_password }}"}
      failed_when: true
      ignore_errors: true
`

func TestSecretsMaskedFromEveryLayer(t *testing.T) {
	t.Parallel()
	secrets := []string{"S3cretPassw0rd", "N3stedS3cret", "T0kenValue99", "VaultedPw42", "TaskLevelSecret1", "BlockLevelSecret2", "ExtraSecret77"}
	files := map[string]string{"vault.yml": "vault_db_password: VaultedPw42\n"}
	play := strings.Replace(secretsPlay, `msg="{{ blockpw }} {{ task_password }}"`, `msg="{{ taskpw }} {{ x_secret }}"`, 1)
	for _, format := range []string{"text", "json"} {
		for _, verbose := range []int{0, 2} {
			f := newFleet(1)
			_, out := runDir(t, f, files, play, func(o *Options) {
				o.Format, o.Diff, o.Verbose = format, true, verbose
				o.ExtraVars = map[string]any{"x_secret": "ExtraSecret77"}
			})
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s -v%d: secret %q printed:\n%s", format, verbose, s, out)
				}
			}
			if !strings.Contains(out, "connecting with ********") {
				t.Errorf("%s: no masked message:\n%s", format, out)
			}
			if ran := f.ran("db01"); len(ran) == 0 || !strings.Contains(ran[0], "VaultedPw42") {
				t.Errorf("the command must still get the real value: %v", ran)
			}
		}
	}
}

// TestSecretSet: values shorter than minSecretLen are not collected. (The
// name rule is tested in internal/secret.)
func TestSecretSet(t *testing.T) {
	t.Parallel()
	var s secretSet
	s.add("abc")
	s.add("abcd")
	if len(s.list) != 1 {
		t.Errorf("values shorter than %d characters must not be masked by value: %v", minSecretLen, s.list)
	}
}

func TestTraceMasksSecretsAndHidesNoLog(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	f := newFleet(2)
	f.vars["db01"]["pg_password"] = "hunter22"
	runYAML(t, f, `
- hosts: dbservers
  vars:
    app_secret: PlayS3cret
  tasks:
    - trun: "login {{ pg_password | default('x') }} {{ app_secret }}"
    - trun: "secret-command {{ inventory_hostname }}"
      no_log: true
`, func(o *Options) { o.Verbose, o.Trace = 3, &trace })
	out := trace.String()
	for _, bad := range []string{"hunter22", "PlayS3cret", "secret-command"} {
		if strings.Contains(out, bad) {
			t.Errorf("trace shows %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "<db01> run") || !strings.Contains(out, "login ******** ********") || !strings.Contains(out, "<db02> run (no_log)") {
		t.Errorf("trace:\n%s", out)
	}
	trace.Reset()
	runYAML(t, newFleet(1), "- hosts: dbservers\n  tasks:\n    - trun: x\n", func(o *Options) { o.Verbose, o.Trace = 2, &trace })
	if trace.Len() != 0 {
		t.Errorf("trace below -vvv:\n%s", trace.String())
	}
}

func TestDebugVarIsANativeExpressionPrintedAsJSON(t *testing.T) {
	t.Parallel()
	f := newFleet(2)
	f.vars["db02"]["pg_host"] = "127.0.0.9"
	_, out := runDir(t, f, nil, `
- hosts: db01
  tasks:
    - debug: var=hostvars[inventory_hostname]
    - debug:
        var: hostvars['db02'].pg_host
    - debug: var=nothing_here
`)
	if strings.Contains(out, "map[") || !strings.Contains(out, `"hostvars[inventory_hostname]": {`) || !strings.Contains(out, `"idx": 1`) {
		t.Errorf("hostvars not printed as JSON:\n%s", out)
	}
	if !strings.Contains(out, `"hostvars['db02'].pg_host": "127.0.0.9"`) {
		t.Errorf("hostvars['db02'].pg_host:\n%s", out)
	}
	if !strings.Contains(out, `"nothing_here": "VARIABLE IS NOT DEFINED!"`) {
		t.Errorf("undefined:\n%s", out)
	}
}

func TestJSONHidesLoopItemUnderNoLog(t *testing.T) {
	t.Parallel()
	_, out := runYAML(t, newFleet(1), `
- hosts: dbservers
  tasks:
    - tmsg: {msg: "{{ item }}"}
      loop: [itemsecret1, itemsecret2]
      no_log: true
`, func(o *Options) { o.Format = "json" })
	if strings.Contains(out, "itemsecret") {
		t.Errorf("no_log item in JSON:\n%s", out)
	}
}

func TestMaskInlinePasswords(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" primary_conninfo = 'host=10.0.0.9 user=rep password=Sekret42'": " primary_conninfo = 'host=10.0.0.9 user=rep password=********'",
		"PASSWORD = 'a b'":                          "PASSWORD = ********",
		"db_password=\"x y\" other=1":               "db_password=******** other=1",
		"postgresql://rep:Sekret42@db1:5432/x":      "postgresql://rep:********@db1:5432/x",
		"ssl_passphrase_command = 'echo hunter2'":   "ssl_passphrase_command = 'echo hunter2'",
		"no secrets here: a=b, https://example.com": "no secrets here: a=b, https://example.com",
	} {
		if got := maskString(in, nil); got != want {
			t.Errorf("maskString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskValueWalksEveryList(t *testing.T) {
	t.Parallel()
	res := map[string]any{
		"cmd":          []string{"echo", "Sup3rS3cretPW"},
		"stdout_lines": []string{"Sup3rS3cretPW BecomePW123"},
		"nested":       []map[string]any{{"x": "BecomePW123"}},
		"env":          map[string]string{"PGPASSWORD": "abc123", "HOME": "/root BecomePW123"},
	}
	got := jsonText(maskValue(res, []string{"Sup3rS3cretPW", "BecomePW123"}), false)
	for _, leak := range []string{"Sup3rS3cretPW", "BecomePW123", "abc123"} {
		if strings.Contains(got, leak) {
			t.Errorf("%s leaks in %s", leak, got)
		}
	}
}

// What a template derives from a secret (through a filter, a slice, in a
// variable or a task argument) is masked like the secret itself.
func TestValuesDerivedFromSecretsAreMasked(t *testing.T) {
	t.Parallel()
	_, out := runDir(t, newFleet(1), nil, `
- hosts: all
  vars:
    db_password: s3cretvalue
    derived: "{{ db_password | upper }}"
  tasks:
    - debug: msg="derived {{ derived }}"
    - debug: msg="prefix {{ db_password[:7] }} suffix"
    - debug: msg="plain {{ 'not secret' | upper }}"
`)
	for _, leak := range []string{"S3CRETVALUE", "s3cretv"} {
		if strings.Contains(out, leak) {
			t.Errorf("output shows %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"derived ********", "prefix ******** suffix", "plain NOT SECRET"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestPathsToSecretsArePrintedAndSecretsMasked: a variable naming where a
// secret is kept (pg_password_file) is a path the user needs to see, in
// messages, diffs and the trace; the secret itself stays masked.
func TestPathsToSecretsArePrintedAndSecretsMasked(t *testing.T) {
	t.Parallel()
	const path, pw = "/etc/postgresql/pg_password.txt", "Sup3rSecretPw"
	for _, format := range []string{"text", "json"} {
		var trace bytes.Buffer
		f := newFleet(1)
		f.vars["db01"]["pg_password_file"] = path
		f.vars["db01"]["pg_password"] = pw
		_, out := runYAML(t, f, `
- hosts: dbservers
  tasks:
    - debug: msg="reading {{ pg_password_file }}"
    - tput: {path: "{{ pg_password_file }}", content: "{{ pg_password }}\n"}
    - trun: "cat {{ pg_password_file }}"
`, func(o *Options) { o.Format, o.Diff, o.Verbose, o.Trace = format, true, 3, &trace })
		for name, text := range map[string]string{"output": out, "trace": trace.String()} {
			if strings.Contains(text, pw) {
				t.Errorf("%s %s shows the password:\n%s", format, name, text)
			}
		}
		if !strings.Contains(out, "reading "+path) || !strings.Contains(out, path+"\n") && !strings.Contains(out, path+`"`) {
			t.Errorf("%s output hides the path:\n%s", format, out)
		}
		if !strings.Contains(trace.String(), "cat "+path) {
			t.Errorf("%s trace hides the path:\n%s", format, trace.String())
		}
	}
}
