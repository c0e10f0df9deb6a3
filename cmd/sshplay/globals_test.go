package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sshplay/sshplay/inventory"
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

// TestConfigValueErrorsNameTheirSource: a value a flag cannot take, from
// the environment or sshplay.yaml, is one line naming the variable or the
// file, line and key, saying what is wanted (exit 5), never a raw strconv
// error.
func TestConfigValueErrorsNameTheirSource(t *testing.T) {
	for _, c := range []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"env int", "", map[string]string{"SSHPLAY_FORKS": "abc"}, `SSHPLAY_FORKS: want a whole number, got "abc"`},
		{"env bool", "", map[string]string{"SSHPLAY_BECOME": "maybe"}, `SSHPLAY_BECOME: want true or false, got "maybe"`},
		{"env dashed name", "", map[string]string{"SSHPLAY_TASK_TIMEOUT": "1.5"}, `SSHPLAY_TASK_TIMEOUT: want a whole number, got "1.5"`},
		{"file int", "become: true\nforks: abc\n", nil, `sshplay.yaml:2:8: forks: want a whole number, got "abc"`},
		{"file float", "timeout: 2.5\n", nil, `sshplay.yaml:1:10: timeout: want a whole number, got "2.5"`},
		{"env beats file", "forks: 3\n", map[string]string{"SSHPLAY_FORKS": "x"}, `SSHPLAY_FORKS: want a whole number, got "x"`},
		{"file range", "forks: 0\n", nil, `sshplay.yaml:1:8: forks: must be at least 1, got 0`},
		{"env range", "", map[string]string{"SSHPLAY_RETRIES": "-1"}, `SSHPLAY_RETRIES: must be 0 or more, got -1`},
		{"env shard", "", map[string]string{"SSHPLAY_SHARD": "3/2"}, `SSHPLAY_SHARD: want K/N with 1 ≤ K ≤ N (e.g. 2/4), got "3/2"`},
		{"file shard", "shard: 0/4\n", nil, `sshplay.yaml:1:8: shard: want K/N`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if c.file != "" {
				if err := os.WriteFile("sshplay.yaml", []byte(c.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, _, stderr := runCLI(t, "exec", "all", "-i", "nowhere.ini", "--", "true")
			if code != exitUsage || strings.TrimSpace(stderr) != c.want && !strings.HasPrefix(strings.TrimSpace(stderr), c.want) {
				t.Errorf("exit %d, stderr %q; want exit 5 and %q", code, stderr, c.want)
			}
			if strings.Contains(stderr, "strconv") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("not one readable line: %q", stderr)
			}
		})
	}
}

// TestShardIsPartOfTheLimit: SSHPLAY_SHARD (or --shard) narrows exec's
// hosts after the pattern and -l: over a 37-host fleet the three shards
// run every host once, and a host with bad connection settings is bad
// input (exit 5) only for the shard that holds it, since the checks before
// connecting see the shard's hosts alone.
func TestShardIsPartOfTheLimit(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var b strings.Builder
	b.WriteString("[web]\n")
	for i := 1; i <= 37; i++ {
		fmt.Fprintf(&b, "h%02d ansible_connection=local\n", i)
	}
	b.WriteString("bad ansible_host=127.0.0.1 ansible_port=abc\n")
	inv := filepath.Join(t.TempDir(), "inventory.ini")
	if err := os.WriteFile(inv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	badShard := inventory.ShardOf("bad", 3)
	seen := map[string]int{}
	for k := 1; k <= 3; k++ {
		t.Setenv("SSHPLAY_SHARD", fmt.Sprintf("%d/3", k))
		code, out, stderr := runCLI(t, "exec", "web", "-i", inv, "-l", "!h07", "--output", "json", "--", "true")
		if k == badShard {
			if code != exitUsage || !strings.Contains(stderr, "host bad") {
				t.Errorf("shard %d/3 holds bad: exit %d, stderr %q", k, code, stderr)
			}
			code, out, stderr = runCLI(t, "exec", "web", "-i", inv, "-l", "!h07:!bad", "--output", "json", "--", "true")
		}
		var doc struct {
			Stats map[string]any `json:"stats"`
		}
		if err := json.Unmarshal([]byte(out), &doc); code != exitOK || err != nil {
			t.Fatalf("shard %d/3: exit %d, %v: %s", k, code, err, stderr)
		}
		for h := range doc.Stats {
			seen[h]++
		}
	}
	if len(seen) != 36 || seen["h07"] != 0 {
		t.Errorf("%d hosts run, want the 36 of web but h07: %v", len(seen), seen)
	}
	for h, n := range seen {
		if n != 1 {
			t.Errorf("host %s ran in %d shards", h, n)
		}
	}
}
