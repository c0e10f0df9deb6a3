package lab_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// sshRun runs a command on h with the OpenSSH client, strictly checking the
// host key against the lab's known_hosts.
func sshRun(t *testing.T, l *lab.Lab, h lab.Host, command string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-i", l.KeyFile(),
		"-o", "UserKnownHostsFile="+l.KnownHostsFile(), "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-F", "/dev/null",
		"sshplay@"+h.Addr, command)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), &sshError{err: err, stderr: errb.String()}
	}
	return strings.TrimSpace(out.String()), nil
}

type sshError struct {
	err    error
	stderr string
}

func (e *sshError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

func TestLabHosts(t *testing.T) {
	l := labtest.New(t, 2)
	if len(l.Hosts) != 2 || l.Hosts[0].Name != "db01" || l.Hosts[1].Name != "db02" {
		t.Fatalf("hosts = %+v, want db01 and db02", l.Hosts)
	}
	deb, rhel := l.Hosts[0], l.Hosts[1]
	if deb.Layout != lab.LayoutDebian || rhel.Layout != lab.LayoutRHEL {
		t.Fatalf("layouts = %s, %s; want debian, rhel", deb.Layout, rhel.Layout)
	}
	if deb.Addr == rhel.Addr || !strings.HasPrefix(deb.Addr, "127.0.0.") {
		t.Fatalf("addresses %s, %s: want two distinct 127.0.0.X", deb.Addr, rhel.Addr)
	}
	wantConf := map[string]string{
		deb.Name:  filepath.Join(l.Dir, "hosts", "db01", "etc", "postgresql.conf"),
		rhel.Name: filepath.Join(l.Dir, "hosts", "db02", "data", "postgresql.conf"),
	}
	for _, h := range l.Hosts {
		if h.ConfigFile != wantConf[h.Name] {
			t.Errorf("%s: ConfigFile = %s, want %s", h.Name, h.ConfigFile, wantConf[h.Name])
		}
		got, err := sshRun(t, l, h, "sudo -n -u postgres psql -XAtc 'show config_file'")
		if err != nil {
			t.Fatalf("%s: ssh: %v", h.Name, err)
		}
		if got != wantConf[h.Name] {
			t.Errorf("%s: show config_file over ssh = %q, want %q", h.Name, got, wantConf[h.Name])
		}
		got, err = sshRun(t, l, h, "sudo -n -u postgres psql -XAtc 'show hba_file' -c 'show listen_addresses'")
		if err != nil {
			t.Fatalf("%s: ssh: %v", h.Name, err)
		}
		if want := h.HBAFile + "\n" + h.Addr; got != want {
			t.Errorf("%s: hba_file, listen_addresses = %q, want %q", h.Name, got, want)
		}
	}

	t.Run("known_hosts and inventory", func(t *testing.T) {
		kh, err := os.ReadFile(l.KnownHostsFile())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range l.Hosts {
			if !strings.Contains(string(kh), h.Addr+" "+h.HostKeyPub+"\n") || !strings.HasPrefix(h.HostKeyPub, "ssh-ed25519 AAAA") {
				t.Errorf("known_hosts lacks %s %s:\n%s", h.Addr, h.HostKeyPub, kh)
			}
		}
		ini, err := os.ReadFile(l.InventoryINI())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"[dbservers]\ndb01 ansible_host=" + deb.Addr + " pg_host=" + deb.Addr + " pg_socket_dir=" + deb.SocketDir + "\ndb02 ansible_host=" + rhel.Addr,
			"[debian]\ndb01\n", "[rhel]\ndb02\n", "ansible_user=sshplay\n",
			"ansible_ssh_private_key_file=" + l.KeyFile() + "\n",
			"ansible_ssh_common_args='-o UserKnownHostsFile=" + l.KnownHostsFile() + " -o StrictHostKeyChecking=yes'\n",
			"pg_passfile=" + l.PassFile() + "\n", "pg_user=postgres\n",
		} {
			if !strings.Contains(string(ini), want) {
				t.Errorf("inventory.ini lacks %q:\n%s", want, ini)
			}
		}
		for _, f := range []string{l.KeyFile(), l.PassFile()} {
			if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, %v; want 0600", f, fi.Mode().Perm(), err)
			}
		}
	})

	t.Run("password over TCP", func(t *testing.T) {
		for _, h := range l.Hosts {
			cmd := exec.Command(filepath.Join(lab.PGBinDir, "psql"), "-XAt", "-h", h.Addr, "-U", "postgres", "-d", "postgres", "-c", "select 1")
			cmd.Env = append(os.Environ(), "PGPASSFILE="+l.PassFile(), "PGSSLMODE=disable")
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "1" {
				t.Errorf("%s: psql with pgpass over TCP: %v: %s", h.Name, err, out)
			}
		}
	})

	t.Run("up again is idempotent", func(t *testing.T) {
		before := l.Hosts
		start := time.Now()
		l2, err := lab.Up(context.Background(), lab.Config{Dir: l.Dir, N: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("up of 2 running hosts took %s", time.Since(start))
		for i := range before {
			if l2.Hosts[i] != before[i] {
				t.Errorf("host changed on second up:\n%+v\n%+v", before[i], l2.Hosts[i])
			}
		}
	})

	t.Run("reset restores pristine config", func(t *testing.T) {
		for _, h := range l.Hosts {
			dir := filepath.Dir(h.ConfigFile)
			cmd := "sudo -n -u postgres sh -c 'echo \"ssl_cert_file = server.crt\" >> " + h.ConfigFile +
				" && touch " + filepath.Join(h.DataDir, "server.crt") + " " + filepath.Join(dir, "postgresql.conf.sshplay-backup") +
				"' && sudo -n -u postgres psql -XAtc 'ALTER SYSTEM SET work_mem = 12345'"
			if _, err := sshRun(t, l, h, cmd); err != nil {
				t.Fatalf("%s: change config: %v", h.Name, err)
			}
		}
		if err := l.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, h := range l.Hosts {
			conf, err := os.ReadFile(h.ConfigFile)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(conf), "ssl_cert_file = server.crt") {
				t.Errorf("%s: reset kept the edit of postgresql.conf", h.Name)
			}
			for _, f := range []string{filepath.Join(h.DataDir, "server.crt"), filepath.Join(filepath.Dir(h.ConfigFile), "postgresql.conf.sshplay-backup")} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s: reset left %s", h.Name, f)
				}
			}
			got, err := sshRun(t, l, h, "sudo -n -u postgres psql -XAtc 'show work_mem' -c 'show ssl'")
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			if got != "4MB\noff" {
				t.Errorf("%s: after reset work_mem, ssl = %q, want 4MB, off", h.Name, got)
			}
		}
		st, err := l.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if !s.SSHD || !s.Postgres || s.SSL != "off" {
				t.Errorf("status after reset: %+v", s)
			}
		}
	})

	t.Run("stop host refuses connections", func(t *testing.T) {
		ctx := context.Background()
		if err := l.StopHost(ctx, "db02"); err != nil {
			t.Fatal(err)
		}
		for _, port := range []string{"22", "5432"} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(rhel.Addr, port), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("db02 port %s still accepts connections after StopHost", port)
			}
		}
		st, err := l.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st[1].SSHD || st[1].Postgres || !st[0].SSHD {
			t.Errorf("status after StopHost db02: %+v", st)
		}
		if err := l.StartHost(ctx, "db02"); err != nil {
			t.Fatal(err)
		}
		if _, err := sshRun(t, l, rhel, "true"); err != nil {
			t.Errorf("db02 after StartHost: %v", err)
		}
		if err := l.StopHost(ctx, "db99"); err == nil {
			t.Error("StopHost of an unknown host: no error")
		}
	})

	t.Run("down releases claims", func(t *testing.T) {
		ctx := context.Background()
		if err := l.Down(ctx); err != nil {
			t.Fatal(err)
		}
		for _, h := range l.Hosts {
			if _, err := os.Stat(filepath.Join("/var/tmp/sshplay-lab-claims", h.Addr)); err == nil {
				if b, _ := os.ReadFile(filepath.Join("/var/tmp/sshplay-lab-claims", h.Addr)); strings.TrimSpace(string(b)) == l.Dir {
					t.Errorf("%s: claim on %s still held after Down", h.Name, h.Addr)
				}
			}
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, "22"), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("%s: port 22 open after Down", h.Name)
			}
		}
		// Up after Down brings the same hosts back.
		l2, err := lab.Up(ctx, lab.Config{Dir: l.Dir, N: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sshRun(t, l2, l2.Hosts[0], "true"); err != nil {
			t.Errorf("ssh after down + up: %v", err)
		}
	})
}

