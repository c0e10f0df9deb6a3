package postgres

// Lab tests for reloads that do not take: pg_reload_conf() returns true and
// pg_settings shows the new values while the postmaster keeps its old SSL
// context. A cipher list the host's OpenSSL rejects is caught before any
// change; whatever else the server rejects at the reload is caught in its
// log, and the host is rolled back.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/tasks"
)

// TestLabReloadThatDoesNotTake runs on db01 (Debian layout) and db02 (RHEL
// layout), every step on both hosts at once.
func TestLabReloadThatDoesNotTake(t *testing.T) {
	l := labBothLayouts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logFile := func(h lab.Host) string { return filepath.Join(l.Dir, "hosts", h.Name, "log", "postgresql.log") }

	// A fresh host with a good configuration: the reload is proven in the
	// server log (pg_ctl -l: the postmaster's stderr, found through /proc).
	d := newDriver(t, l, nil)
	runs := d.run(ctx, false, l.Hosts...)
	eachHost(t, "first run", l.Hosts, func(t *testing.T, h lab.Host) {
		requireAllProven(t, runs, []lab.Host{h})
		rl := runs[h.Name].outcomes["pg_reload/tls"]
		if rl == nil || rl.Result["log_checked"] != true || rl.Result["log_file"] != logFile(h) || !strings.Contains(rl.Result[tasks.OutcomeKey].(string), "server log shows it applied") {
			t.Fatalf("%s: first run: pg_reload result %+v, want the log %s checked", h.Name, rl, logFile(h))
		}
	})

	t.Run("cipher list the host's OpenSSL rejects", func(t *testing.T) {
		before, logBefore := map[string]map[string]string{}, map[string]int64{}
		for _, h := range l.Hosts {
			before[h.Name], logBefore[h.Name] = fileSums(t, h), fileSize(t, logFile(h))
		}
		runs := newDriver(t, l, map[string]any{"pg_ssl_ciphers": "NOT-A-CIPHER"}).run(ctx, false, l.Hosts...)
		eachHost(t, "", l.Hosts, func(t *testing.T, h lab.Host) {
			r := runs[h.Name]
			want := "host " + h.Name + `: pg_ssl_ciphers "NOT-A-CIPHER": the host's OpenSSL (OpenSSL `
			if r.failedStep != "pg_facts" || !strings.HasPrefix(r.failMsg, want) || !strings.HasSuffix(r.failMsg, ") accepts no cipher from it (nothing was changed)") {
				t.Fatalf("%s: step %q msg %q, want pg_facts to fail with %q...", h.Name, r.failedStep, r.failMsg, want)
			}
			t.Logf("%s", r.failMsg)
			var f *tasks.Failed
			if o := r.outcomes["pg_facts"]; o.Status != tasks.StatusFailed || !errors.As(o.Err, &f) || len(r.changed) != 0 || r.rolledBack {
				t.Errorf("%s: outcome %+v changed %v rolled back %v, want a failed host and nothing else", h.Name, o, r.changed, r.rolledBack)
			}
			if after := fileSums(t, h); !reflect.DeepEqual(after, before[h.Name]) {
				t.Errorf("%s: files changed:\nbefore %v\nafter  %v", h.Name, before[h.Name], after)
			}
			if gained := logSince(t, logFile(h), logBefore[h.Name]); strings.Contains(gained, "received SIGHUP") {
				t.Errorf("%s: the server reloaded:\n%s", h.Name, gained)
			}
		})
	})

	t.Run("certificate the server cannot read is caught before any change", func(t *testing.T) {
		crt := func(h lab.Host) string { return filepath.Join(h.DataDir, "server.crt") }
		for _, h := range l.Hosts {
			rootRun(t, ctx, d, h, "chown root "+crt(h)+" && chmod 000 "+crt(h))
			defer rootRun(t, ctx, d, h, "chown postgres "+crt(h)+" && chmod 644 "+crt(h))
		}
		runs := newDriver(t, l, map[string]any{"pg_ssl_min_protocol_version": "TLSv1.3"}).run(ctx, false, l.Hosts...)
		eachHost(t, "", l.Hosts, func(t *testing.T, h lab.Host) {
			r := runs[h.Name]
			// pg_facts read it as the cluster user: the key and certificate
			// steps refuse to go on.
			if (r.failedStep != "pg_tls_key" && r.failedStep != "tls_sign") || !strings.Contains(r.failMsg, crt(h)+" exists but cannot be read") || r.outcomes["pg_conf"] != nil {
				t.Errorf("%s: step %q msg %q, want the key or certificate step to refuse before any change", h.Name, r.failedStep, r.failMsg)
			}
		})
	})

	t.Run("reload the server rejects is rolled back", func(t *testing.T) { checkRejectedReload(t, ctx, d, l.Hosts) })
}

// checkRejectedReload: on each host a CRL file the operator configured
// (not reloaded yet) that the server cannot read; nothing before the
// reload reads it, and the reload keeps the old SSL context while
// pg_settings shows the new ssl_min_protocol_version. pg_reload must fail
// quoting the log, and the rescue roll the host back. The hosts run
// together.
func checkRejectedReload(t *testing.T, ctx context.Context, d *driver, hosts []lab.Host) {
	crl := func(h lab.Host) string { return filepath.Join(h.DataDir, "operator-crl.pem") }
	for _, h := range hosts {
		rootRun(t, ctx, d, h, "printf 'x\\n' > "+crl(h)+" && chmod 000 "+crl(h)+
			" && printf \"ssl_crl_file = '%s'\\n\" "+crl(h)+" >> "+h.ConfigFile)
	}
	runs := newDriver(t, d.lab, map[string]any{"pg_ssl_min_protocol_version": "TLSv1.3"}).run(ctx, false, hosts...)
	eachHost(t, "", hosts, func(t *testing.T, h lab.Host) {
		r := runs[h.Name]
		want := `host ` + h.Name + `: the server did not apply the new TLS configuration: "could not load SSL certificate revocation list file \"` + crl(h) + `\": `
		if r.failedStep != "pg_reload" || !r.rolledBack || !strings.Contains(r.failMsg, want) || !strings.HasSuffix(r.failMsg, `, "SSL configuration was not reloaded"`) {
			t.Fatalf("%s: step %q rolled back %v msg %q, want pg_reload to fail with %q... and a rollback", h.Name, r.failedStep, r.rolledBack, r.failMsg, want)
		}
		t.Logf("%s", r.failMsg)
		if o := r.outcomes["pg_reload/tls"]; o.Result["log_checked"] != true || len(o.Result["log_lines"].([]string)) != 2 {
			t.Errorf("%s: pg_reload result %+v", h.Name, o.Result)
		}
		if got := strings.TrimSpace(psqlOn(t, ctx, d, h, "SHOW ssl_min_protocol_version;")); got != "TLSv1.2" {
			t.Errorf("%s: ssl_min_protocol_version = %s after the rollback, want TLSv1.2", h.Name, got)
		}
	})
}

// fileSums are the SHA-256 sums of the files in the host's data and
// configuration directories (the postmaster's own files and logs left out).
func fileSums(t *testing.T, h lab.Host) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, dir := range []string{h.DataDir, filepath.Dir(h.ConfigFile), filepath.Dir(h.HBAFile)} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), "postmaster") || e.Name() == "current_logfiles" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			s := sha256.Sum256(b)
			sums[filepath.Join(dir, e.Name())] = hex.EncodeToString(s[:])
		}
	}
	return sums
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// logSince is what a log gained after offset.
func logSince(t *testing.T, path string, offset int64) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[offset:])
}
