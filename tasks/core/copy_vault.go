package core

import (
	"context"

	"github.com/sshplay/sshplay/internal/vault"
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