func TestUpRejectsBadInput(t *testing.T) {
	for _, cfg := range []lab.Config{
		{Dir: "/tmp/x", N: 0},
		{Dir: "/tmp/x", N: 201},
		{Dir: "/tmp/with space", N: 1},
		{Dir: "", N: 1},
		{Dir: "/tmp/x", N: 2, Standbys: []lab.StandbySpec{{Standby: "db05", Primary: "db01"}}},
		{Dir: "/tmp/x", N: 2, Standbys: []lab.StandbySpec{{Standby: "db02", Primary: "db01", Options: lab.StandbyOptions{SSLMode: "on"}}}},
		{Dir: "/tmp/x", N: 2, ClientCerts: []lab.ClientCertSpec{{Host: "db01", Role: "postgres"}}},
	} {
		_, err := lab.Up(context.Background(), cfg)
		var ce *lab.ConfigError
		if err == nil || !errors.As(err, &ce) {
			t.Errorf("Up(%+v) = %v, want *ConfigError", cfg, err)
		}
	}
}

// TestParallelLabs brings up labs at the same time: each must get its own
// addresses (a collision makes an sshd or postgres fail to bind, or ssh
// land on the other lab's host and fail the strict host key check).
func TestParallelLabs(t *testing.T) {
	for i := range 3 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t, 3)
			for _, h := range l.Hosts {
				if got, err := sshRun(t, l, h, "hostname >/dev/null && echo $PGHOST"); err != nil || got != h.SocketDir {
					t.Errorf("%s %s: ssh = %q, %v; want PGHOST %s", h.Name, h.Addr, got, err, h.SocketDir)
				}
			}
		})
	}
}
