package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestTaskTimeoutAndRetriesLikeOtherFlags: --task-timeout and --retries
// come from sshplay.yaml, SSHPLAY_TASK_TIMEOUT / SSHPLAY_RETRIES and the
// command line like every shared flag, reach the engine and the pool, and
// a negative value is bad input.
func TestTaskTimeoutAndRetriesLikeOtherFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	if err := os.WriteFile("sshplay.yaml", []byte("task-timeout: 30\nretries: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(args ...string) (*globals, error) {
		g := newGlobals(os.Stdout, os.Stderr)
		cmd := &cobra.Command{Use: "x"}
		addAllGlobalFlags(g, cmd.Flags())
		if err := cmd.Flags().Parse(args); err != nil {
			t.Fatal(err)
		}
		return g, g.load(cmd)
	}
	g, err := load()
	if err != nil || g.TaskTimeout != 30 || g.Retries != 2 {
		t.Fatalf("from file: task-timeout=%d retries=%d err=%v", g.TaskTimeout, g.Retries, err)
	}
	t.Setenv("SSHPLAY_TASK_TIMEOUT", "45")
	t.Setenv("SSHPLAY_RETRIES", "3")
	if g, _ = load(); g.TaskTimeout != 45 || g.Retries != 3 {
		t.Errorf("env should beat file: task-timeout=%d retries=%d", g.TaskTimeout, g.Retries)
	}
	g, _ = load("--task-timeout", "5", "--retries", "1")
	if g.TaskTimeout != 5 || g.Retries != 1 {
		t.Errorf("flags should win: task-timeout=%d retries=%d", g.TaskTimeout, g.Retries)
	}
	if po := g.poolOptions(); po.Overrides.Retries != 1 || po.RetryLog != nil {
		t.Errorf("pool: retries %d, retry log %v at -v0", po.Overrides.Retries, po.RetryLog)
	}
	eo, closePool := engineOptions(g, nil, "text")
	closePool()
	if eo.TaskTimeout != 5*time.Second {
		t.Errorf("engine task timeout %s, want 5s", eo.TaskTimeout)
	}
	for _, bad := range [][]string{{"--task-timeout", "-1"}, {"--retries", "-2"}} {
		if _, err := load(bad...); err == nil || exitCode(t.Context(), err) != exitUsage {
			t.Errorf("%v: err=%v, want a usage error", bad, err)
		}
	}
}
