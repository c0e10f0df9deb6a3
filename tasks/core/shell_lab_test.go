package core_test

import (
	"context"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// TestLabShellTextNeverInTheProcessList: a shell task's text (with the
// secret a template put there) reaches the host on stdin, so no process
// on the host shows it in its argv, whoever runs it; stdin, chdir and
// executable still work.
func TestLabShellTextNeverInTheProcessList(t *testing.T) {
	_, h, conn, _ := labHost(t)
	ctx := context.Background()
	mod, _ := coreModules().Lookup("shell")
	const secret = "TOPSECRET-7f3a9"
	var seen atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			// The lab host shares this machine's process table.
			out, _ := exec.Command("ps", "-eo", "args").Output()
			if strings.Contains(string(out), secret) {
				seen.Add(1)
			}
		}
	}()
	cases := []struct {
		name string
		as   string
		args map[string]any
		want string
	}{
		{"login user", "", map[string]any{"_raw_params": "P=" + secret + "; sleep 1.5; echo ${#P}"}, "15"},
		{"become root, stdin and chdir", "root", map[string]any{"_raw_params": "P=" + secret + "; sleep 1.5; pwd; cat", "chdir": "/tmp", "stdin": "from stdin"}, "/tmp\nfrom stdin"},
		{"become postgres, bash", "postgres", map[string]any{"_raw_params": "P=" + secret + "; sleep 1.5; [ -n \"$BASH_VERSION\" ] && echo bash", "executable": "/bin/bash"}, "bash"},
	}
	for _, c := range cases {
		cn := conn
		if c.as != "" {
			cn = conn.Become(transport.Become{Enabled: true, User: c.as})
		}
		env := &tasks.Env{Host: h.Name, Conn: cn, Local: transport.Local(), Vars: map[string]any{}, Render: func(s string) (string, error) { return s, nil }}
		out := tasks.Execute(ctx, mod, env, c.args, tasks.ExecOptions{})
		if out.Status != tasks.StatusChanged || out.Result["stdout"] != c.want {
			t.Errorf("%s: status %v stdout %q, want %q (%v)", c.name, out.Status, out.Result["stdout"], c.want, out.Result["stderr"])
		}
	}
	close(stop)
	<-done
	if seen.Load() > 0 {
		t.Errorf("the secret showed in the process list %d times", seen.Load())
	}
}
