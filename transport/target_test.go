package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSSHArgsSplitAsPythonShlex: ansible_ssh_*_args are split into words
// as Python's shlex.split splits them, which is what Ansible's ssh plugin
// hands to ssh: inside double quotes a backslash escapes only " and \, so
// "\$" keeps its backslash, unlike in a POSIX shell.
func TestSSHArgsSplitAsPythonShlex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args string
		keys []string
	}{
		{`-o "IdentityFile=/k/a\$b"`, []string{`/k/a\$b`}},
		{`-o 'IdentityFile=/a b/k' -i /c\ d/k`, []string{"/a b/k", "/c d/k"}},
		{`-i "/k/\"q\"" -i /k/x''y`, []string{`/k/"q"`, "/k/xy"}},
	} {
		tg, _, err := TargetFromVars("db3", map[string]any{"ansible_ssh_common_args": tc.args}, Overrides{SSHConfigFile: "none"})
		if err != nil || !reflect.DeepEqual(tg.KeyFiles, tc.keys) {
			t.Errorf("%s: keys %q, %v; want %q", tc.args, tg.KeyFiles, err, tc.keys)
		}
	}
}

func TestTargetFromVars(t *testing.T) {
	t.Parallel()
	home := homeDir()
	defKnown := filepath.Join(home, ".ssh", "known_hosts")
	base := Overrides{SSHConfigFile: "none"}
	type want struct {
		addr    string
		port    int
		user    string
		keys    []string
		known   []string
		policy  HostKeyPolicy
		jumps   []string // user@addr:port
		timeout time.Duration
		idOnly  bool
		warns   []string
		err     string
	}
	for _, tc := range []struct {
		name string
		vars map[string]any
		ov   *Overrides
		want want
	}{
		{name: "defaults", vars: map[string]any{},
			want: want{addr: "db3", port: 22, user: localUser(), known: []string{defKnown}, policy: HostKeyStrict, timeout: 10 * time.Second}},
		{name: "ansible vars", vars: map[string]any{"ansible_host": "127.0.0.13", "ansible_port": 2222, "ansible_user": "sshplay",
			"ansible_ssh_private_key_file": "/k/id", "ansible_ssh_timeout": "3"},
			want: want{addr: "127.0.0.13", port: 2222, user: "sshplay", keys: []string{"/k/id"}, known: []string{defKnown}, policy: HostKeyStrict, timeout: 3 * time.Second}},
		{name: "sshplay aliases win", vars: map[string]any{"sshplay_host": "10.0.0.1", "ansible_host": "x", "sshplay_port": "2200", "sshplay_user": "me", "sshplay_private_key_file": "~/k"},
			want: want{addr: "10.0.0.1", port: 2200, user: "me", keys: []string{filepath.Join(home, "k")}, known: []string{defKnown}, policy: HostKeyStrict, timeout: 10 * time.Second}},
		{name: "common args, every form", vars: map[string]any{"ansible_ssh_common_args": `-o UserKnownHostsFile=/lab/known_hosts -o 'StrictHostKeyChecking accept-new' -oIdentitiesOnly=yes -p 2022 -i /a/id1 -l bob -J jump@bastion:2200 -o ConnectTimeout=7`},
			want: want{addr: "db3", port: 2022, user: "bob", keys: []string{"/a/id1"}, known: []string{"/lab/known_hosts", defKnown}, policy: HostKeyAcceptNew,
				jumps: []string{"jump@bastion:2200"}, timeout: 7 * time.Second, idOnly: true}},
		{name: "attached values and two-word -o", vars: map[string]any{"ansible_ssh_extra_args": `-p2023 -Jb1,u2@b2 -o StrictHostKeyChecking no -iid2 -lcarol`},
			want: want{addr: "db3", port: 2023, user: "carol", keys: []string{"id2"}, known: []string{defKnown}, policy: HostKeyOff,
				jumps: []string{"carol@b1:22", "u2@b2:22"}, timeout: 10 * time.Second}},
		{name: "vars beat args, common beats extra", vars: map[string]any{"ansible_port": "22", "ansible_user": "u",
			"ansible_ssh_common_args": "-p 1 -o User=x -o Port=5", "ansible_ssh_extra_args": "-o StrictHostKeyChecking=yes -o StrictHostKeyChecking=no"},
			want: want{addr: "db3", port: 22, user: "u", known: []string{defKnown}, policy: HostKeyStrict, timeout: 10 * time.Second}},
		{name: "ignored options warn once each", vars: map[string]any{"ansible_ssh_common_args": "-o ControlMaster=auto -o ControlPersist=60s -A -C -o ControlMaster=no stray",
			"ansible_ssh_extra_args": "-A -L 8080:localhost:80"},
			want: want{addr: "db3", port: 22, user: localUser(), known: []string{defKnown}, policy: HostKeyStrict, timeout: 10 * time.Second,
				warns: []string{"host db3: ignoring ssh option ControlMaster", "host db3: ignoring ssh option ControlPersist",
					"host db3: ignoring ssh option -A", "host db3: ignoring ssh option -C", "host db3: ignoring ssh option stray", "host db3: ignoring ssh option -L"}}},
		{name: "flags beat inventory", vars: map[string]any{"ansible_user": "inv", "ansible_ssh_private_key_file": "/inv/key",
			"ansible_ssh_common_args": "-o StrictHostKeyChecking=no"},
			ov:   &Overrides{SSHConfigFile: "none", User: "flag", PrivateKey: "/flag/key", HostKeyChecking: HostKeyAcceptNew},
			want: want{addr: "db3", port: 22, user: "flag", keys: []string{"/flag/key"}, known: []string{defKnown}, policy: HostKeyAcceptNew, timeout: 10 * time.Second}},
		{name: "inventory policy only when flag left at default", vars: map[string]any{"ansible_ssh_common_args": "-o StrictHostKeyChecking=no"},
			ov:   &Overrides{SSHConfigFile: "none", Timeout: 4 * time.Second},
			want: want{addr: "db3", port: 22, user: localUser(), known: []string{defKnown}, policy: HostKeyOff, timeout: 4 * time.Second}},
		{name: "bad port", vars: map[string]any{"ansible_port": "ssh"}, want: want{err: `host db3: ansible_port: invalid port "ssh"`}},
		{name: "bad quoting", vars: map[string]any{"ansible_ssh_common_args": "-o 'x"}, want: want{err: "host db3: ansible_ssh_common_args: no closing quotation"}},
		{name: "missing value", vars: map[string]any{"ansible_ssh_extra_args": "-p"}, want: want{err: "host db3: ansible_ssh_extra_args: ssh option -p needs a value"}},
		{name: "bad policy", vars: map[string]any{"ansible_ssh_common_args": "-o StrictHostKeyChecking=maybe"}, want: want{err: `host db3: ssh option StrictHostKeyChecking: invalid host key checking "maybe" (want strict, accept-new or off)`}},
		{name: "bad connection", vars: map[string]any{"ansible_connection": "winrm"}, want: want{err: `host db3: unsupported connection type "winrm" (want ssh or local)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ov := base
			if tc.ov != nil {
				ov = *tc.ov
			}
			got, warns, err := TargetFromVars("db3", tc.vars, ov)
			if tc.want.err != "" {
				var te *TargetError
				if err == nil || err.Error() != tc.want.err || !errors.As(err, &te) || !te.BadInput() {
					t.Fatalf("err = %v, want %q (bad input)", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if got.Name != "db3" || got.Addr != w.addr || got.Port != w.port || got.User != w.user || got.HostKeyChecking != w.policy ||
				got.ConnectTimeout != w.timeout || got.IdentitiesOnly != w.idOnly {
				t.Errorf("target = %+v\nwant %+v", got, w)
			}
			if !reflect.DeepEqual(got.KeyFiles, w.keys) {
				t.Errorf("keys = %q, want %q", got.KeyFiles, w.keys)
			}
			if !reflect.DeepEqual(got.KnownHostsFiles, w.known) {
				t.Errorf("known_hosts = %q, want %q", got.KnownHostsFiles, w.known)
			}
			var jumps []string
			for _, j := range got.ProxyJump {
				jumps = append(jumps, j.User+"@"+j.Address())
			}
			if !reflect.DeepEqual(jumps, w.jumps) {
				t.Errorf("jumps = %q, want %q", jumps, w.jumps)
			}
			if !reflect.DeepEqual(warns, w.warns) {
				t.Errorf("warnings = %q\nwant %q", warns, w.warns)
			}
		})
	}
}

func TestTargetFromSSHConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte(`
Host db*
  HostName 127.0.0.%h
  User cfguser
  Port 2201
  IdentityFile ~/.ssh/id_db
  IdentityFile %d/keys/%r
  IdentitiesOnly yes
  UserKnownHostsFile /etc/lab/known_hosts
  StrictHostKeyChecking accept-new
  ConnectTimeout 5
  ProxyJump hop1

Host hop1
  HostName 127.0.0.50
  User hopper
  Port 2250
  ProxyJump hop0

Host hop0
  HostName 127.0.0.40
`), 0o600)
	home := homeDir()
	tg, warns, err := TargetFromVars("db7", map[string]any{}, Overrides{SSHConfigFile: cfg})
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %q", err, warns)
	}
	if tg.Addr != "127.0.0.db7" || tg.Port != 2201 || tg.User != "cfguser" || !tg.IdentitiesOnly ||
		tg.HostKeyChecking != HostKeyAcceptNew || tg.ConnectTimeout != 5*time.Second {
		t.Errorf("target = %+v", tg)
	}
	wantKeys := []string{filepath.Join(home, ".ssh/id_db"), home + "/keys/cfguser"}
	if !reflect.DeepEqual(tg.KeyFiles, wantKeys) {
		t.Errorf("keys = %q, want %q", tg.KeyFiles, wantKeys)
	}
	if len(tg.ProxyJump) != 2 || tg.ProxyJump[0].Address() != "127.0.0.40:22" || tg.ProxyJump[1].Address() != "127.0.0.50:2250" ||
		tg.ProxyJump[1].User != "hopper" || tg.ProxyJump[0].User != "hopper" {
		t.Errorf("jumps = %+v", tg.ProxyJump)
	}
	if got := tg.ProxyJump[1].KnownHostsFiles; len(got) == 0 || got[0] != "/etc/lab/known_hosts" {
		t.Errorf("jump known_hosts = %q", got)
	}

	// Inventory wins over ssh config; ProxyJump none disables the config's.
	tg, _, err = TargetFromVars("db7", map[string]any{"ansible_host": "127.0.0.9", "ansible_user": "inv", "ansible_port": 22,
		"ansible_ssh_common_args": "-o ProxyJump=none -o StrictHostKeyChecking=yes"}, Overrides{SSHConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Addr != "127.0.0.9" || tg.User != "inv" || tg.Port != 22 || len(tg.ProxyJump) != 0 || tg.HostKeyChecking != HostKeyStrict {
		t.Errorf("target = %+v", tg)
	}
	// -F picks another config file.
	tg, _, err = TargetFromVars("db7", map[string]any{"ansible_ssh_common_args": "-F /nonexistent/cfg"}, Overrides{SSHConfigFile: cfg})
	if err == nil {
		t.Errorf("missing -F file accepted: %+v", tg)
	}
}

func TestBecomeFromVars(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vars map[string]any
		ov   Overrides
		want Become
	}{
		{vars: map[string]any{}, want: Become{}},
		{vars: map[string]any{"ansible_become": true}, want: Become{Enabled: true}},
		{vars: map[string]any{"ansible_become": "yes", "ansible_become_user": "postgres", "ansible_become_pass": "pw"}, want: Become{Enabled: true, User: "postgres", Password: "pw"}},
		{vars: map[string]any{"sshplay_become": "true", "sshplay_become_user": "x", "sshplay_become_password": "p", "ansible_become_user": "y"}, want: Become{Enabled: true, User: "x", Password: "p"}},
		{vars: map[string]any{}, ov: Overrides{Become: true, BecomeUser: "root"}, want: Become{Enabled: true, User: "root"}},
		{vars: map[string]any{"ansible_become": false}, ov: Overrides{Become: true}, want: Become{}},
		// Every spelling of Ansible's boolean(), t and f included.
		{vars: map[string]any{"ansible_become": "t"}, want: Become{Enabled: true}},
		{vars: map[string]any{"ansible_become": "On"}, want: Become{Enabled: true}},
		{vars: map[string]any{"ansible_become": 1}, want: Become{Enabled: true}},
		{vars: map[string]any{"ansible_become": "f"}, ov: Overrides{Become: true}, want: Become{}},
		{vars: map[string]any{"ansible_become": "0"}, ov: Overrides{Become: true}, want: Become{}},
		// Not a boolean: -b stays in force (TargetFromVars refuses it first).
		{vars: map[string]any{"ansible_become": "maybe"}, ov: Overrides{Become: true}, want: Become{Enabled: true}},
	} {
		if got := BecomeFromVars(tc.vars, tc.ov); got != tc.want {
			t.Errorf("BecomeFromVars(%v, %+v) = %+v, want %+v", tc.vars, tc.ov, got, tc.want)
		}
	}
}

// TestBecomeThatIsNotABooleanIsBadInput: an ansible_become that is not
// one of Ansible's booleans is refused as bad input (exit 5) naming the
// host and the variable, by BecomeForHost and by TargetFromVars (so before
// a run connects anywhere), for an SSH host and a local one alike.
func TestBecomeThatIsNotABooleanIsBadInput(t *testing.T) {
	t.Parallel()
	for _, vars := range []map[string]any{
		{"ansible_become": "maybe"},
		{"sshplay_become": "enabled", "ansible_become": true},
		{"ansible_become": "maybe", "ansible_connection": "local"},
		{"ansible_become": 2},
	} {
		var key string
		for _, k := range []string{"sshplay_become", "ansible_become"} {
			if _, ok := vars[k]; ok && key == "" {
				key = k
			}
		}
		want := "host db3: " + key + ": "
		_, err := BecomeForHost("db3", vars, Overrides{Become: true})
		_, _, terr := TargetFromVars("db3", vars, Overrides{SSHConfigFile: "none"})
		for what, err := range map[string]error{"BecomeForHost": err, "TargetFromVars": terr} {
			var te *TargetError
			if !errors.As(err, &te) || !te.BadInput() || te.Host != "db3" || !strings.HasPrefix(err.Error(), want) ||
				!strings.Contains(err.Error(), "is not a valid boolean") {
				t.Errorf("%s(%v): want a *TargetError starting %q, got %v", what, vars, want, err)
			}
		}
	}
}

// TestConnectionBooleansAreAnsibleBooleans: host key checking and
// IdentitiesOnly read every spelling of Ansible's boolean(), and a value
// that is none is bad input naming where it came from, never a silent no.
func TestConnectionBooleansAreAnsibleBooleans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vars   map[string]any
		policy HostKeyPolicy
		idOnly bool
		err    string
	}{
		{vars: map[string]any{"ansible_host_key_checking": false}, policy: HostKeyOff},
		{vars: map[string]any{"ansible_host_key_checking": "f"}, policy: HostKeyOff},
		{vars: map[string]any{"ansible_host_key_checking": "0"}, policy: HostKeyOff},
		{vars: map[string]any{"ansible_host_key_checking": "t"}, policy: HostKeyStrict},
		{vars: map[string]any{"ansible_host_key_checking": "on"}, policy: HostKeyStrict},
		{vars: map[string]any{"ansible_host_key_checking": "accept-new"}, policy: HostKeyAcceptNew},
		{vars: map[string]any{"ansible_host_key_checking": "maybe"},
			err: `host db3: ansible_host_key_checking: invalid host key checking "maybe" (want strict, accept-new or off)`},
		{vars: map[string]any{"ansible_ssh_common_args": "-o IdentitiesOnly=true"}, policy: HostKeyStrict, idOnly: true},
		{vars: map[string]any{"ansible_ssh_common_args": "-o IdentitiesOnly=y"}, policy: HostKeyStrict, idOnly: true},
		{vars: map[string]any{"ansible_ssh_common_args": "-o IdentitiesOnly=no"}, policy: HostKeyStrict},
		{vars: map[string]any{"ansible_ssh_common_args": "-o IdentitiesOnly=sometimes"},
			err: `host db3: ssh option IdentitiesOnly: "sometimes" is not a valid boolean; use true or false`},
	} {
		tg, _, err := TargetFromVars("db3", tc.vars, Overrides{SSHConfigFile: "none"})
		if tc.err != "" {
			var te *TargetError
			if !errors.As(err, &te) || err.Error() != tc.err {
				t.Errorf("%v: err = %v, want %q", tc.vars, err, tc.err)
			}
			continue
		}
		if err != nil || tg.HostKeyChecking != tc.policy || tg.IdentitiesOnly != tc.idOnly {
			t.Errorf("%v: policy %s, IdentitiesOnly %v, %v; want %s, %v", tc.vars, tg.HostKeyChecking, tg.IdentitiesOnly, err, tc.policy, tc.idOnly)
		}
	}
}

func TestPoolDialsOnceAndRemembersFailure(t *testing.T) {
	f := newFixture(t, serverOpts{})
	var warnings bytes.Buffer
	pool := NewPool(PoolOptions{Overrides: Overrides{SSHConfigFile: "none"}, Stderr: &syncWriter{w: &warnings}})
	defer pool.Close()
	vars := map[string]any{
		"ansible_host": f.target.Addr, "ansible_port": f.target.Port, "ansible_user": "sshplay",
		"ansible_ssh_private_key_file": f.key,
		"ansible_ssh_common_args":      "-o UserKnownHostsFile=" + f.known + " -o IdentitiesOnly=yes -o ControlMaster=auto",
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	conns := make([]Conn, 10)
	errs := make([]error, 10)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], errs[i] = pool.Conn(ctx, "db3", vars)
		}()
	}
	wg.Wait()
	for i := range conns {
		if errs[i] != nil || conns[i] != conns[0] {
			t.Fatalf("caller %d: %v (same conn: %v)", i, errs[i], conns[i] == conns[0])
		}
	}
	if n := f.srv.conns.Load(); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}

	bad := map[string]any{"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_ssh_common_args": "-o ControlMaster=auto"}
	failed := pool.DialAll(ctx, []HostVars{{Name: "db3", Vars: vars}, {Name: "down", Vars: bad}}, 2)
	if len(failed) != 1 {
		t.Fatalf("failed = %v", failed)
	}
	var ue *UnreachableError
	if !errors.As(failed["down"], &ue) || !strings.Contains(ue.Error(), "host down: unreachable: connect to 127.0.0.1:1") {
		t.Errorf("down: %v", failed["down"])
	}
	_, err := pool.Conn(ctx, "down", bad)
	var ue2 *UnreachableError
	if !errors.As(err, &ue2) || ue2 != ue {
		t.Errorf("failure not remembered: %v", err)
	}

	w := warnings.String()
	// One warning per ignored option for the whole pool, not one per host.
	if strings.Count(w, "ignoring ssh option ControlMaster") != 1 ||
		!strings.Contains(w, "warning: ignoring ssh option ControlMaster (host db3; not repeated for other hosts)\n") {
		t.Errorf("warnings = %q", w)
	}

	off := map[string]any{"ansible_host": f.target.Addr, "ansible_port": f.target.Port, "ansible_ssh_private_key_file": f.key,
		"ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o IdentitiesOnly=yes"}
	if _, err := pool.Conn(ctx, "db3-off", off); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warnings.String(), "warning: host db3-off: host key checking is off") {
		t.Errorf("no warning for host key checking off: %q", warnings.String())
	}

	local, err := pool.Conn(ctx, "ctl", map[string]any{"ansible_connection": "local"})
	if _, ok := local.(*LocalConn); err != nil || !ok || local.Host() != "ctl" {
		t.Errorf("local connection: %T %v", local, err)
	}

	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := conns[0].Run(ctx, "true", RunOptions{}); err == nil {
		t.Error("conn usable after pool close")
	}
	if _, err := pool.Conn(ctx, "db3", vars); err == nil {
		t.Error("Conn after Close succeeded")
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestProxyCommandRefusesShellMetacharacters: a host or user name that
// would be expanded into a ProxyCommand is refused when the shell would act
// on it, before anything runs: bad input (exit 5) naming the host.
func TestProxyCommandRefusesShellMetacharacters(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "x")
	for _, tc := range []struct {
		name string
		vars map[string]any
		tok  string
	}{
		{"db3", map[string]any{"ansible_host": "127.0.0.1;touch " + marker + ";"}, "%h"},
		{"db3", map[string]any{"ansible_host": "127.0.0.1", "ansible_user": "u$(touch " + marker + ")"}, "%r"},
		{"db3", map[string]any{"ansible_host": "127.0.0.1", "ansible_user": "u `touch " + marker + "`"}, "%r"},
		{"db;touch " + marker, map[string]any{}, "%n"},
		{"db3", map[string]any{"ansible_host": "127.0.0.1|touch " + marker}, "%n"},
		{"db3", map[string]any{"ansible_host": "-oProxyCommand=touch " + marker}, "%h"},
	} {
		vars := map[string]any{"ansible_ssh_common_args": "-o 'ProxyCommand=true " + tc.tok + "'"}
		for k, v := range tc.vars {
			vars[k] = v
		}
		pool := NewPool(PoolOptions{Overrides: Overrides{SSHConfigFile: "none", Timeout: 5 * time.Second}, Stderr: io.Discard})
		_, err := pool.Conn(context.Background(), tc.name, vars)
		pool.Close()
		var te *TargetError
		if !errors.As(err, &te) || !te.BadInput() || te.Host != tc.name ||
			!strings.HasPrefix(err.Error(), "host "+tc.name+": ProxyCommand "+tc.tok+": ") ||
			!strings.Contains(err.Error(), "shell metacharacters") {
			t.Errorf("%s %v: want *TargetError naming the host, got %v", tc.name, tc.vars, err)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s %v: the injected command ran", tc.name, tc.vars)
		}
	}

	// Ordinary names pass, and a name that is not expanded is not checked.
	for _, tc := range []struct {
		name, cmd string
		vars      map[string]any
		want      string
	}{
		{"db3", "nc %h %p %r", map[string]any{"ansible_host": "fe80::1%eth0", "ansible_user": "deploy.user-1@corp"}, "nc fe80::1%eth0 22 deploy.user-1@corp"},
		{"db3", "nc 10.0.0.1 %p", map[string]any{"ansible_user": "odd user"}, "nc 10.0.0.1 22"},
		{"db3", "echo %%h", map[string]any{"ansible_host": "a;b"}, "echo %h"},
	} {
		vars := map[string]any{"ansible_ssh_common_args": "-o 'ProxyCommand=" + tc.cmd + "'"}
		for k, v := range tc.vars {
			vars[k] = v
		}
		tg, _, err := TargetFromVars(tc.name, vars, Overrides{SSHConfigFile: "none"})
		if err != nil || tg.ProxyCommand != tc.want {
			t.Errorf("%q %v: ProxyCommand = %q, %v; want %q", tc.cmd, tc.vars, tg.ProxyCommand, err, tc.want)
		}
	}
}
