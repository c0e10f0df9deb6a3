package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/playbooks"
)

// localFleet writes an inventory of n hosts run on this machine
// (ansible_connection=local) in group web, and a playbook whose second task
// fails on h03; it returns the inventory and the playbook.
func localFleet(t *testing.T, n int, extra string) (inv, site string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("[web]\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "h%02d ansible_connection=local\n", i)
	}
	b.WriteString(extra)
	inv, site = filepath.Join(dir, "inventory.ini"), filepath.Join(dir, "site.yml")
	writeTree(t, dir, map[string]string{
		"inventory.ini": b.String(),
		"site.yml": `- hosts: web
  gather_facts: false
  tasks:
    - name: say
      command: echo hi
    - name: fail one
      command: "false"
      when: inventory_hostname == 'h03'
`,
	})
	return inv, site
}

// shardDocs runs args N times with --shard K/N --output json and saves each
// document under dir, returning the files.
func shardDocs(t *testing.T, n int, args ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for k := 1; k <= n; k++ {
		_, out, stderr := runCLI(t, append(args, "--shard", fmt.Sprintf("%d/%d", k, n), "--output", "json")...)
		f := filepath.Join(dir, fmt.Sprintf("shard-%d.json", k))
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("shard %d/%d: not JSON: %q %s", k, n, out, stderr)
		}
		files = append(files, f)
	}
	return files
}

// recapLines are the host lines of a PLAY RECAP.
func recapLines(out string) []string {
	var lines []string
	_, recap, _ := strings.Cut(out, "PLAY RECAP")
	for _, l := range strings.Split(recap, "\n") {
		if strings.Contains(l, " : ok=") {
			lines = append(lines, strings.TrimRight(l, " "))
		}
	}
	return lines
}

// TestReportMergeOfShardsIsTheWholeRun: the shards of a play, merged, give
// the PLAY RECAP and the exit code of the same play run on every host at
// once; the merged JSON document holds every host once.
func TestReportMergeOfShardsIsTheWholeRun(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	inv, site := localFleet(t, 11, "")
	wholeCode, whole, _ := runCLI(t, "play", site, "-i", inv)
	files := shardDocs(t, 3, "play", site, "-i", inv)

	code, out, stderr := runCLI(t, append([]string{"report", "merge"}, files...)...)
	if code != wholeCode || code != exitHostFailed {
		t.Errorf("merge exit %d, whole run %d, want %d: %s", code, wholeCode, exitHostFailed, stderr)
	}
	if got, want := recapLines(out), recapLines(whole); strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) != 11 {
		t.Errorf("merged recap:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	code, out, _ = runCLI(t, append([]string{"report", "merge", "--output", "json"}, files...)...)
	var doc struct {
		Schema string `json:"schema"`
		playbooks.JSONDoc
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitHostFailed {
		t.Fatalf("merged JSON: exit %d, %v\n%s", code, err, out)
	}
	if doc.Schema != runSchema || len(doc.Stats) != 11 || len(doc.Plays) != 1 {
		t.Fatalf("merged document: schema %q, %d hosts, %d plays", doc.Schema, len(doc.Stats), len(doc.Plays))
	}
	hosts := append([]string(nil), doc.Plays[0].Hosts...)
	sort.Strings(hosts)
	if len(hosts) != 11 || hosts[0] != "h01" || hosts[10] != "h11" {
		t.Errorf("merged play hosts %v", hosts)
	}
	if say := doc.Plays[0].Tasks[0]; say.Name != "say" || len(say.Hosts) != 11 {
		t.Errorf("merged task %q has %d hosts, want say on 11", say.Name, len(say.Hosts))
	}
}

// TestReportMergeExitCodes: the merged outcome maps as one run's: 0 all
// fine, 2 a host failed (even with others unreachable), 4 only
// unreachable; the merged exec documents read from stdin with -.
func TestReportMergeExitCodes(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	inv, site := localFleet(t, 4, "down ansible_host=127.0.0.1 ansible_port="+port+"\n")
	for _, c := range []struct {
		name  string
		args  []string
		limit string
		want  int
	}{
		{"ok", []string{"exec", "web"}, "h01,h02,h04", exitOK},
		{"failed and unreachable", []string{"play", site}, "all", exitHostFailed},
		{"unreachable", []string{"exec", "web"}, "h01,h02,down", exitUnreachable},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string(nil), c.args...), "-i", inv, "-l", c.limit)
			if c.args[0] == "exec" {
				args = append(args, "--", "true")
			}
			// exec takes its command last: put --shard/--output before it.
			files := shardDocsBefore(t, 2, args)
			code, out, stderr := runCLI(t, append([]string{"report", "merge"}, files...)...)
			if code != c.want {
				t.Errorf("exit %d, want %d: %s\n%s", code, c.want, stderr, out)
			}
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			code, out, _ = runCLIStdin(t, data, "report", "merge", "-", files[1])
			if code != c.want || len(recapLines(out)) != len(strings.Split(c.limit, ",")) && c.limit != "all" {
				t.Errorf("with stdin: exit %d, want %d\n%s", code, c.want, out)
			}
			// The parts one after the other on stdin, as `kubectl logs` of
			// the pods of a Job gives them.
			second, err := os.ReadFile(files[1])
			if err != nil {
				t.Fatal(err)
			}
			code, both, _ := runCLIStdin(t, append(data, second...), "report", "merge", "-")
			if code != c.want || strings.Join(recapLines(both), "\n") != strings.Join(recapLines(out), "\n") {
				t.Errorf("two documents on stdin: exit %d, want %d\n%s", code, c.want, both)
			}
		})
	}
}

