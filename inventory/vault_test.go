package inventory

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

var (
	vaultDefault = vault.Secret{ID: vault.DefaultID, Password: []byte("hunter2pw")}
	vaultProd    = vault.Secret{ID: "prod", Password: []byte("prod-pass-42")}
)

// With the passwords, `inventory --list/--host` opens the group_vars file
// encrypted whole and prints inline `!vault` values as
// {"__ansible_vault": ciphertext}, byte for byte as ansible-inventory
// (testdata/ansible/README.md).
func TestVaultOutputMatchesAnsibleInventory(t *testing.T) {
	ctx := vault.KeepInline(vault.NewContext(context.Background(), vault.NewKeyring(vaultDefault, vaultProd)))
	inv, err := LoadContext(ctx, []string{"testdata/vault/hosts.yml"})
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(*bytes.Buffer) error{
		"vault.list.json": func(b *bytes.Buffer) error { return inv.ListJSON(b, true) },
		"vault.db1.json":  func(b *bytes.Buffer) error { return inv.HostJSON(b, "db1", true) },
	} {
		var buf bytes.Buffer
		if err := run(&buf); err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "ansible", name))
		if err != nil {
			t.Fatal(err)
		}
		if buf.String() != string(want) {
			t.Errorf("%s differs from ansible-inventory:\n--- got\n%s\n--- ansible\n%s", name, buf.String(), want)
		}
	}
}

// A run (play, exec) decrypts every value at load.
func TestVaultValuesAreDecryptedForARun(t *testing.T) {
	k := vault.NewKeyring(vaultDefault, vaultProd)
	inv, err := LoadContext(vault.NewContext(context.Background(), k), []string{"testdata/vault/hosts.yml"})
	if err != nil {
		t.Fatal(err)
	}
	v := inv.HostVars("db1")
	for key, want := range map[string]string{"db_password": "S3cr3t-db-pw", "app_key": "plain-named-value", "backup_key": "FromEncryptedGroupVars"} {
		if v[key] != want {
			t.Errorf("%s = %#v, want %q", key, v[key], want)
		}
	}
	revealed := strings.Join(k.Revealed(), "|")
	for _, want := range []string{"S3cr3t-db-pw", "plain-named-value", "FromEncryptedGroupVars", "time.example.com"} {
		if !strings.Contains(revealed, want) {
			t.Errorf("%q not remembered for masking (%q)", want, revealed)
		}
	}
}

func TestVaultValuesWithoutAPasswordStopARun(t *testing.T) {
	dir := t.TempDir()
	hosts, err := os.ReadFile("testdata/vault/hosts.yml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "hosts.yml")
	if err := os.WriteFile(p, hosts, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadContext(vault.NewContext(context.Background(), vault.NewKeyring()), []string{p})
	want := "vault-encrypted value at " + p + ":5:20: give --vault-password-file or --ask-vault-pass"
	var ve *vault.Error
	if err == nil || !strings.HasSuffix(err.Error(), want) || !errors.As(err, &ve) {
		t.Fatalf("got %v, want %q", err, want)
	}
	_, err = LoadContext(vault.NewContext(context.Background(), vault.NewKeyring(vault.Secret{ID: "x", Password: []byte("bad")})), []string{p})
	if err == nil || !strings.Contains(err.Error(), p+":5:20: cannot decrypt vault data with vault id x: wrong password") {
		t.Fatalf("wrong password: got %v", err)
	}
}

func TestVaultValueCannotBeAKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hosts.yml")
	if err := os.WriteFile(p, []byte("all:\n  vars:\n    ? !vault x\n    : y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{p}); err == nil || !strings.Contains(err.Error(), "an ansible-vault value cannot be a mapping key") {
		t.Fatalf("got %v", err)
	}
}
