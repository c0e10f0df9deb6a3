package main

// procevents.go is the second way the bench counts remote processes: the
// kernel's process events connector (netlink, CN_IDX_PROC). Process
// accounting (acct.go) is one file for the whole machine, and other
// engineers' measuring tools switch it on too, silently taking it from the
// bench mid-run; the connector has any number of listeners. It is the
// fallback, not the rule: it can lose events under load (the socket
// overflows) and learns a command name by reading /proc when the process
// execs, so a process gone by then is named "?".

import (
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc connector constants (linux/connector.h, linux/cn_proc.h).
const (
	netlinkConnector  = 11
	cnIdxProc         = 1
	cnValProc         = 1
	procMcastListen   = 1
	procMcastIgnore   = 2
	procEventFork     = 0x1
	procEventExec     = 0x2
	nlmsgHdrLen       = 16
	cnMsgLen          = 20
	procEventDataOff  = 16 // what, cpu, timestamp
	procWatchRcvBytes = 8 << 20
)

// procWatch records, from the moment it starts, every new process (fork)
// with its parent and command name.
type procWatch struct {
	fd   int
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	recs  []acctRecord
	comms map[uint32]string // pid → command name, as last seen
	lost  bool              // the socket overflowed: events were dropped
}

// startProcWatch subscribes to process events (root only).
func startProcWatch() (*procWatch, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkConnector)
	if err != nil {
		return nil, err
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, procWatchRcvBytes)
	tv := syscall.Timeval{Usec: 100_000} // so that stop is noticed
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := procMcast(fd, procMcastListen); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	w := &procWatch{fd: fd, stop: make(chan struct{}), done: make(chan struct{}), comms: map[uint32]string{}}
	go w.loop()
	return w, nil
}

// procMcast sends PROC_CN_MCAST_LISTEN or _IGNORE to the connector.
func procMcast(fd int, op uint32) error {
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], syscall.NLMSG_DONE)
	binary.NativeEndian.PutUint32(msg[8:], 0)
	binary.NativeEndian.PutUint32(msg[12:], uint32(os.Getpid()))
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen:], cnIdxProc)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen+4:], cnValProc)
	binary.NativeEndian.PutUint16(msg[nlmsgHdrLen+16:], 4)
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen+cnMsgLen:], op)
	return syscall.Sendto(fd, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
}

func (w *procWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(w.fd, buf, 0)
		switch {
		case errors.Is(err, syscall.ENOBUFS):
			w.mu.Lock()
			w.lost = true
			w.mu.Unlock()
			continue
		case err != nil:
			continue // timeout or signal: look at stop again
		}
		for b := buf[:n]; len(b) >= nlmsgHdrLen; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < nlmsgHdrLen || l > len(b) {
				break
			}
			w.event(b[nlmsgHdrLen:l])
			next := (l + 3) &^ 3 // messages are 4-byte aligned
			if next >= len(b) {
				break
			}
			b = b[next:]
		}
	}
}

// event handles one cn_msg carrying a proc_event: a fork of a process
// (not a thread) is a record, an exec renames the process.
func (w *procWatch) event(m []byte) {
	if len(m) < cnMsgLen+procEventDataOff+16 {
		return
	}
	ev := m[cnMsgLen:]
	what, data := binary.NativeEndian.Uint32(ev), ev[procEventDataOff:]
	w.mu.Lock()
	defer w.mu.Unlock()
	switch what {
	case procEventFork:
		parent := binary.NativeEndian.Uint32(data[4:])
		child, tgid := binary.NativeEndian.Uint32(data[8:]), binary.NativeEndian.Uint32(data[12:])
		if child != tgid {
			return // a new thread
		}
		comm, ok := w.comms[parent]
		if !ok {
			comm = readComm(parent)
		}
		w.comms[child] = comm
		w.recs = append(w.recs, acctRecord{pid: child, ppid: parent, comm: comm})
	case procEventExec:
		pid := binary.NativeEndian.Uint32(data[4:]) // tgid
		w.comms[pid] = readComm(pid)
	}
}

// readComm is /proc/PID/comm, "?" when the process is gone.
func readComm(pid uint32) string {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// saw reports whether a record of pid has been kept yet.
func (w *procWatch) saw(pid uint32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.recs {
		if r.pid == pid {
			return true
		}
	}
	return false
}

// finish unsubscribes and returns one record per process forked since
// the start, named as last seen, and whether events were lost.
func (w *procWatch) finish() ([]acctRecord, bool) {
	procMcast(w.fd, procMcastIgnore)
	close(w.stop)
	select {
	case <-w.done:
	case <-time.After(2 * time.Second):
	}
	syscall.Close(w.fd)
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]acctRecord, len(w.recs))
	for i, r := range w.recs {
		out[i] = acctRecord{pid: r.pid, ppid: r.ppid, comm: w.comms[r.pid]}
	}
	return out, w.lost
}
