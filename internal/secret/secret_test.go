package secret

import "testing"

func TestIsSecretName(t *testing.T) {
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
