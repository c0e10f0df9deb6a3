package postgres

// Faults seen on real hosts, end to end on lab hosts (sshd + PostgreSQL 15,
// the job's modules through the driver in lab_test.go): configuration files
// that are symlinks, a full configuration directory, and a rollback that
// finds the server stopped. Each test leaves no mount, process or file
// behind: mounts are undone and directories removed in t.Cleanup, before
// the lab goes down.

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// fileState is what a test compares of a file: content, mode, owner.
type fileState struct {
	data     []byte
	mode     fs.FileMode
	uid, gid uint32
}

func stateOf(t *testing.T, p string) fileState {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fileState{data: b, mode: fi.Mode(), uid: st.Uid, gid: st.Gid}
}

// linkedConf is a host's configuration file moved to a store directory
// and replaced by a symlink to it.
type linkedConf struct {
	link, target, linkText string
}

// linkConfigs moves postgresql.conf and pg_hba.conf of h into
// DIR/hosts/NAME/conf-store (owned by postgres, as config management
// leaves it) and links them back: postgresql.conf by an absolute link,
// pg_hba.conf by a relative one.
func linkConfigs(t *testing.T, h lab.Host) []linkedConf {
	t.Helper()
	store := filepath.Join(filepath.Dir(h.DataDir), "conf-store")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "postgres:postgres", store).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v %s", store, err, out)
	}
	var out []linkedConf
	for i, p := range []string{h.ConfigFile, h.HBAFile} {
		target := filepath.Join(store, filepath.Base(p))
		if err := os.Rename(p, target); err != nil {
			t.Fatal(err)
		}
		text := target
		if i == 1 {
			rel, err := filepath.Rel(filepath.Dir(p), target)
			if err != nil {
				t.Fatal(err)
			}
			text = rel
		}
		if err := os.Symlink(text, p); err != nil {
			t.Fatal(err)
		}
		out = append(out, linkedConf{link: p, target: target, linkText: text})
	}
	return out
}

// checkLinks fails unless every link is still the same link and no file
// in dirs has mode 0777.
func checkLinks(t *testing.T, when string, links []linkedConf, dirs ...string) {
	t.Helper()
	for _, lc := range links {
		if got, err := os.Readlink(lc.link); err != nil || got != lc.linkText {
			t.Errorf("%s: %s is no longer a link to %s: %q %v", when, lc.link, lc.linkText, got, err)
		}
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil && fi.Mode().Perm() == 0o777 {
					t.Errorf("%s: %s has mode 0777", when, p)
				}
			}
			return nil
		})
	}
}

