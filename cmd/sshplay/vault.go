package main

// Vault passwords: --vault-password-file, --ask-vault-pass and --vault-id,
// resolved as ansible-playbook resolves them, into the keyring a run's
// context carries (internal/vault). play and exec always carry one, empty
// when no password was given, so that vault data then stops the load with
// an error asking for a password instead of being read as text.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/internal/vault"
)

// vaultOptions are the vault flags of play, exec and inventory.
type vaultOptions struct {
	PasswordFiles []string
	AskPass       bool
	IDs           []string
}

// AddFlags registers the vault flags, with Ansible's names and aliases.
func (o *vaultOptions) AddFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.PasswordFiles, "vault-password-file", nil, "vault password file, or executable script printing the password (repeatable)")
	f.StringArrayVar(&o.PasswordFiles, "vault-pass-file", nil, "alias of --vault-password-file")
	f.BoolVarP(&o.AskPass, "ask-vault-pass", "J", false, "ask for the vault password on the terminal")
	f.BoolVar(&o.AskPass, "ask-vault-password", false, "alias of --ask-vault-pass")
	f.StringArrayVar(&o.IDs, "vault-id", nil, "vault identity [label@]source: a password file, a script, or prompt (repeatable)")
	_ = f.MarkHidden("vault-pass-file")
	_ = f.MarkHidden("ask-vault-password")
}

// vaultSource is one password to load: a vault id and where its password
// comes from (a file, a script, or "prompt").
type vaultSource struct {
	id, source string
	ask        bool // --ask-vault-pass: Ansible's older prompt, without the id
}

// sources lists the passwords in Ansible's order: --vault-id, then the
// password files (ansible.cfg's vault_password_file or
// ANSIBLE_VAULT_PASSWORD_FILE last), then --ask-vault-pass.
func (o *vaultOptions) sources(cfgFile string) []vaultSource {
	var out []vaultSource
	for _, slug := range o.IDs {
		id, src, ok := strings.Cut(slug, "@")
		if !ok {
			id, src = vault.DefaultID, slug
		}
		out = append(out, vaultSource{id: id, source: src})
	}
	files := o.PasswordFiles
	if cfgFile != "" {
		files = append(files[:len(files):len(files)], cfgFile)
	}
	for _, f := range files {
		out = append(out, vaultSource{id: vault.DefaultID, source: f})
	}
	if o.AskPass {
		out = append(out, vaultSource{id: vault.DefaultID, source: "prompt", ask: true})
	}
	return out
}

// vaultContext returns ctx carrying the run's keyring, every password
// loaded (prompted for, read, or printed by a script) before anything is
// parsed. A password that cannot be had is a usage error (exit 5).
func (o *vaultOptions) vaultContext(ctx context.Context, g *globals) (context.Context, error) {
	var secrets []vault.Secret
	var term *terminal
	for _, s := range o.sources(g.VaultPasswordFile) {
		var pw []byte
		var err error
		if s.source == "prompt" {
			if term == nil {
				if term, err = openTerminal(g.Stdin, g.Stderr, vaultFlagName(s)); err != nil {
					return nil, err
				}
			}
			pw, err = promptVaultPassword(term, s)
		} else {
			pw, err = readVaultPassword(ctx, s, vault.NewKeyring(secrets...), g.Stderr)
		}
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, vault.Secret{ID: s.id, Password: pw})
	}
	return vault.NewContext(ctx, vault.NewKeyring(secrets...)), nil
}

func vaultFlagName(s vaultSource) string {
	if s.ask {
		return "--ask-vault-pass"
	}
	return "--vault-id " + s.id + "@prompt"
}

// promptVaultPassword asks with Ansible's prompts: "Vault password: " for
// --ask-vault-pass, "Vault password (ID): " for --vault-id ID@prompt.
func promptVaultPassword(t *terminal, s vaultSource) ([]byte, error) {
	prompt := "Vault password: "
	if !s.ask {
		prompt = fmt.Sprintf("Vault password (%s): ", s.id)
	}
	pw, err := t.password(prompt)
	if err != nil {
		return nil, err
	}
	if pw == "" {
		return nil, usageError{fmt.Errorf("%s: empty vault password", vaultFlagName(s))}
	}
	return []byte(pw), nil
}

// readVaultPassword reads a password file (whitespace around it dropped)
// or, when the file is executable, runs it and takes its standard output,
// as Ansible does; a script named *-client gets --vault-id ID. A password
// file may itself be vault data, decrypted with the passwords before it.
func readVaultPassword(ctx context.Context, s vaultSource, before *vault.Keyring, stderr io.Writer) ([]byte, error) {
	st, err := os.Stat(s.source)
	if err != nil {
		return nil, usageError{fmt.Errorf("vault password file %s: %w", s.source, errors.Unwrap(err))}
	}
	what := "file"
	var pw []byte
	if st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		what = "script"
		pw, err = runVaultScript(ctx, s, stderr)
	} else {
		pw, err = os.ReadFile(s.source)
		pw = []byte(strings.TrimSpace(string(pw)))
	}
	if err != nil {
		return nil, err
	}
	if pw, err = before.DecryptFile(s.source, pw); err != nil {
		return nil, err
	}
	pw = []byte(strings.Trim(string(pw), "\r\n"))
	if len(pw) == 0 {
		return nil, usageError{fmt.Errorf("vault password %s %s gave an empty password", what, s.source)}
	}
	return pw, nil
}

// runVaultScript runs a password script; its standard error goes to the
// user's, as in Ansible, so that a script may say what went wrong.
func runVaultScript(ctx context.Context, s vaultSource, stderr io.Writer) ([]byte, error) {
	args := []string{}
	base := filepath.Base(s.source)
	if strings.HasSuffix(strings.TrimSuffix(base, filepath.Ext(base)), "-client") {
		args = append(args, "--vault-id", s.id)
	}
	cmd := exec.CommandContext(ctx, s.source, args...)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return nil, usageError{fmt.Errorf("vault password script %s returned non-zero (%d)", s.source, ee.ExitCode())}
	case err != nil:
		return nil, usageError{fmt.Errorf("vault password script %s: %w", s.source, err)}
	}
	return out, nil
}

// inventoryContext is vaultContext for `sshplay inventory`: the passwords
// open inventory files encrypted whole, while inline `!vault` values stay
// encrypted in the output, as ansible-inventory shows them.
func (o *vaultOptions) inventoryContext(ctx context.Context, g *globals) (context.Context, error) {
	ctx, err := o.vaultContext(ctx, g)
	if err != nil {
		return nil, err
	}
	return vault.KeepInline(ctx), nil
}
