package playbooks

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

// vaultPW is the password of the vault data these tests write.
var vaultPW = vault.Secret{ID: vault.DefaultID, Password: []byte("hunter2pw")}

// encrypted returns plain as ansible-vault text, encrypted with vaultPW.
func encrypted(t *testing.T, plain string) string {
	t.Helper()
	data, err := vault.Encrypt([]byte(plain), vaultPW.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// inlineVault returns a `!vault |` YAML value of plain, indented for a
// key at indent spaces.
func inlineVault(t *testing.T, plain string, indent int) string {
	pad := strings.Repeat(" ", indent+2)
	text := strings.TrimSuffix(encrypted(t, plain), "\n")
	return "!vault |\n" + pad + strings.ReplaceAll(text, "\n", "\n"+pad)
}

// loadVaultDir writes files and site.yml under a temporary folder and
// loads site.yml with ctx, as `sshplay play` does.
func loadVaultDir(t *testing.T, ctx context.Context, files map[string]string, src string) (*Playbook, error) {
	t.Helper()
	dir := t.TempDir()
	files["site.yml"] = src
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return LoadContext(ctx, testModules(), filepath.Join(dir, "site.yml"))
}

func TestVaultValuesAreDecryptedUsedAndMasked(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vaultPW))
	files := map[string]string{"vault.yml": encrypted(t, "app_key: KeyFromVaultFile42\n")}
	src := `
- hosts: db01
  vars:
    greeting: ` + inlineVault(t, "InlineVaultValue7", 4) + `
  vars_files: [vault.yml]
  tasks:
    - debug: msg="using {{ greeting }} and {{ app_key }}"
    - tput: path=/etc/app.conf content="{{ greeting }}/{{ app_key }}"
`
	pb, err := loadVaultDir(t, ctx, files, src)
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(1)
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: &memConn{h: &memHost{name: "localhost", files: map[string][]byte{}}}, Forks: 1, Out: &out, Diff: true}
	sum, err := Run(ctx, []*Playbook{pb}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := stats(t, sum, "db01"); st.Failed != 0 {
		t.Fatalf("failed:\n%s", out.String())
	}
	if got := string(f.hosts["db01"].files["/etc/app.conf"]); got != "InlineVaultValue7/KeyFromVaultFile42" {
		t.Errorf("host got %q, want the decrypted values", got)
	}
	for _, plain := range []string{"InlineVaultValue7", "KeyFromVaultFile42"} {
		if strings.Contains(out.String(), plain) {
			t.Errorf("output shows %q:\n%s", plain, out.String())
		}
	}
	if !strings.Contains(out.String(), "using ******** and ********") {
		t.Errorf("output does not mask the vault values:\n%s", out.String())
	}
}

func TestVaultValueWithoutPasswordIsAnErrorNeverText(t *testing.T) {
	src := "- hosts: all\n  vars:\n    greeting: " + inlineVault(t, "x", 4) + "\n  tasks: []\n"
	_, err := loadVaultDir(t, context.Background(), map[string]string{}, src)
	if err == nil || !strings.HasSuffix(err.Error(), "site.yml:3:15: give --vault-password-file or --ask-vault-pass") ||
		!strings.Contains(err.Error(), "vault-encrypted value at ") {
		t.Fatalf("got %v", err)
	}
	var ve *vault.Error
	if !errors.As(err, &ve) || !ve.BadInput() {
		t.Errorf("%v is not bad input", err)
	}
}

func TestEncryptedVarsFileWithWrongPasswordStopsTheLoad(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vault.Secret{ID: "dev", Password: []byte("wrong")}))
	files := map[string]string{"vault.yml": encrypted(t, "app_key: k\n")}
	_, err := loadVaultDir(t, ctx, files, "- hosts: all\n  vars_files: [vault.yml]\n  tasks: []\n")
	if err == nil || !strings.Contains(err.Error(), "vault.yml: cannot decrypt vault data with vault id dev: wrong password") {
		t.Fatalf("got %v", err)
	}
}

func TestEncryptedExtraVarsFileIsDecrypted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "extra.yml")
	if err := os.WriteFile(file, []byte(encrypted(t, "release: r42\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	k := vault.NewKeyring(vaultPW)
	m, err := ParseExtraVarsContext(vault.NewContext(context.Background(), k), "@"+file)
	if err != nil || m["release"] != "r42" {
		t.Fatalf("got %v, %v", m, err)
	}
	if r := k.Revealed(); len(r) != 1 || r[0] != "r42" {
		t.Errorf("revealed %q, want the file's values", r)
	}
}

func TestCopyDecryptsAVaultEncryptedSourceAndMasksItsDiff(t *testing.T) {
	ctx := vault.NewContext(context.Background(), vault.NewKeyring(vaultPW))
	src := `
- hosts: db01
  tasks:
    - copy: src=/ctl/secret.conf dest=/etc/secret.conf
    - copy: src=/ctl/secret.conf dest=/etc/raw.conf decrypt=no
`
	pb, err := loadVaultDir(t, ctx, map[string]string{}, src)
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(1)
	f.hosts["db01"].files["/etc/hostname"] = []byte("db01\n")
	cipher := encrypted(t, "ConfigSecretLine99\n")
	local := &memConn{h: &memHost{name: "localhost", files: map[string][]byte{"/ctl/secret.conf": []byte(cipher)}}}
	var out bytes.Buffer
	opts := Options{Modules: testModules(), Inventory: f, Connector: f, Local: local, Forks: 1, Out: &out, Diff: true}
	if _, err := Run(ctx, []*Playbook{pb}, opts); err != nil {
		t.Fatal(err)
	}
	if got := string(f.hosts["db01"].files["/etc/secret.conf"]); got != "ConfigSecretLine99\n" {
		t.Errorf("copied %q, want the plaintext", got)
	}
	if got := string(f.hosts["db01"].files["/etc/raw.conf"]); got != cipher {
		t.Errorf("decrypt=no copied %q, want the vault text", got)
	}
	if strings.Contains(out.String(), "ConfigSecretLine99") {
		t.Errorf("diff shows the plaintext:\n%s", out.String())
	}
}
