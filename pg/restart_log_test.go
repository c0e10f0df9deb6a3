package pg

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRestartProbeFindsTheServersOwnLog(t *testing.T) {
	for out, want := range map[string]string{
		"stderr=/var/lib/pgsql/16/data/log/startup.log\n":         "/var/lib/pgsql/16/data/log/startup.log",
		"stderr=/srv/pg/log/postgresql.log (deleted)\n":           "",
		"stderr=pipe:[4242]\n":                                    "",
		"cgroup=0::/;\nexe=/usr/lib/postgresql/15/bin/postgres\n": "",
	} {
		if got := ParseRestartProbe(out).StderrLog; got != want {
			t.Errorf("ParseRestartProbe(%q).StderrLog = %q, want %q", out, got, want)
		}
	}
}

// TestRestartOfADownServerLogsPrivately runs the pg_ctl command DecideRestart
// builds for a server that is down (no probe, no pg_restart_log) with a
// stand-in pg_ctl: the log is the collector's last file when the data
// directory names one, else a file in a fresh 0700 directory, and the
// command says which.
func TestRestartOfADownServerLogsPrivately(t *testing.T) {
	bindir, data, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bindir, "pg_ctl"), []byte("#!/bin/sh\nprintf 'pg_ctl %s\\n' \"$*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rp, err := DecideRestart(&RestartProbe{Exe: filepath.Join(bindir, "postgres")}, &Facts{DataDirectory: data, Port: 5432}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rp.Command, "/tmp/sshplay-restart-") || rp.Log != "" {
		t.Fatalf("a predictable log name: %+v", rp)
	}
	run := func() (string, []byte) {
		t.Helper()
		cmd := exec.Command("/bin/sh", "-c", rp.Command)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return rp.LogFile(out), out
	}
	log, out := run()
	if filepath.Dir(filepath.Dir(log)) != tmp || filepath.Base(log) != "postgresql.log" || !strings.Contains(string(out), "-l "+log) {
		t.Fatalf("log %q (output %s), want TMPDIR/sshplay-restart.*/postgresql.log", log, out)
	}
	if fi, err := os.Stat(filepath.Dir(log)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("log directory %v %v, want mode 0700", fi, err)
	}
	if d := rp.Describe(out); d != "pg_ctl (log: "+log+")" {
		t.Errorf("Describe = %q", d)
	}

	// With the logging collector, its current stderr file (relative to
	// the data directory) is the server's own log.
	if err := os.Mkdir(filepath.Join(data, "log"), 0o700); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(data, "log", "postgresql-Mon.log")
	if err := os.WriteFile(own, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "current_logfiles"), []byte("csvlog log/postgresql-Mon.csv\nstderr log/postgresql-Mon.log\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if log, out = run(); log != own {
		t.Errorf("with the collector: log %q (output %s), want %s", log, out, own)
	}
}