// shardDocsBefore is shardDocs for a command line whose last words (after
// --) must stay last.
func shardDocsBefore(t *testing.T, n int, args []string) []string {
	t.Helper()
	head, tail := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			head, tail = args[:i], args[i:]
		}
	}
	dir := t.TempDir()
	var files []string
	for k := 1; k <= n; k++ {
		line := append(append(append([]string(nil), head...), "--shard", fmt.Sprintf("%d/%d", k, n), "--output", "json"), tail...)
		_, out, stderr := runCLI(t, line...)
		if !json.Valid([]byte(out)) {
			t.Fatalf("%v: not JSON: %q %s", line, out, stderr)
		}
		f := filepath.Join(dir, fmt.Sprintf("part-%d.json", k))
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// TestReportMergeRefusesPartsOfDifferentRuns: play and exec documents,
// check and real runs, a host in two parts, or a file that is no run
// document are bad input (exit 5) naming the files; nothing is printed.
func TestReportMergeRefusesPartsOfDifferentRuns(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	inv, site := localFleet(t, 4, "")
	play := shardDocs(t, 2, "play", site, "-i", inv, "-l", "h01,h02,h04")
	check := shardDocs(t, 2, "play", site, "-i", inv, "-l", "h01,h02,h04", "--check")
	exec := shardDocsBefore(t, 2, []string{"exec", "web", "-i", inv, "-l", "h01,h02,h04", "--", "true"})
	dir := t.TempDir()
	noSchema := filepath.Join(dir, "old-exec.json")
	stripSchema(t, exec[1], noSchema)
	other := filepath.Join(dir, "status.json")
	writeTree(t, dir, map[string]string{"status.json": `{"schema": "sshplay.pg-status/v1", "hosts": []}`, "junk.json": "PLAY RECAP"})
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"play and exec", []string{play[0], exec[1]}, "is sshplay.run/v1 and " + exec[1] + " is sshplay.exec/v1"},
		{"play and exec without schema", []string{play[0], noSchema}, "is sshplay.run/v1 and " + noSchema + " is sshplay.exec/v1"},
		{"check and real", []string{play[0], check[1]}, "is a real run and " + check[1] + " a check run"},
		{"host twice", []string{play[0], play[1], play[0]}, "is in " + play[0] + " and in " + play[0]},
		{"other schema", []string{play[0], other}, `schema "sshplay.pg-status/v1"`},
		{"not JSON", []string{filepath.Join(dir, "junk.json")}, "junk.json: not a JSON document"},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, "nope.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"report", "merge"}, c.files...)...)
			if code != exitUsage || !strings.Contains(stderr, c.want) || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 5 and %q", code, stderr, out, c.want)
			}
		})
	}
	// A document without the schema field (written before it existed) is
	// still read, and merges with its siblings.
	if code, out, stderr := runCLI(t, "report", "merge", exec[0], noSchema); code != exitOK || len(recapLines(out)) != 3 {
		t.Errorf("exec parts, one without schema: exit %d\n%s%s", code, out, stderr)
	}
}

// stripSchema copies the JSON document from to to without its schema field.
func stripSchema(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "schema")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
