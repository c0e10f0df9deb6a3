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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &localProcess{cmd: cmd}, nil
}

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
