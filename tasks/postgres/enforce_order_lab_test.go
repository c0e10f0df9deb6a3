package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab/labtest"
)

// TestLabNoClientIsRefusedWhileTLSFailsToLoad: when the server cannot load
// its TLS setup (a CRL file it cannot read), pg_hba.conf must never start
// refusing plaintext: clients connecting all through the run (libpq's
// default, sslmode=prefer) are never turned away, and the host is rolled
// back.
func TestLabNoClientIsRefusedWhileTLSFailsToLoad(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, h := range l.Hosts {
		crl := filepath.Join(l.Dir, h.Name+"-unreadable-crl.pem")
		if err := os.WriteFile(crl, []byte("not a CRL\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		conf, err := os.ReadFile(h.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.ConfigFile, append(conf, []byte("\nssl_crl_file = '"+crl+"'\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var attempts, refused atomic.Int64
	var firstErr sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, h := range l.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				attempts.Add(1)
				if err := login(ctx, h, "prefer"); err != nil {
					refused.Add(1)
					firstErr.LoadOrStore(h.Name, err.Error())
				}
			}
		}()
	}
	sum, out := play(t, ctx, l, false, nil)
	close(stop)
	wg.Wait()
	if sum.Failed() != len(l.Hosts) || strings.Count(out, "failed (rolled back)") < len(l.Hosts) {
		t.Errorf("want every host failed and rolled back:\n%s", out)
	}
	if refused.Load() != 0 {
		firstErr.Range(func(k, v any) bool { t.Errorf("%s: a client was refused during the run: %v", k, v); return true })
	}
	t.Logf("%d logins during the run, %d refused", attempts.Load(), refused.Load())
	if attempts.Load() < 10 {
		t.Errorf("only %d logins during the run: the test proves nothing", attempts.Load())
	}
}

// TestLabPendingRestartIsReportedNotAnError: a setting edited and reloaded
// but waiting for a restart (shared_buffers) is normal on a live cluster:
// the job says so and goes on without restarting; pg_allow_restart: true
// restarts for it.
func TestLabPendingRestartIsReportedNotAnError(t *testing.T) {
	l := labtest.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, h := range l.Hosts {
		conf, err := os.ReadFile(h.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.ConfigFile, append(conf, []byte("\nshared_buffers = 24MB\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		labSQL(t, ctx, h, "SELECT pg_reload_conf()")
		waitSQL(t, ctx, h, "SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'", "t", 10*time.Second)
	}
	sum, out := play(t, ctx, l, false, nil)
	if sum.Failed() != 0 {
		t.Fatalf("run with a pending restart: %d failed:\n%s", sum.Failed(), out)
	}
	if !strings.Contains(out, "shared_buffers pending a restart, not needed for TLS") {
		t.Errorf("the run does not say shared_buffers stays pending:\n%s", out)
	}
	for _, h := range l.Hosts {
		if got := labSQL(t, ctx, h, "SHOW shared_buffers"); got != "16MB" {
			t.Errorf("%s: shared_buffers = %s: the job restarted without being allowed to", h.Name, got)
		}
	}
	sum, out = play(t, ctx, l, false, map[string]any{"pg_allow_restart": true})
	if sum.Failed() != 0 {
		t.Fatalf("run with pg_allow_restart: %d failed:\n%s", sum.Failed(), out)
	}
	for _, h := range l.Hosts {
		if got := labSQL(t, ctx, h, "SHOW shared_buffers"); got != "24MB" {
			t.Errorf("%s: shared_buffers = %s after pg_allow_restart", h.Name, got)
		}
	}
}

// cancelOn cancels a run once its output shows marker.
type cancelOn struct {
	mu     sync.Mutex
	buf    strings.Builder
	marker string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return len(p), nil
}

// TestLabInterruptedRunRollsBackEveryHost: an interrupt (Ctrl-C) in the
// middle of the job — TLS already reloaded, pg_hba.conf not yet — rolls
// every host back within the block's rescue, says "interrupted", and
// leaves the configuration as it was.
func TestLabInterruptedRunRollsBackEveryHost(t *testing.T) {
	l := labtest.New(t, 2)
	before := map[string][2][]byte{}
	for _, h := range l.Hosts {
		conf, err := os.ReadFile(h.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		hba, err := os.ReadFile(h.HBAFile)
		if err != nil {
			t.Fatal(err)
		}
		before[h.Name] = [2][]byte{conf, hba}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	w := &cancelOn{marker: "TASK [prove TLS with verify-full before enforcing it]", cancel: interrupt}
	sum := playTo(t, runCtx, l, w)
	out := w.buf.String()
	if !sum.Interrupted || !strings.Contains(out, "interrupted: [") || strings.Count(out, "interrupted (rolled back; the run was at: prove TLS with verify-full before enforcing it)") != len(l.Hosts) {
		t.Fatalf("want every host interrupted and rolled back:\n%s", out)
	}
	for _, h := range l.Hosts {
		conf, _ := os.ReadFile(h.ConfigFile)
		hba, _ := os.ReadFile(h.HBAFile)
		if string(conf) != string(before[h.Name][0]) || string(hba) != string(before[h.Name][1]) {
			t.Errorf("%s: configuration not restored after the interrupt", h.Name)
		}
		if got := labSQL(t, ctx, h, "SHOW ssl"); got != "off" {
			t.Errorf("%s: ssl = %s after the rollback", h.Name, got)
		}
	}
}
