package template

// The file and unvault lookups: both read a control-machine file and, as
// Ansible's loader does, decrypt it when it was encrypted whole with
// ansible-vault; file strips trailing newlines, unvault returns the text
// as it is.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/sshplay/sshplay/internal/vault"
)

// NewWithVault is New with the run's vault keyring, which decrypts the
// files lookups read; nil makes vault data an error asking for a
// password.
func NewWithVault(k *vault.Keyring) *Engine {
	e := New()
	e.vault = k
	return e
}

// lookupFileText returns the text of the lookup's file: decrypted when it
// is vault data (its plaintext is then a secret, masked in output), an
// error naming the file and the vault ids tried when that fails. A
// relative name is looked for as Ansible does (the role's files/, the
// playbook's files/ and folder) and then as given.
func lookupFileText(ev *exec.Evaluator, kind, term string) (string, error) {
	s := lookupScope(ev)
	var k *vault.Keyring
	if s != nil {
		k = s.e.vault
	}
	for _, p := range lookupPaths(s, term) {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if !vault.IsEncrypted(b) {
			return string(b), nil
		}
		plain, err := k.DecryptFile(p, b)
		k.RememberText(string(plain))
		if err != nil {
			return "", &lookupError{fmt.Sprintf("lookup %s: %v", kind, err)}
		}
		return string(plain), nil
	}
	if kind == "unvault" {
		return "", &lookupError{fmt.Sprintf("lookup unvault: unable to find %q in expected paths", term)}
	}
	_, err := os.ReadFile(term)
	return "", &lookupError{fmt.Sprintf("lookup file %s: %v", term, err)}
}

// lookupFile is lookup('file'): the text without its trailing newlines.
func lookupFile(ev *exec.Evaluator, term string) (string, error) {
	text, err := lookupFileText(ev, "file", term)
	return strings.TrimRight(text, "\n"), err
}

// lookupScope is the Scope the lookup's template is rendered with, or nil.
func lookupScope(ev *exec.Evaluator) *Scope {
	v, _ := ev.Environment.Context.Get(scopeKey)
	s, _ := v.(*Scope)
	return s
}

// lookupPaths are the places a relative lookup file name is looked for:
// role_path/files, playbook_dir/files, playbook_dir (when known), then the
// name as given (the working folder).
func lookupPaths(s *Scope, term string) []string {
	if filepath.IsAbs(term) || s == nil {
		return []string{term}
	}
	var out []string
	for _, v := range []struct{ name, sub string }{{"role_path", "files"}, {"playbook_dir", "files"}, {"playbook_dir", ""}} {
		if d, ok := s.Raw(v.name); ok {
			if dir, ok := d.(string); ok && dir != "" {
				out = append(out, filepath.Join(dir, v.sub, term))
			}
		}
	}
	return append(out, term)
}
