package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
)

// TestShardedFlagshipMergesLikeOneRun runs postgres-tls on three lab
// hosts as two shards with --ca-dir, as two CI runners would, and merges
// their documents: every host is in exactly one part, the merge exits 0
// with a recap of all three, the CA is in --ca-dir (not pki/ beside the
// inventory), and pg status, with the same --ca-dir and shards, proves
// verify-full on every host.
func TestShardedFlagshipMergesLikeOneRun(t *testing.T) {
	l := labtest.New(t, 3)
	inv := l.InventoryINI()
	caDir := filepath.Join(t.TempDir(), "ca")
	files := shardDocs(t, 2, "play", "postgres-tls", "-i", inv, "--ca-dir", caDir)
	seen := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Schema string         `json:"schema"`
			Stats  map[string]any `json:"stats"`
		}
		if err := json.Unmarshal(data, &doc); err != nil || doc.Schema != runSchema {
			t.Fatalf("%s: schema %q, %v\n%s", f, doc.Schema, err, data)
		}
		for h := range doc.Stats {
			seen[h]++
		}
	}
	for _, h := range l.Hosts {
		if seen[h.Name] != 1 {
			t.Errorf("host %s is in %d parts", h.Name, seen[h.Name])
		}
	}
	code, out, stderr := runCLI(t, append([]string{"report", "merge"}, files...)...)
	if code != exitOK || len(recapLines(out)) != len(l.Hosts) {
		t.Fatalf("merge: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(caDir, "root.crt")); err != nil {
		t.Errorf("no CA in --ca-dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(inv), "pki")); err == nil {
		t.Errorf("a CA was made beside the inventory despite --ca-dir")
	}
	for _, shard := range []string{"1/2", "2/2"} {
		code, out, stderr := runCLI(t, "pg", "status", "-i", inv, "--ca-dir", caDir, "--shard", shard)
		if code != exitOK {
			t.Errorf("pg status --shard %s: exit %d\n%s%s", shard, code, out, stderr)
		}
	}
	if code, out, _ := runCLI(t, "pg", "status", "dbservers", "-i", inv, "--ca-dir", caDir, "--output", "json"); code != exitOK || strings.Count(out, `"ok": true`) != len(l.Hosts) {
		t.Errorf("pg status over all hosts: exit %d\n%s", code, out)
	}
}
