package main

// acct.go counts the processes a run makes on the lab hosts, with Linux
// process accounting: on these VMs a short-lived process costs about 10 ms
// of CPU, so the remote process count per host is what lab timings are
// made of, and what a change to sshplay's remote work should move.
//
// Accounting is machine-wide (other engineers' lab tests run alongside), so
// a record counts only when its chain of parents reaches one of the
// measured hosts' own daemons: the sshd listener (every SSH session and
// what it runs) or the postmaster (every PostgreSQL backend, from remote
// psql or from sshplay's own pgx proof).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sshplay/sshplay/lab"
)

// Layout of struct acct_v3 (linux/acct.h): 64 bytes; ac_version at 1,
// ac_pid at 16, ac_ppid at 20, ac_comm (16 bytes, NUL padded) at 48.
const (
	acctRecordSize = 64
	acctVersion    = 3
	acctPidOff     = 16
	acctPpidOff    = 20
	acctCommOff    = 48
)

// acctRecord is one exited process.
type acctRecord struct {
	pid, ppid uint32
	comm      string
}

// parseAcct decodes a file of acct_v3 records (native byte order: the
// kernel writes its own).
func parseAcct(b []byte) ([]acctRecord, error) {
	if len(b)%acctRecordSize != 0 {
		return nil, fmt.Errorf("acct: %d bytes is not a whole number of %d-byte records", len(b), acctRecordSize)
	}
	out := make([]acctRecord, 0, len(b)/acctRecordSize)
	for i := 0; i < len(b); i += acctRecordSize {
		r := b[i : i+acctRecordSize]
		if v := r[1] &^ 0x80; v != acctVersion { // 0x80: ACCT_BYTEORDER
			return nil, fmt.Errorf("acct: record %d has version %d, want %d (acct_v3)", i/acctRecordSize, v, acctVersion)
		}
		comm := r[acctCommOff:acctRecordSize]
		if j := bytes.IndexByte(comm, 0); j >= 0 {
			comm = comm[:j]
		}
		out = append(out, acctRecord{
			pid:  binary.NativeEndian.Uint32(r[acctPidOff:]),
			ppid: binary.NativeEndian.Uint32(r[acctPpidOff:]),
			comm: string(comm),
		})
	}
	return out, nil
}

// acctLock is taken (flock) while the bench has accounting on. The
// kernel keeps one accounting file for the whole machine, and switching it
// on silently takes it from whoever had it: tools that measure this way
// must take turns, and this lock is how they can.
const acctLock = "/var/tmp/sshplay-acct.lock"

// acctSession is process accounting switched on into one file.
type acctSession struct {
	file string
	lock *os.File
}

