// Package vault reads and writes Ansible Vault data (format 1.1 and 1.2,
// AES256): the `!vault` values of playbooks, vars files and inventories,
// and whole encrypted files, so the secrets people already keep with
// ansible-vault work unchanged.
//
// A Keyring holds the run's vault passwords (from --vault-password-file,
// --ask-vault-pass, --vault-id) and remembers every plaintext it revealed,
// so the engine can mask each of them in its output whatever the name of
// the variable that holds it. The keyring travels in the context
// (NewContext, FromContext) because every YAML decode and file read that
// may meet vault data already takes the run's context, and a value that
// cannot be decrypted must stop the load right where it is met.
//
// vault never uses ciphertext as text: data it cannot decrypt (no password,
// a wrong password, a damaged envelope) is an *Error naming where the data
// was and which vault ids were tried, never a password. It never reads
// password files or prompts either: cmd/sshplay does, and hands it Secrets.
package vault
