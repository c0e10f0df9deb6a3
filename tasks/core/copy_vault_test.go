package core

// Sources encrypted whole with ansible-vault: a directory copy decrypts
// each of its files (unless decrypt=no) and the template module decrypts
// its src before rendering, as Ansible's copy and template actions do;
// without a password the task fails naming the file, and the vault text
// is never written.

import (
	"context"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/vault"
	"github.com/sshplay/sshplay/tasks"
)

const vaultTestPW = "hunter2pw"

func vaultText(t *testing.T, plain string) string {
	t.Helper()
	b, err := vault.Encrypt([]byte(plain), []byte(vaultTestPW), "")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func vaultCtx() (context.Context, *vault.Keyring) {
	k := vault.NewKeyring(vault.Secret{ID: vault.DefaultID, Password: []byte(vaultTestPW)})
	return vault.NewContext(context.Background(), k), k
}

func TestCopyDirectoryDecryptsEachVaultFile(t *testing.T) {
	cipher := vaultText(t, "dir secret\n")
	for _, tc := range []struct {
		name    string
		decrypt bool
		want    string
	}{{"decrypt by default", true, "dir secret\n"}, {"decrypt=no copies the vault text", false, cipher}} {
		t.Run(tc.name, func(t *testing.T) {
			h, l := newHosts()
			l.AddFile("/play/files/d/a.txt", cipher, 0o600)
			l.AddFile("/play/files/d/plain.txt", "plain\n", 0o644)
			ctx, k := vaultCtx()
			args := map[string]any{"src": "d/", "dest": "/home/sshplay/app", "decrypt": tc.decrypt}
			out := tasks.Execute(ctx, modByName(t, "copy"), testEnv(h, l), args, tasks.ExecOptions{})
			if out.Status != tasks.StatusChanged {
				t.Fatalf("%v %v %v", out.Status, out.Err, out.Result)
			}
			if got := h.Content("/home/sshplay/app/a.txt"); got != tc.want {
				t.Errorf("a.txt = %q, want %q", got, tc.want)
			}
			if got := h.Content("/home/sshplay/app/plain.txt"); got != "plain\n" {
				t.Errorf("plain.txt = %q", got)
			}
			if masked := strings.Join(k.Revealed(), "|"); tc.decrypt != strings.Contains(masked, "dir secret") {
				t.Errorf("revealed %q", masked)
			}
		})
	}
}

func TestTemplateDecryptsAVaultSourceBeforeRendering(t *testing.T) {
	h, l := newHosts()
	l.AddFile("/play/templates/app.conf.j2", vaultText(t, "port = {{ pg_port }}\n"), 0o600)
	ctx, k := vaultCtx()
	args := map[string]any{"src": "app.conf.j2", "dest": "/home/sshplay/app.conf"}
	out := tasks.Execute(ctx, modByName(t, "template"), testEnv(h, l), args, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged {
		t.Fatalf("%v %v %v", out.Status, out.Err, out.Result)
	}
	if got := h.Content("/home/sshplay/app.conf"); got != "port = 5432\n" {
		t.Errorf("rendered %q", got)
	}
	if masked := k.Revealed(); !strings.Contains(strings.Join(masked, "|"), "port = 5432") {
		t.Errorf("rendered text is not a secret: %q", masked)
	}
}

func TestVaultSourceWithoutPasswordFailsTheTaskNamingTheFile(t *testing.T) {
	for _, mod := range []string{"template", "copy"} {
		t.Run(mod, func(t *testing.T) {
			h, l := newHosts()
			l.AddFile("/play/templates/s.j2", vaultText(t, "x\n"), 0o600)
			l.AddFile("/play/files/d/s.j2", vaultText(t, "x\n"), 0o600)
			src := map[string]string{"template": "s.j2", "copy": "d/"}[mod]
			args := map[string]any{"src": src, "dest": "/home/sshplay/out"}
			out := tasks.Execute(context.Background(), modByName(t, mod), testEnv(h, l), args, tasks.ExecOptions{})
			msg, _ := out.Result["msg"].(string)
			if out.Status != tasks.StatusFailed || !strings.Contains(msg, "vault-encrypted file /play/") ||
				!strings.Contains(msg, "s.j2: give --vault-password-file or --ask-vault-pass") {
				t.Fatalf("%v %q %v", out.Status, msg, out.Err)
			}
			if len(h.Fake().Writes()) != 0 {
				t.Errorf("wrote %v", h.Fake().Writes())
			}
		})
	}
}
