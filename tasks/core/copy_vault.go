package core

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/sshplay/sshplay/internal/vault"
	"github.com/sshplay/sshplay/tasks"
)

// decryptSource is copy's `decrypt` (default yes, as in Ansible): a src
// file encrypted whole with ansible-vault is copied as its plaintext,
// decrypted with the keyring the run's context carries, and the plaintext
// becomes a secret masked in the run's output (diffs included). With
// decrypt=no, or for a file that is not vault data, data is returned as it
// is.
func decryptSource(ctx context.Context, decrypt bool, file string, data []byte) ([]byte, error) {
	if !decrypt || !vault.IsEncrypted(data) {
		return data, nil
	}
	k := vault.FromContext(ctx)
	plain, err := k.DecryptFile(file, data)
	if err != nil {
		return nil, err
	}
	k.RememberText(string(plain))
	return plain, nil
}

// renderTemplateSource reads the template module's src (found at local on
// the control machine) and renders it. A src encrypted whole with
// ansible-vault is decrypted first, as Ansible's template action does;
// both its plaintext and the rendered text are then secrets, masked in
// the run's output and diffs. Errors are the task's failure.
func renderTemplateSource(ctx context.Context, env *tasks.Env, local, src string) (string, fs.FileMode, error) {
	text, mode, err := readLocal(ctx, env, local)
	if err != nil {
		return "", 0, &tasks.Failed{Msg: err.Error()}
	}
	secret := vault.IsEncrypted(text)
	if text, err = decryptSource(ctx, true, local, text); err != nil {
		return "", 0, &tasks.Failed{Msg: err.Error()}
	}
	out, err := env.Render(string(text))
	if err != nil {
		return "", 0, &tasks.Failed{Msg: fmt.Sprintf("template %s: %v", src, err)}
	}
	if secret {
		vault.FromContext(ctx).RememberText(out)
	}
	return out, mode, nil
}
