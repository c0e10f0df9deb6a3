package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/tasks/tasktest"
)

// testEnv builds an Env over a fake host; the control machine is another
// fake whose files/ and templates/ are found under /play.
func testEnv(host, local *tasktest.Conn) *tasks.Env {
	return &tasks.Env{
		Host:  host.Host(),
		Conn:  host,
		Local: local,
		Vars:  map[string]any{"pg_port": 5432, "nested": map[string]any{"list": []any{"a", map[string]any{"k": "v"}}}},
		Render: func(text string) (string, error) {
			return strings.ReplaceAll(text, "{{ pg_port }}", "5432"), nil
		},
		FindFile: func(kind, name string) (string, error) {
			p := filepath.Join("/play", kind, name)
			if local.Node(p) == nil {
				return "", fmt.Errorf("%s not found in /play/%s: %w", name, kind, os.ErrNotExist)
			}
			return p, nil
		},
	}
}

func newHosts() (*tasktest.Conn, *tasktest.Conn) {
	host := tasktest.New("db1", "sshplay")
	host.AddDir("/home/sshplay", 0o755)
	local := tasktest.New("localhost", "me")
	return host, local
}

func modByName(t *testing.T, name string) tasks.Module {
	t.Helper()
	r := tasks.NewRegistry()
	Register(r)
	m, ok := r.Lookup(name)
	if !ok {
		t.Fatalf("no module %s", name)
	}
	return m
}

// planOnly plans through the read-only view, as Execute does.
func planOnly(t *testing.T, env *tasks.Env, mod string, args map[string]any) (*tasks.Change, error) {
	t.Helper()
	pe := *env
	pe.Conn = overlay.View(env.Conn, nil)
	return modByName(t, mod).Plan(context.Background(), &pe, args)
}
