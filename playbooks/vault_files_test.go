package playbooks

// Files encrypted whole with ansible-vault wherever Ansible's loader
// decrypts them: the playbook itself, imported and included tasks files,
// a role's tasks, the template module's src, lookup('file') and
// lookup('unvault'). Compare testdata/vault_files (ansible-playbook 2.14).

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/vault"
)

// writeTree writes files (relative names, folders made) under a new
// temporary folder and returns it; names ending in "!" are encrypted
// with vaultPW (the "!" dropped).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if n, ok := strings.CutSuffix(name, "!"); ok {
			name, body = n, encrypted(t, body)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runVaultTree loads dir/site.yml with ctx's keyring and runs it on db01
// with --diff; local holds the control machine's files the modules read,
// hostFiles files that exist on db01 (so that their folders do).
func runVaultTree(t *testing.T, ctx context.Context, dir string, local map[string][]byte, hostFiles ...string) (*memFleet, string, *Summary) {
	t.Helper()
	pb, err := LoadContext(ctx, testModules(), filepath.Join(dir, "site.yml"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(1)
	for _, p := range hostFiles {
		f.hosts["db01"].files[p] = []byte("x\n")
	}
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Forks: 1, Out: &out, Diff: true,
		Local: &memConn{h: &memHost{name: "localhost", files: local}}}
	sum, err := Run(ctx, []*Playbook{pb}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, out.String(), sum
}

var vaultTreeFiles = map[string]string{
	"site.yml!": `
- hosts: db01
  roles: [r1]
  tasks:
    - import_tasks: imported.yml
    - include_tasks: included.yml
    - tput: path=/etc/lookup content="{{ lookup('file', 's.txt') }}|{{ lookup('unvault', 'u.txt') }}|"
`,
	"roles/r1/tasks/main.yml!": "- tput: path=/etc/role content=role-ran\n",
	"imported.yml!":            "- tput: path=/etc/imported content=imported-ran\n",
	"included.yml!":            "- tput: path=/etc/included content=included-ran\n",
	"files/s.txt!":             "FileLookupSecret\n\n",
	"files/u.txt!":             "UnvaultSecret\n",
}

func TestEncryptedPlaybookTasksFilesAndLookupsAreDecrypted(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vaultPW))
	f, out, sum := runVaultTree(t, ctx, writeTree(t, vaultTreeFiles), map[string][]byte{})
	if st := stats(t, sum, "db01"); st.Failed != 0 {
		t.Fatalf("failed:\n%s", out)
	}
	want := map[string]string{"/etc/role": "role-ran", "/etc/imported": "imported-ran", "/etc/included": "included-ran",
		// file strips the trailing newlines, unvault keeps the text as it is (as Ansible)
		"/etc/lookup": "FileLookupSecret|UnvaultSecret\n|"}
	for p, w := range want {
		if got := string(f.hosts["db01"].files[p]); got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	if strings.Contains(out, "FileLookupSecret") || strings.Contains(out, "UnvaultSecret") {
		t.Errorf("output shows a decrypted lookup file:\n%s", out)
	}
}

func TestTemplateOfEncryptedSourceIsRenderedAndMaskedInDiff(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vaultPW))
	dir := writeTree(t, map[string]string{"site.yml": `
- hosts: db01
  vars: {port: 5432}
  tasks:
    - template: src=/ctl/app.conf.j2 dest=/etc/app.conf
`})
	local := map[string][]byte{"/ctl/app.conf.j2": []byte(encrypted(t, "TemplateSecret port={{ port }}\n"))}
	f, out, _ := runVaultTree(t, ctx, dir, local, "/etc/hostname")
	if got := string(f.hosts["db01"].files["/etc/app.conf"]); got != "TemplateSecret port=5432\n" {
		t.Fatalf("rendered %q:\n%s", got, out)
	}
	if strings.Contains(out, "TemplateSecret") || !strings.Contains(out, "+********") {
		t.Errorf("diff does not mask the decrypted template:\n%s", out)
	}
}

func TestEncryptedFilesWithoutPasswordStopTheLoadNamingTheFile(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"playbook", "site.yml"}, {"imported tasks", "imported.yml"}, {"role tasks", "roles/r1/tasks/main.yml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range vaultTreeFiles {
				if strings.TrimSuffix(k, "!") != tc.file {
					k = strings.TrimSuffix(k, "!")
				}
				files[k] = v
			}
			dir := writeTree(t, files)
			_, err := LoadContext(context.Background(), testModules(), filepath.Join(dir, "site.yml"))
			want := "vault-encrypted file " + filepath.Join(dir, tc.file) + ": give --vault-password-file or --ask-vault-pass"
			var ve *vault.Error
			if err == nil || err.Error() != want || !errors.As(err, &ve) || !ve.BadInput() {
				t.Fatalf("got %v, want %s", err, want)
			}
		})
	}
}

func TestEncryptedTasksFileWithWrongPasswordNamesTheVaultID(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vault.Secret{ID: "dev", Password: []byte("wrong")}))
	dir := writeTree(t, map[string]string{"site.yml": "- hosts: all\n  tasks:\n    - import_tasks: imported.yml\n",
		"imported.yml!": "- tput: path=/x content=y\n"})
	_, err := LoadContext(ctx, testModules(), filepath.Join(dir, "site.yml"))
	want := filepath.Join(dir, "imported.yml") + ": cannot decrypt vault data with vault id dev: wrong password"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestDecryptedTasksFileErrorsPointIntoThePlaintext(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vaultPW))
	dir := writeTree(t, map[string]string{"site.yml": "- hosts: all\n  tasks:\n    - import_tasks: imported.yml\n",
		"imported.yml!": "- tput: path=/x content=y\n- no_such_module_here: {}\n"})
	_, err := LoadContext(ctx, testModules(), filepath.Join(dir, "site.yml"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "imported.yml")+":2:3") {
		t.Fatalf("got %v, want an error at imported.yml:2:3", err)
	}
}

func TestFilesReadAtRunTimeWithoutPasswordFailTheTask(t *testing.T) {
	dir := writeTree(t, map[string]string{"site.yml": `
- hosts: db01
  tasks:
    - tput: path=/etc/first content=ran
    - template: src=/ctl/t.j2 dest=/etc/t
      ignore_errors: true
    - tput: path=/etc/lookup content="{{ lookup('file', 's.txt') }}"
      ignore_errors: true
    - tput: path=/etc/unvault content="{{ lookup('unvault', 'u.txt') }}"
      ignore_errors: true
    - include_tasks: included.yml
`, "files/s.txt!": "x\n", "files/u.txt!": "x\n", "included.yml!": "- tput: path=/etc/included content=y\n"})
	local := map[string][]byte{"/ctl/t.j2": []byte(encrypted(t, "x\n"))}
	f, out, sum := runVaultTree(t, context.Background(), dir, local)
	st := stats(t, sum, "db01")
	if st.Ignored != 3 || st.Failed != 1 || st.Changed != 1 {
		t.Errorf("stats %+v, want first changed, 3 ignored, the include failed:\n%s", st, out)
	}
	for _, want := range []string{"vault-encrypted file /ctl/t.j2: give --vault-password-file",
		"vault-encrypted file " + filepath.Join(dir, "files", "s.txt"), "vault-encrypted file " + filepath.Join(dir, "files", "u.txt"),
		"vault-encrypted file " + filepath.Join(dir, "included.yml")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, p := range []string{"/etc/t", "/etc/lookup", "/etc/unvault", "/etc/included"} {
		if _, ok := f.hosts["db01"].files[p]; ok {
			t.Errorf("%s written", p)
		}
	}
}
