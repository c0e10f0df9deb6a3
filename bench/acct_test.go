package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// record builds one struct acct_v3 as the kernel writes it.
func record(pid, ppid uint32, comm string) []byte {
	r := make([]byte, acctRecordSize)
	r[1] = acctVersion
	binary.NativeEndian.PutUint32(r[8:], 1001)  // ac_uid, not read
	binary.NativeEndian.PutUint32(r[24:], 7777) // ac_btime, not read
	binary.NativeEndian.PutUint32(r[acctPidOff:], pid)
	binary.NativeEndian.PutUint32(r[acctPpidOff:], ppid)
	copy(r[acctCommOff:], comm)
	return r
}

func TestParseAcctReadsPidPpidAndComm(t *testing.T) {
	b := append(record(4242, 4000, "sudo"), record(4243, 4242, "postgres-sixteen")...)
	recs, err := parseAcct(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []acctRecord{{4242, 4000, "sudo"}, {4243, 4242, "postgres-sixteen"}}
	if len(recs) != 2 || recs[0] != want[0] || recs[1] != want[1] {
		t.Fatalf("got %+v, want %+v", recs, want)
	}
}

func TestParseAcctRefusesOtherVersionsAndPartialRecords(t *testing.T) {
	r := record(1, 0, "x")
	r[1] = 2
	if _, err := parseAcct(r); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version 2 record: err %v", err)
	}
	if _, err := parseAcct(record(1, 0, "x")[:60]); err == nil {
		t.Error("60-byte file: no error")
	}
}

func TestAttributeCountsOnlyDescendantsOfRoots(t *testing.T) {
	// 100 is a host's sshd listener, 200 its postmaster; 900 is some other
	// lab's sshd, 50 the bench.
	recs := []acctRecord{
		{101, 100, "sshd"}, {102, 101, "sshd"}, {103, 102, "bash"}, {104, 103, "sudo"}, {105, 104, "psql"},
		{201, 200, "postgres"},
		{901, 900, "sshd"}, {902, 901, "bash"},
		{51, 50, "sshplay"}, {52, 51, "ssh"},
		{7, 7, "loop"},
	}
	got := attribute(recs, map[uint32]bool{100: true, 200: true})
	want := procCount{"sshd": 2, "bash": 1, "sudo": 1, "psql": 1, "postgres": 1}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if got.total() != 6 {
		t.Errorf("total %d, want 6", got.total())
	}
	if s := topComms(got, 2, 2); s != "sshd 1, bash 0.5, ..." {
		t.Errorf("topComms: %q", s)
	}
}

func TestProcWatchSeesAChildAndItsName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the proc connector needs root")
	}
	w, err := startProcWatch()
	if err != nil {
		t.Skipf("no proc connector here: %v", err)
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		w.finish()
		t.Fatal(err)
	}
	// The kernel's events arrive asynchronously: let the watcher read
	// the child's before stopping it, as the bench settles after a run.
	pid := uint32(cmd.Process.Pid)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !w.saw(pid); {
		time.Sleep(10 * time.Millisecond)
	}
	recs, lost := w.finish()
	for _, r := range recs {
		if r.pid == pid {
			if r.ppid != uint32(os.Getpid()) || (r.comm != "true" && r.comm != "?") {
				t.Errorf("child recorded as %+v, want ppid %d and comm true", r, os.Getpid())
			}
			return
		}
	}
	if !lost {
		t.Errorf("no record of child %d among %d", cmd.Process.Pid, len(recs))
	}
}
