package inventory

import (
	"context"

	"github.com/sshplay/sshplay/internal/vault"
)

// decryptVarsFile returns the plaintext of a group_vars or host_vars file
// encrypted whole with ansible-vault (data itself when it is not), and
// has the keyring remember the file's values: they are secrets, masked in
// a run's output whatever their names.
func decryptVarsFile(ctx context.Context, p string, data []byte) ([]byte, error) {
	if !vault.IsEncrypted(data) {
		return data, nil
	}
	k := vault.FromContext(ctx)
	plain, err := k.DecryptFile(p, data)
	if err != nil {
		return nil, err
	}
	if root, err := readYAML(ctx, p, plain); err == nil && root != nil {
		if v, err := yamlValue(p, root, &valueWalk{ctx: ctx, file: p}); err == nil {
			k.RememberLeaves(v)
		}
	}
	return plain, nil
}
