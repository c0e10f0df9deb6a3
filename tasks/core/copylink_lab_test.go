package core_test

import (
	"context"
	"testing"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// TestLabCopyOntoASymlink: copy with follow: no replaces a symlink at dest
// with the file, as Ansible does; with follow: yes it writes the link's
// target and the link stays.
func TestLabCopyOntoASymlink(t *testing.T) {
	_, h, conn, _ := labHost(t, "/tmp/sshplay-copy-link")
	ctx := context.Background()
	d := "/tmp/sshplay-copy-link"
	if _, err := conn.Run(ctx, "mkdir -p "+d+" && printf old > "+d+"/target && ln -sfn target "+d+"/link", transport.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	mod, _ := coreModules().Lookup("copy")
	env := &tasks.Env{Host: h.Name, Conn: conn, Local: transport.Local(), Vars: map[string]any{}, Render: func(s string) (string, error) { return s, nil }}
	read := func(p string) string {
		b, err := conn.ReadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	isLink := func(p string) bool {
		_, err := conn.Run(ctx, "test -L "+shellescape.Quote(p), transport.RunOptions{})
		return err == nil
	}
	out := tasks.Execute(ctx, mod, env, map[string]any{"content": "through", "dest": d + "/link", "follow": true}, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged || !isLink(d+"/link") || read(d+"/target") != "through" {
		t.Errorf("follow: yes: status %v, link kept %v, target %q", out.Status, isLink(d+"/link"), read(d+"/target"))
	}
	out = tasks.Execute(ctx, mod, env, map[string]any{"content": "replaced", "dest": d + "/link"}, tasks.ExecOptions{})
	if out.Status != tasks.StatusChanged || isLink(d+"/link") || read(d+"/link") != "replaced" || read(d+"/target") != "through" {
		t.Errorf("follow: no: status %v, still a link %v, link %q, target %q", out.Status, isLink(d+"/link"), read(d+"/link"), read(d+"/target"))
	}
}
