package secret

import "testing"

func TestSecretNamesAndPathsToSecrets(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		// contains a secret word, in any case
		{"ansible_password", true},
		{"PGPASSWORD", true},
		{"ansible_become_password", true},
		{"passwd", true},
		{"admin_passwd", true},
		{"ssh_passphrase", true},
		{"vault_secret", true},
		{"client_secret", true},
		{"SecretKey", true},
		{"api_token", true},
		{"TOKEN", true},
		// exactly pass, or the _pass suffix
		{"pass", true},
		{"PASS", true},
		{"ansible_ssh_pass", true},
		{"ansible_become_pass", true},
		{"db_pass", true},
		// pass elsewhere is not secret
		{"compass", false},
		{"passive", false},
		{"pg_passfile", false},
		{"bypass", false},
		{"pass_through", false},
		{"passes", false},
		// a path to a secret is no secret
		{"pg_password_file", false},
		{"PG_PASSWORD_FILE", false},
		{"vault_password_file", false},
		{"ansible_ssh_private_key_file", false},
		{"api_token_path", false},
		{"secrets_dir", false},
		{"client_secret_files", false},
		{"pgpassfile", false},
		{"PGPASSFILE", false},
		// ... but only as a whole suffix
		{"password_filed", true},
		{"secret_directory", true},
		{"token_dirty", true},
		{"pass_file_pass", true},
		{"vault_db_password", true},
		{"pg_password", true},
		{"vault_token", true},
		// ordinary names
		{"pg_host", false},
		{"ansible_user", false},
		{"", false},
	} {
		if got := IsSecretName(c.name); got != c.want {
			t.Errorf("IsSecretName(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}
