package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/vault"
)

// vaultInv is an inventory with inline `!vault` values and a group_vars
// file encrypted whole (recorded against ansible-inventory in inventory/).
const vaultInv = "../../inventory/testdata/vault/"

// vaultPlaybook writes site.yml with a `!vault` var encrypted with
// password, and a password file holding it; it returns their paths.
func vaultPlaybook(t *testing.T, password string) (site, pwFile string) {
	t.Helper()
	dir := t.TempDir()
	data, err := vault.Encrypt([]byte("InlineSecret"), []byte(password), "")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(strings.TrimSuffix(string(data), "\n"), "\n", "\n      ")
	site = filepath.Join(dir, "site.yml")
	src := "- hosts: all\n  vars:\n    greeting: !vault |\n      " + body + "\n  tasks:\n    - debug: msg={{ greeting }}\n"
	pwFile = filepath.Join(dir, "pw.txt")
	for p, b := range map[string]string{site: src, pwFile: "  " + password + "\n"} {
		if err := os.WriteFile(p, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return site, pwFile
}

// writeScript writes an executable password script.
func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVaultFlagsDecryptOrExitFive(t *testing.T) {
	site, pw := vaultPlaybook(t, "s3cret-pw")
	wrong := filepath.Join(t.TempDir(), "wrong.txt")
	if err := os.WriteFile(wrong, []byte("not-it\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		want    string // in stdout+stderr
		mustNot string
	}{
		{"no password", nil, 5, "vault-encrypted value at " + site + ":3:15: give --vault-password-file or --ask-vault-pass", ""},
		{"password file", []string{"--vault-password-file", pw}, 0, "playbook: " + site, ""},
		{"vault id with a file", []string{"--vault-id", "dev@" + pw}, 0, "playbook: " + site, ""},
		{"wrong password", []string{"--vault-id", "dev@" + wrong}, 5, site + ":3:15: cannot decrypt vault data with vault id dev: wrong password", "not-it"},
		{"script", []string{"--vault-password-file", writeScript(t, "pw.sh", "echo s3cret-pw")}, 0, "playbook: " + site, ""},
		{"client script gets the vault id", []string{"--vault-id", "dev@" + writeScript(t, "pw-client.sh", `[ "$1 $2" = "--vault-id dev" ] && echo s3cret-pw`)}, 0, "playbook: " + site, ""},
		{"failing script", []string{"--vault-password-file", writeScript(t, "bad.sh", "exit 3")}, 5, "returned non-zero (3)", ""},
		{"missing file", []string{"--vault-password-file", "/nonexistent/pw"}, 5, "vault password file /nonexistent/pw: no such file or directory", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"play", site, "--syntax-check"}, tt.args...)...)
			all := out + errOut
			if code != tt.code || !strings.Contains(all, tt.want) {
				t.Fatalf("exit %d, want %d and %q in:\n%s", code, tt.code, tt.want, all)
			}
			if tt.mustNot != "" && strings.Contains(all, tt.mustNot) {
				t.Errorf("output gives the password away:\n%s", all)
			}
		})
	}
}

func TestVaultPasswordFileFromTheEnvironment(t *testing.T) {
	site, pw := vaultPlaybook(t, "env-pw")
	t.Setenv("ANSIBLE_VAULT_PASSWORD_FILE", pw)
	if code, out, errOut := runCLI(t, "play", site, "--syntax-check"); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
}

// Prompts need a terminal: with standard input a file, the run is
// refused (exit 5) instead of waiting for an answer.
func TestVaultPromptsRefuseWithoutATerminal(t *testing.T) {
	site, _ := vaultPlaybook(t, "pw")
	notTTY, err := os.Open(site)
	if err != nil {
		t.Fatal(err)
	}
	defer notTTY.Close()
	for flags, want := range map[string]string{
		"--ask-vault-pass":    "--ask-vault-pass: standard input is not a terminal to ask on",
		"-J":                  "--ask-vault-pass: standard input is not a terminal to ask on",
		"--vault-id=x@prompt": "--vault-id x@prompt: standard input is not a terminal to ask on",
	} {
		var out, errb bytes.Buffer
		g := newGlobals(&out, &errb)
		g.Stdin = notTTY
		root := newRootCommand(g)
		root.SetArgs([]string{"play", site, "--syntax-check", flags})
		root.SetOut(&out)
		root.SetErr(&errb)
		err := root.ExecuteContext(context.Background())
		if code := exitCode(context.Background(), err); code != 5 || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: exit %d, %v; want 5 and %q", flags, code, err, want)
		}
	}
}

func TestInventoryListKeepsInlineVaultValuesEncrypted(t *testing.T) {
	code, out, errOut := runCLI(t, "inventory", "-i", vaultInv+"hosts.yml", "--list", "--show-secrets",
		"--vault-password-file", vaultInv+"password.txt", "--vault-id", "prod@"+vaultInv+"prod-password.txt")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{`"__ansible_vault": "$ANSIBLE_VAULT;1.2;AES256;prod\n`, `"backup_key": "FromEncryptedGroupVars"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "S3cr3t-db-pw") {
		t.Errorf("inline value decrypted:\n%s", out)
	}
	code, _, errOut = runCLI(t, "inventory", "-i", vaultInv+"hosts.yml", "--list")
	if code != 5 || !strings.Contains(errOut, "group_vars/all.yml: give --vault-password-file or --ask-vault-pass") {
		t.Errorf("without a password: exit %d:\n%s", code, errOut)
	}
}

func TestPlayWithVaultInventoryNeedsItsPasswords(t *testing.T) {
	site, _ := vaultPlaybook(t, "pw")
	args := []string{"play", site, "-i", vaultInv + "hosts.yml", "--list-hosts", "--vault-id", "pw@" + writeScript(t, "pw.sh", "echo pw")}
	code, _, errOut := runCLI(t, args...)
	if code != 5 || !strings.Contains(errOut, "hosts.yml:5:20: cannot decrypt vault data with vault id pw: wrong password") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	args = append(args, "--vault-password-file", vaultInv+"password.txt", "--vault-id", "prod@"+vaultInv+"prod-password.txt")
	if code, out, errOut := runCLI(t, args...); code != 0 || !strings.Contains(out, "db1") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
}