func TestLabSymlinkedConfigsKeepTheirLinksThroughRunAndRollback(t *testing.T) {
	l := labtest.New(t, 2) // db01 Debian layout, db02 RHEL layout
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// An ssl_crl_file the server cannot read: the TLS reload fails and
	// the rescue rolls each host back.
	crl := filepath.Join(l.Dir, "unreadable-crl.pem")
	if err := os.WriteFile(crl, []byte("not a CRL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string][]linkedConf{}
	before := map[string]fileState{}
	pristine := map[string][]byte{}
	for _, h := range l.Hosts {
		links[h.Name] = linkConfigs(t, h)
		conf := links[h.Name][0].target
		pristine[conf] = stateOf(t, conf).data
		f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "\nssl_crl_file = '%s'\n", crl)
		f.Close()
		for _, lc := range links[h.Name] {
			before[lc.target] = stateOf(t, lc.target)
		}
	}
	d := newDriver(t, l, nil)
	runs := d.run(ctx, false)
	for _, h := range l.Hosts {
		r := runs[h.Name]
		if !r.rolledBack || !strings.Contains(r.failMsg, "failed (rolled back)") {
			t.Fatalf("%s: want a failure rolled back, got step %q: %s", h.Name, r.failedStep, r.failMsg)
		}
		checkLinks(t, h.Name+" after the rollback", links[h.Name], filepath.Dir(h.DataDir))
		for _, lc := range links[h.Name] {
			got, want := stateOf(t, lc.target), before[lc.target]
			if !bytes.Equal(got.data, want.data) || got.mode != want.mode || got.uid != want.uid || got.gid != want.gid {
				t.Errorf("%s: %s after the rollback: mode %v owner %d:%d, %d bytes; want mode %v owner %d:%d, %d bytes, identical",
					h.Name, lc.target, got.mode, got.uid, got.gid, len(got.data), want.mode, want.uid, want.gid, len(want.data))
			}
		}
	}

	// Without the CRL line the job succeeds: the targets carry the edits
	// with their own mode and owner, the links stay links.
	for _, h := range l.Hosts {
		conf := links[h.Name][0].target
		if err := os.WriteFile(conf, pristine[conf], 0); err != nil {
			t.Fatal(err)
		}
	}
	runs = d.run(ctx, false)
	requireAllProven(t, runs, l.Hosts)
	for _, h := range l.Hosts {
		checkLinks(t, h.Name+" after the run", links[h.Name], filepath.Dir(h.DataDir))
		conf, hba := stateOf(t, links[h.Name][0].target), stateOf(t, links[h.Name][1].target)
		if !regexp.MustCompile(`(?m)^ssl = on`).Match(conf.data) || !bytes.Contains(hba.data, []byte("hostssl")) {
			t.Errorf("%s: the targets do not carry the edits:\n%s\n%s", h.Name, conf.data, hba.data)
		}
		for i, got := range []fileState{conf, hba} {
			want := before[links[h.Name][i].target]
			if got.mode != want.mode || got.uid != want.uid || got.gid != want.gid {
				t.Errorf("%s: %s: mode %v owner %d:%d, want %v %d:%d", h.Name, links[h.Name][i].target, got.mode, got.uid, got.gid, want.mode, want.uid, want.gid)
			}
		}
		if left := tempLeftovers(t, filepath.Dir(links[h.Name][0].target), filepath.Dir(h.ConfigFile)); len(left) > 0 {
			t.Errorf("%s: left behind: %v", h.Name, left)
		}
	}
}

// tempLeftovers lists temporary and partial files of sshplay in dirs.
func tempLeftovers(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".sshplay-") && e.Name() != pgJournalName || strings.HasSuffix(e.Name(), ".sshplay-restore") {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	return out
}

const pgJournalName = ".sshplay-journal"

// mountOver mounts a tmpfs of size bytes over dir, with dir's files copied
// in (owner, mode and times kept), and unmounts it when the test ends.
func mountOver(t *testing.T, dir string, size int) {
	t.Helper()
	keep := t.TempDir()
	if out, err := exec.Command("cp", "-a", dir+"/.", keep).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v %s", dir, err, out)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	opts := fmt.Sprintf("size=%d,mode=%04o,uid=%d,gid=%d", size, fi.Mode().Perm(), st.Uid, st.Gid)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	if out, err := exec.Command("cp", "-a", keep+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy into the tmpfs: %v %s", err, out)
	}
}

// diskUse is what a file takes on a 4 KiB-page tmpfs.
func diskUse(n int) uint64 { return uint64((n + 4095) / 4096 * 4096) }

