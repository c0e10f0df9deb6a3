package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
)

// TestConfigPrecedence: sshplay.yaml < SSHPLAY_* environment < flags.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	cfg := "forks: 7\nhost-key-checking: accept-new\ninventory: [a.ini, b.ini]\ntimeout: 3\n"
	if err := os.WriteFile("sshplay.yaml", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// A binary named sshplay in the working directory is not a config file.
	if err := os.WriteFile("sshplay", []byte("\x7fELF\x00\x01"), 0o755); err != nil {
		t.Fatal(err)
	}
	load := func(args ...string) *globals {
		t.Helper()
		g := newGlobals(os.Stdout, os.Stderr)
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		addAllGlobalFlags(g, cmd.Flags())
		if err := cmd.Flags().Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := g.load(cmd); err != nil {
			t.Fatalf("load: %v", err)
		}
		return g
	}

	g := load()
	if g.Forks != 7 || g.HostKeyChecking != "accept-new" || !g.HostKeyCheckingSet || g.ConnectTimeout != 3 {
		t.Errorf("from file: forks=%d hkc=%s set=%v timeout=%d", g.Forks, g.HostKeyChecking, g.HostKeyCheckingSet, g.ConnectTimeout)
	}
	if len(g.Inventories) != 2 || g.Inventories[1] != "b.ini" {
		t.Errorf("inventory from file: %v", g.Inventories)
	}

	t.Setenv("SSHPLAY_FORKS", "9")
	if g := load(); g.Forks != 9 {
		t.Errorf("env should beat file: forks=%d", g.Forks)
	}
	if g := load("-f", "11", "-i", "c.ini"); g.Forks != 11 || len(g.Inventories) != 1 || g.Inventories[0] != "c.ini" {
		t.Errorf("flags should win: forks=%d inventories=%v", g.Forks, g.Inventories)
	}

	t.Setenv("SSHPLAY_FORKS", "many")
	g2 := newGlobals(os.Stdout, os.Stderr)
	cmd := &cobra.Command{Use: "x"}
	addAllGlobalFlags(g2, cmd.Flags())
	if err := g2.load(cmd); err == nil || exitCode(t.Context(), err) != exitUsage {
		t.Errorf("bad env value: err=%v, want a usage error", err)
	}
}

func TestNoConfigUsesDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "none"))
	g := newGlobals(os.Stdout, os.Stderr)
	cmd := &cobra.Command{Use: "x"}
	addAllGlobalFlags(g, cmd.Flags())
	if err := g.load(cmd); err != nil {
		t.Fatal(err)
	}
	if g.Forks != 25 || g.HostKeyChecking != "strict" || g.HostKeyCheckingSet {
		t.Errorf("defaults: forks=%d hkc=%s set=%v", g.Forks, g.HostKeyChecking, g.HostKeyCheckingSet)
	}
}
