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
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/tasks"
)

func TestLabReloadThatDoesNotTake(t *testing.T) {
	l := labtest.New(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := l.Hosts[0]
	logFile := filepath.Join(l.Dir, "hosts", h.Name, "log", "postgresql.log")

	// A fresh host with a good configuration: the reload is proven in the
	// server log (pg_ctl -l: the postmaster's stderr, found through /proc).
	d := newDriver(t, l, nil)
	runs := d.run(ctx, false, h)
	requireAllProven(t, runs, l.Hosts)
	rl := runs[h.Name].outcomes["pg_reload/tls"]
	if rl == nil || rl.Result["log_checked"] != true || rl.Result["log_file"] != logFile || !strings.Contains(rl.Result[tasks.OutcomeKey].(string), "server log shows it applied") {
		t.Fatalf("first run: pg_reload result %+v, want the log %s checked", rl, logFile)
	}

	t.Run("cipher list the host's OpenSSL rejects", func(t *testing.T) {
		before, logBefore := fileSums(t, h), fileSize(t, logFile)
		r := newDriver(t, l, map[string]any{"pg_ssl_ciphers": "NOT-A-CIPHER"}).run(ctx, false, h)[h.Name]
		want := "host " + h.Name + `: pg_ssl_ciphers "NOT-A-CIPHER": the host's OpenSSL (OpenSSL `
		if r.failedStep != "pg_facts" || !strings.HasPrefix(r.failMsg, want) || !strings.HasSuffix(r.failMsg, ") accepts no cipher from it (nothing was changed)") {
			t.Fatalf("step %q msg %q, want pg_facts to fail with %q...", r.failedStep, r.failMsg, want)
		}
		t.Logf("%s", r.failMsg)
		var f *tasks.Failed
		if o := r.outcomes["pg_facts"]; o.Status != tasks.StatusFailed || !errors.As(o.Err, &f) || len(r.changed) != 0 || r.rolledBack {
			t.Errorf("outcome %+v changed %v rolled back %v, want a failed host and nothing else", o, r.changed, r.rolledBack)
		}
		if after := fileSums(t, h); !reflect.DeepEqual(after, before) {
			t.Errorf("files changed:\nbefore %v\nafter  %v", before, after)
		}
		if gained := logSince(t, logFile, logBefore); strings.Contains(gained, "received SIGHUP") {
			t.Errorf("the server reloaded:\n%s", gained)
		}
	})

	t.Run("certificate the server cannot read is caught before any change", func(t *testing.T) {
		crt := filepath.Join(h.DataDir, "server.crt")
		rootRun(t, ctx, d, h, "chown root "+crt+" && chmod 000 "+crt)
		defer rootRun(t, ctx, d, h, "chown postgres "+crt+" && chmod 644 "+crt)
		r := newDriver(t, l, map[string]any{"pg_ssl_min_protocol_version": "TLSv1.3"}).run(ctx, false, h)[h.Name]
		// pg_facts read it as the cluster user: the key and certificate
		// steps refuse to go on.
		if (r.failedStep != "pg_tls_key" && r.failedStep != "tls_sign") || !strings.Contains(r.failMsg, crt+" exists but cannot be read") || r.outcomes["pg_conf"] != nil {
			t.Errorf("step %q msg %q, want the key or certificate step to refuse before any change", r.failedStep, r.failMsg)
		}
	})

	t.Run("reload the server rejects is rolled back", func(t *testing.T) { checkRejectedReload(t, ctx, d, h) })
}

// checkRejectedReload: a CRL file the operator configured (not reloaded
// yet) that the server cannot read; nothing before the reload reads it, and
// the reload keeps the old SSL context while pg_settings shows the new
// ssl_min_protocol_version. pg_reload must fail quoting the log, and the
// rescue roll the host back.
func checkRejectedReload(t *testing.T, ctx context.Context, d *driver, h lab.Host) {
	crl := filepath.Join(h.DataDir, "operator-crl.pem")
	rootRun(t, ctx, d, h, "printf 'x\\n' > "+crl+" && chmod 000 "+crl+
		" && printf \"ssl_crl_file = '%s'\\n\" "+crl+" >> "+h.ConfigFile)
	r := newDriver(t, d.lab, map[string]any{"pg_ssl_min_protocol_version": "TLSv1.3"}).run(ctx, false, h)[h.Name]
	want := `host ` + h.Name + `: the server did not apply the new TLS configuration: "could not load SSL certificate revocation list file \"` + crl + `\": `
	if r.failedStep != "pg_reload" || !r.rolledBack || !strings.Contains(r.failMsg, want) || !strings.HasSuffix(r.failMsg, `, "SSL configuration was not reloaded"`) {
		t.Fatalf("step %q rolled back %v msg %q, want pg_reload to fail with %q... and a rollback", r.failedStep, r.rolledBack, r.failMsg, want)
	}
	t.Logf("%s", r.failMsg)
	if o := r.outcomes["pg_reload/tls"]; o.Result["log_checked"] != true || len(o.Result["log_lines"].([]string)) != 2 {
		t.Errorf("pg_reload result %+v", o.Result)
	}
	if got := strings.TrimSpace(psqlOn(t, ctx, d, h, "SHOW ssl_min_protocol_version;")); got != "TLSv1.2" {
		t.Errorf("ssl_min_protocol_version = %s after the rollback, want TLSv1.2", got)
	}
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
