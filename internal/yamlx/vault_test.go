package yamlx

import (
	"context"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/vault"
)

// vaultDoc is a document with one `!vault` value of plain, encrypted with
// password.
func vaultDoc(t *testing.T, plain, password string) []byte {
	t.Helper()
	data, err := vault.Encrypt([]byte(plain), []byte(password), "")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(strings.TrimSuffix(string(data), "\n"), "\n", "\n    ")
	return []byte("a: 1\nkey: !vault |\n    " + body + "\n")
}

func TestVaultValueIsItsPlaintextNeverItsCiphertext(t *testing.T) {
	data := vaultDoc(t, "the plaintext", "pw")
	tests := []struct {
		name string
		ctx  context.Context
		want string // the value, or the error
	}{
		{"password given", vault.NewContext(context.Background(), vault.NewKeyring(vault.Secret{ID: "default", Password: []byte("pw")})), "the plaintext"},
		{"no password", context.Background(), "vault-encrypted value at v.yml:2:6: give --vault-password-file or --ask-vault-pass"},
		{"wrong password", vault.NewContext(context.Background(), vault.NewKeyring(vault.Secret{ID: "default", Password: []byte("no")})),
			"v.yml:2:6: cannot decrypt vault data with vault id default: wrong password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.ctx, "v.yml", data)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Value(tt.ctx, "v.yml", doc)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got, _ = v.(map[string]any)["key"].(string)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