// startAcct takes acctLock (waiting while another holder has it, until ctx
// ends), truncates file and switches accounting on into it (root only).
func startAcct(ctx context.Context, file string) (*acctSession, error) {
	lk, err := os.OpenFile(acctLock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("acct: %w", err)
	}
	for syscall.Flock(int(lk.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		select {
		case <-ctx.Done():
			lk.Close()
			return nil, fmt.Errorf("acct: waiting for %s: %w", acctLock, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	a := &acctSession{file: file, lock: lk}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		lk.Close()
		return nil, fmt.Errorf("acct: %w", err)
	}
	if err := syscall.Acct(file); err != nil {
		lk.Close()
		return nil, fmt.Errorf("acct: switch on: %w", err)
	}
	return a, nil
}

// errAcctTaken says that another process switched accounting into a file
// of its own while the bench had it on: the bench's records are
// incomplete, and accounting is left to the other process.
var errAcctTaken = errors.New("acct: another process took process accounting over during the run (counts incomplete)")

// stop switches accounting off, releases the lock and returns what was
// recorded. Processes still running are not in it: stop only once the
// run's processes ended. It first checks that the file still receives
// records (a probe process must appear in it); if not, someone else has
// accounting now, and stop leaves it on for them and returns errAcctTaken.
func (a *acctSession) stop() ([]acctRecord, error) {
	defer a.lock.Close() // releases the flock
	probe := exec.Command("/bin/true")
	if err := probe.Run(); err != nil {
		acctOff()
		return nil, fmt.Errorf("acct: probe: %w", err)
	}
	if recs, err := readAcct(a.file); err != nil || !hasPid(recs, uint32(probe.Process.Pid)) {
		return nil, errAcctTaken
	}
	if err := acctOff(); err != nil {
		return nil, fmt.Errorf("acct: switch off: %w", err)
	}
	return readAcct(a.file)
}

func readAcct(file string) ([]acctRecord, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("acct: %w", err)
	}
	return parseAcct(b)
}

func hasPid(recs []acctRecord, pid uint32) bool {
	for _, r := range recs {
		if r.pid == pid {
			return true
		}
	}
	return false
}

// acctOff switches accounting off: acct(NULL). syscall.Acct("") would pass
// an empty path rather than NULL, fail with ENOENT, and leave accounting
// on, the file growing with every process on the machine.
func acctOff() error {
	if _, _, e := syscall.Syscall(syscall.SYS_ACCT, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// procCount is what one run made on the hosts: processes by command name.
type procCount map[string]int

func (c procCount) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// attribute counts the records whose parent chain reaches one of roots
// (pids of live daemons). A chain is followed through the records
// themselves: a process's parent exited in the same window, or is a root.
func attribute(recs []acctRecord, roots map[uint32]bool) procCount {
	byPid := make(map[uint32]acctRecord, len(recs))
	for _, r := range recs {
		byPid[r.pid] = r
	}
	out := procCount{}
	for _, r := range recs {
		p := r.ppid
		for depth := 0; depth < 64; depth++ { // a reused pid could loop
			if roots[p] {
				out[r.comm]++
				break
			}
			up, ok := byPid[p]
			if !ok || up.pid == up.ppid {
				break
			}
			p = up.ppid
		}
	}
	return out
}

// topComms formats the most frequent command names, each divided by div
// (the host count times rounds), e.g. "sh 4, sudo 1, psql 2".
func topComms(c procCount, div float64, k int) string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if c[names[i]] != c[names[j]] {
			return c[names[i]] > c[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	for i, n := range names {
		if i == k {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, n+" "+perHost(float64(c[n]), div))
	}
	return strings.Join(parts, ", ")
}

// hostRoots returns the pids of the sshd listener and the postmaster of
// every host, from their pid files (the lab's layout: DIR/hosts/NAME/ssh/
// sshd.pid, DATA/postmaster.pid). The listeners are also returned apart:
// settle waits for their sessions to end.
func hostRoots(labDir string, hosts []lab.Host) (roots map[uint32]bool, sshds []uint32) {
	roots = map[uint32]bool{}
	for _, h := range hosts {
		if pid := readPid(filepath.Join(labDir, "hosts", h.Name, "ssh", "sshd.pid")); pid > 0 {
			roots[pid] = true
			sshds = append(sshds, pid)
		}
		if pid := readPid(filepath.Join(h.DataDir, "postmaster.pid")); pid > 0 {
			roots[pid] = true
		}
	}
	return roots, sshds
}

// readPid reads the first line of a pid file; 0 when there is none.
func readPid(path string) uint32 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, err := strconv.ParseUint(strings.TrimSpace(line), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// settle waits until no process is a child of the listeners (every SSH
// connection of the run has ended: its processes exited and so were
// recorded), at most limit, then a short grace for exits still in flight.
func settle(listeners []uint32, limit time.Duration) {
	want := map[uint32]bool{}
	for _, p := range listeners {
		want[p] = true
	}
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && hasChildOf(want); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}

// hasChildOf reports whether a running process has its parent in parents
// (from /proc/PID/stat; field 4, after the parenthesized command name).
func hasChildOf(parents map[uint32]bool) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.ParseUint(f[1], 10, 32); err == nil && parents[uint32(pp)] {
			return true
		}
	}
	return false
}
