package transport

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sshplay/sshplay/internal/testenv"
)

// sshKeygenFinds reports whether OpenSSH's own `ssh-keygen -F host -f
// file` finds host in file (hashed or not).
func sshKeygenFinds(t *testing.T, file, host string) bool {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		testenv.SkipOrFail(t, "ssh-keygen not installed: %v", err)
	}
	out, err := exec.Command("ssh-keygen", "-F", host, "-f", file).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return false
	}
	if err != nil {
		t.Fatalf("ssh-keygen -F %s -f %s: %v: %s", host, file, err, out)
	}
	return strings.Contains(string(out), "found: line")
}

// knownLines is file's non-empty lines.
func knownLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestAcceptNewHashesTheHostWhenSSHConfigSaysSo(t *testing.T) {
	f := newFixture(t, serverOpts{})
	dir := t.TempDir()
	known := filepath.Join(dir, "ssh", "known_hosts") // directory made by the append
	config := filepath.Join(dir, "ssh_config")
	os.WriteFile(config, []byte("Host *\n  HashKnownHosts yes\n  IdentitiesOnly yes\n  UserKnownHostsFile "+known+"\n"), 0o600)
	host, port, _ := net.SplitHostPort(f.srv.addr)
	vars := map[string]any{"ansible_host": host, "ansible_port": port, "ansible_user": "sshplay", "ansible_ssh_private_key_file": f.key}
	tg, warns, err := TargetFromVars("db3", vars, Overrides{SSHConfigFile: config, HostKeyChecking: HostKeyAcceptNew})
	if err != nil || len(warns) > 0 || !tg.HashKnownHosts {
		t.Fatalf("target: %v %q, HashKnownHosts %v", err, warns, tg.HashKnownHosts)
	}
	tg.KnownHostsFiles, tg.AgentSocket = tg.KnownHostsFiles[:1], "/nonexistent"
	dialT(t, tg)

	lines := knownLines(t, known)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "|1|") || strings.Contains(lines[0], host) {
		t.Fatalf("known_hosts = %q, want one hashed line", lines)
	}
	if !sshKeygenFinds(t, known, "["+host+"]:"+port) || sshKeygenFinds(t, known, host) {
		t.Errorf("ssh-keygen -F does not find [%s]:%s (and only it) in %q", host, port, lines)
	}
	for path, want := range map[string]os.FileMode{known: 0o600, filepath.Dir(known): 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", path, st.Mode().Perm(), want, err)
		}
	}
	// The hashed entry verifies a second connection, and is not added to.
	tg.HostKeyChecking = HostKeyStrict
	dialT(t, tg)
	tg.HostKeyChecking = HostKeyAcceptNew
	dialT(t, tg)
	if again := knownLines(t, known); len(again) != 1 {
		t.Errorf("known_hosts after more dials = %q", again)
	}
}

func TestHashKnownHostsReadFromSSHOptionsAndConfig(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "ssh_config")
	os.WriteFile(config, []byte("Host hashed*\n  HashKnownHosts yes\nHost *\n  HashKnownHosts no\n"), 0o600)
	for _, c := range []struct {
		name, args string
		want       bool
	}{
		{"hashed1", "", true},
		{"plain1", "", false},
		{"plain1", "-o HashKnownHosts=yes", true},
		{"hashed1", "-o HashKnownHosts=no", false},
	} {
		vars := map[string]any{"ansible_ssh_common_args": c.args}
		tg, warns, err := TargetFromVars(c.name, vars, Overrides{SSHConfigFile: config})
		if err != nil || len(warns) > 0 || tg.HashKnownHosts != c.want {
			t.Errorf("%s %q: HashKnownHosts %v, want %v (%v %q)", c.name, c.args, tg.HashKnownHosts, c.want, err, warns)
		}
	}
	_, _, err := TargetFromVars("x", map[string]any{"ansible_ssh_common_args": "-o HashKnownHosts=maybe"}, Overrides{SSHConfigFile: "none"})
	if err == nil || !strings.Contains(err.Error(), "HashKnownHosts") {
		t.Errorf("a HashKnownHosts that is no boolean: %v", err)
	}
}

func TestKnownHostsLineFormsAsOpenSSHWritesThem(t *testing.T) {
	key := probeKey
	for _, c := range []struct {
		addr, host string // host: the pattern ssh-keygen -F looks up
		hash       bool
		plain      string // the line's host field when not hashed
	}{
		{"db.example:22", "db.example", false, "db.example"},
		{"db.example:2222", "[db.example]:2222", false, "[db.example]:2222"},
		{"db.example:22", "db.example", true, ""},
		{"10.0.0.5:2222", "[10.0.0.5]:2222", true, ""},
	} {
		file := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(file, []byte("# no newline at the end"), 0o644)
		if err := appendKnownHost(file, c.addr, key, c.hash); err != nil {
			t.Fatal(err)
		}
		lines := knownLines(t, file)
		if len(lines) != 2 {
			t.Fatalf("%s: lines %q", c.addr, lines)
		}
		field, _, _ := strings.Cut(lines[1], " ")
		if c.hash && !strings.HasPrefix(field, "|1|") || !c.hash && field != c.plain {
			t.Errorf("%s hash=%v: host field %q", c.addr, c.hash, field)
		}
		if !sshKeygenFinds(t, file, c.host) {
			t.Errorf("%s hash=%v: ssh-keygen -F %s does not find it in %q", c.addr, c.hash, c.host, lines)
		}
		if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
			t.Errorf("an existing file's mode changed to %v", st.Mode().Perm())
		}
	}
}

func TestHostsAcceptedInParallelNeverInterleave(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	keys := make([]ssh.PublicKey, 40)
	for i := range keys {
		_, pub := writeKey(t, t.TempDir(), "id", "")
		keys[i] = pub
	}
	var wg sync.WaitGroup
	for round := range 2 { // every host twice: recorded once
		for i, k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := appendKnownHost(file, fmt.Sprintf("host%d.example:%d", i, 22+i%2), k, (i+round)%2 == 0); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if lines := knownLines(t, file); len(lines) != len(keys) {
		t.Fatalf("%d lines for %d hosts:\n%s", len(lines), len(keys), strings.Join(lines, "\n"))
	}
	check, err := knownhosts.New(file)
	if err != nil {
		t.Fatalf("known_hosts does not parse: %v", err)
	}
	for i, k := range keys {
		if err := check(fmt.Sprintf("host%d.example:%d", i, 22+i%2), dummyRemote, k); err != nil {
			t.Errorf("host%d: %v", i, err)
		}
	}
}
