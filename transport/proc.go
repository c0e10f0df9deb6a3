package transport

// proc.go starts commands on the control machine in their own process group
// and kills that group on cancel, but only while the group leader has not
// been reaped, so a recycled process id can never make sshplay kill a
// process it did not start.

import (
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

type localProcess struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	exited bool
}

// startLocalProcess starts cmd as the leader of a new process group.
func startLocalProcess(cmd *exec.Cmd) (*localProcess, error) {
	p := newLocalProcess(cmd)
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

// newLocalProcess prepares cmd to run as the leader of a new process group.
// When cmd was made by exec.CommandContext, a done context kills the whole
// group (while its leader lives), not just the leader.
func newLocalProcess(cmd *exec.Cmd) *localProcess {
	p := &localProcess{cmd: cmd}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Cancel != nil {
		cmd.Cancel = func() error {
			p.killGroup()
			return nil
		}
	}
	return p
}

func (p *localProcess) start() error { return p.cmd.Start() }

// wait waits for the leader to exit without reaping it, marks the group as
// no longer killable, then reaps it with cmd.Wait.
func (p *localProcess) wait() error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	p.exited = true
	p.mu.Unlock()
	return p.cmd.Wait()
}

// killGroup sends SIGKILL to the process group while its leader lives.
func (p *localProcess) killGroup() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.exited {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}
