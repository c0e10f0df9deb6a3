package pg

import (
	"context"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/transport"
)

// TestLabValidateReloadRefusesABrokenFileAndProvesAGoodReload: the one
// psql session that validates and reloads leaves the server alone while
// pg_hba.conf on disk holds an error (no signal: pg_conf_load_time() does
// not move), and once the file is good it reloads, sees the postmaster
// handle it in a new session and reads the reload's lines from the
// server's log (the postmaster's standard error, named from the facts);
// looking again later (ReloadProgress) reads the same.
func TestLabValidateReloadRefusesABrokenFileAndProvesAGoodReload(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	ctx := context.Background()
	c := postgresConn(t, l, h)
	tg := Target{SocketDir: h.SocketDir, Port: h.PGPort}
	f, err := GatherFacts(ctx, c, tg)
	if err != nil {
		t.Fatal(err)
	}
	tg.Bindir, tg.SocketDir = f.Bindir, f.SocketDir
	if f.StderrLog == "" {
		t.Errorf("facts name no stderr log for a pg_ctl -l server")
	}
	loadTime := func() string {
		out, err := Query(ctx, c, tg, "SELECT pg_conf_load_time();")
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	good := f.HBAText
	if err := c.WriteFile(ctx, f.HBAFile, append(append([]byte(nil), good...), "hostx all all 0.0.0.0/0 trust\n"...), transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	defer c.WriteFile(ctx, f.HBAFile, good, transport.WriteOptions{})
	before := loadTime()
	d, r, err := ValidateReload(ctx, c, tg, ReloadOptionsFor(f))
	if err != nil {
		t.Fatal(err)
	}
	if r != nil || len(d.HBAErrors) != 1 || !strings.Contains(d.HBAErrors[0].Error, "hostx") {
		t.Errorf("broken pg_hba.conf: disk %+v reload %+v, want its error and no reload", d, r)
	}
	if after := loadTime(); after != before {
		t.Errorf("broken pg_hba.conf: the server reloaded (%s -> %s)", before, after)
	}

	if err := c.WriteFile(ctx, f.HBAFile, good, transport.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	o := ReloadOptionsFor(f)
	o.NoReload = true
	if d, r, err = ValidateReload(ctx, c, tg, o); err != nil || r != nil || len(d.HBAErrors) != 0 {
		t.Errorf("validate only: disk %+v reload %+v err %v", d, r, err)
	}
	d, r, err = ValidateReload(ctx, c, tg, ReloadOptionsFor(f))
	if err != nil {
		t.Fatal(err)
	}
	if r == nil || len(d.HBAErrors) != 0 {
		t.Fatalf("good files: disk %+v reload %+v, want a reload", d, r)
	}
	for i := 0; !r.Processed && i < 100; i++ {
		if r, err = ReloadProgress(ctx, c, tg, r); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Processed || !r.Log.Checked || len(r.Log.Failures) != 0 || r.LogFile != f.StderrLog || len(r.Settings) == 0 {
		t.Errorf("good files: reload %+v, want it handled and proven in %s", r, f.StderrLog)
	}
	if loadTime() == before {
		t.Errorf("good files: pg_conf_load_time() did not move")
	}
	// Looking again (what a caller does while the postmaster has not
	// handled the reload) reads the same log from the same offset.
	again, err := ReloadProgress(ctx, c, tg, r)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Processed || !again.Log.Checked || again.T0 != r.T0 || again.LogFile != r.LogFile {
		t.Errorf("looking again: %+v, want the reload of %s handled and proven", again, r.T0)
	}
}