func TestLabFullConfigDirFailsCleanlyAndConvergesOnceFreed(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	if h.Layout != lab.LayoutDebian {
		t.Fatalf("%s has the %s layout, want debian", h.Name, h.Layout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	etc := filepath.Dir(h.ConfigFile)
	mountOver(t, etc, 512<<10)
	before := map[string]fileState{}
	ents, _ := os.ReadDir(etc)
	for _, e := range ents {
		before[e.Name()] = stateOf(t, filepath.Join(etc, e.Name()))
	}
	// Room for the backups of postgresql.conf and pg_hba.conf, not also
	// for the rewritten postgresql.conf.
	free := diskUse(len(before["postgresql.conf"].data)) + diskUse(len(before["pg_hba.conf"].data)) + 12<<10
	var st syscall.Statfs_t
	if err := syscall.Statfs(etc, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(etc, "filler")
	if err := os.WriteFile(filler, make([]byte, st.Bavail*uint64(st.Bsize)-free), 0o600); err != nil {
		t.Fatal(err)
	}

	d := newDriver(t, l, nil)
	r := d.run(ctx, false)[h.Name]
	t.Logf("failed at %s: %s", r.failedStep, r.failMsg)
	if !r.rolledBack || !strings.Contains(r.failMsg, "failed (rolled back)") || !strings.Contains(r.failMsg, "no space left on device") ||
		!strings.Contains(r.failMsg, etc) || strings.Contains(r.failMsg, "SSH_FX_FAILURE") {
		t.Fatalf("want a failure saying no space left on device in %s, rolled back; got step %q: %s", etc, r.failedStep, r.failMsg)
	}
	ents, _ = os.ReadDir(etc)
	for _, e := range ents {
		if e.Name() == "filler" {
			continue
		}
		want, ok := before[e.Name()]
		if got := stateOf(t, filepath.Join(etc, e.Name())); !ok || !bytes.Equal(got.data, want.data) || got.mode != want.mode {
			t.Errorf("%s after the failed run: new, changed or truncated (%d bytes, mode %v)", e.Name(), len(got.data), got.mode)
		}
	}
	if len(ents) != len(before)+1 {
		t.Errorf("%s holds %d entries, want the %d it had and the filler", etc, len(ents), len(before))
	}
	if left := tempLeftovers(t, etc, h.DataDir); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if got := psqlOn(t, ctx, d, h, "SELECT 1;"); strings.TrimSpace(got) != "1" {
		t.Errorf("the rolled-back server answers %q", got)
	}

	// Space freed: the job converges.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	requireAllProven(t, d.run(ctx, false), l.Hosts)
	if c := d.run(ctx, false)[h.Name].changed; len(c) != 0 {
		t.Errorf("the run after the fix changed %v again", c)
	}
}

// restartLogRe finds the log a restart of a stopped server used.
var restartLogRe = regexp.MustCompile(`the server was down; started it again with pg_ctl \(log: ([^)]+)\)`)

func TestLabRollbackSaysItStartedAStoppedServerAndLogsPrivately(t *testing.T) {
	l := labtest.New(t, 1)
	h := l.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := newDriver(t, l, nil)
	vars := d.vars(h)
	conn, err := d.pool.Conn(ctx, h.Name, vars)
	if err != nil {
		t.Fatal(err)
	}
	env := &tasks.Env{Host: h.Name, Conn: conn.Become(transport.Become{Enabled: true, User: "postgres"}), Local: transport.Local(), Vars: vars}
	exec1 := func(name string) *tasks.Outcome {
		mod, _ := pgModules().Lookup(name)
		o := tasks.Execute(ctx, mod, env, nil, tasks.ExecOptions{})
		if facts, ok := o.Result["ansible_facts"].(map[string]any); ok {
			for k, v := range facts {
				vars[k] = v
			}
		}
		return o
	}
	conf := stateOf(t, h.ConfigFile)
	for _, m := range []string{"pg_facts", "pg_tls_key", "tls_sign", "pg_conf"} {
		if o := exec1(m); o.Status == tasks.StatusFailed {
			t.Fatalf("%s: %v", m, o.Result["msg"])
		}
	}
	// The server goes down before the rescue runs (a failed restart, an
	// operator): the rollback restores the files and starts it again.
	if out, err := exec.CommandContext(ctx, "runuser", "-u", "postgres", "--", filepath.Join(lab.PGBinDir, "pg_ctl"), "-D", h.DataDir, "stop", "-m", "fast", "-w").CombinedOutput(); err != nil {
		t.Fatalf("stop %s: %v %s", h.Name, err, out)
	}
	vars["ansible_failed_result"] = map[string]any{"msg": "simulated failure"}
	o := exec1("pg_tls_rollback")
	msg := fmt.Sprint(o.Result["msg"])
	m := restartLogRe.FindStringSubmatch(msg)
	if o.Status != tasks.StatusFailed || !strings.HasPrefix(msg, "failed (rolled back): simulated failure; ") || m == nil || o.Result["server_started"] == nil {
		t.Fatalf("rollback of a stopped server: %s %q %v", o.Status, msg, o.Result)
	}
	log := m[1]
	t.Logf("%s", msg)
	if strings.HasPrefix(filepath.Dir(log), "/tmp") {
		t.Cleanup(func() { os.RemoveAll(filepath.Dir(log)) })
	}
	if strings.HasPrefix(log, "/tmp/sshplay-restart-") {
		t.Errorf("log at a predictable name: %s", log)
	}
	fi, err := os.Stat(filepath.Dir(log))
	if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != pgUID(t) {
		t.Errorf("log directory %s: %v %v, want 0700 owned by postgres", filepath.Dir(log), fi, err)
	}
	if b, err := os.ReadFile(log); err != nil || !bytes.Contains(b, []byte("ready to accept connections")) {
		t.Errorf("log %s: %v\n%s", log, err, b)
	}
	if got := stateOf(t, h.ConfigFile); !bytes.Equal(got.data, conf.data) || got.mode != conf.mode {
		t.Errorf("%s not restored", h.ConfigFile)
	}
	if got := psqlOn(t, ctx, d, h, "SELECT 1;"); strings.TrimSpace(got) != "1" {
		t.Errorf("the started server answers %q", got)
	}
}

func pgUID(t *testing.T) uint32 {
	t.Helper()
	out, err := exec.Command("id", "-u", "postgres").Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}
