package main

// A lab host frozen mid-run (SIGSTOP on its sshd and everything under it:
// connections stay open, nothing answers, as with a frozen VM) must not
// hold the run: --task-timeout gives it up and lets the other hosts go on,
// an interrupt ends the run within seconds, and a second interrupt exits
// at once. The interrupt tests run this test binary as sshplay itself
// (TestMain), so that real signals reach a real process.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshplay/sshplay/lab"
	"github.com/sshplay/sshplay/lab/labtest"
)

// runAsSSHPlay makes the test binary run main() instead of the tests: the
// interrupt tests start it as a child process with sshplay's arguments.
const runAsSSHPlay = "SSHPLAY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsSSHPlay) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// frozenRunBound bounds how long a run may go on after its frozen host
// should have been given up on: sshplay waits 5 s for a cancelled host to
// answer; the rest is margin for a loaded machine. Before, a frozen host
// held the run for about a minute.
const frozenRunBound = 20 * time.Second

// markerDir is a directory every lab login user may write to: the lab
// hosts share this machine's file system, so a task on a host says it has
// started by creating a file named after the host.
func markerDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sshplay-marks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitMarks waits until the task has started on every host named, or
// fails the test when the run ended first.
func waitMarks(t *testing.T, dir string, ended <-chan struct{}, hosts ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for _, h := range hosts {
		for {
			if _, err := os.Stat(filepath.Join(dir, h)); err == nil {
				break
			}
			select {
			case <-ended:
				t.Fatalf("the run ended before the task started on %s", h)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("the task never started on %s", h)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func writePlaybook(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.yml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLabFrozenHost shares one three-host lab between the behaviours.
func TestLabFrozenHost(t *testing.T) {
	l := labtest.New(t, 3)
	t.Run("task timeout gives the frozen host up and lets the others go on", func(t *testing.T) {
		taskTimeoutOnFrozenHost(t, l)
	})
	t.Run("interrupt ends the run within seconds", func(t *testing.T) {
		interruptWithFrozenHost(t, l, false)
	})
	t.Run("second interrupt exits at once", func(t *testing.T) {
		interruptWithFrozenHost(t, l, true)
	})
}

// taskTimeoutOnFrozenHost: with --task-timeout 4, a task that db01 runs
// when it freezes ends with db01 UNREACHABLE (no answer from host), db02,
// alive but too slow, fails with Ansible's timeout message, and db03 runs
// the next task; the run ends soon after the timeout.
func taskTimeoutOnFrozenHost(t *testing.T, l *lab.Lab) {
	marks := markerDir(t)
	pb := writePlaybook(t, `- hosts: all
  gather_facts: false
  tasks:
    - name: work
      shell: "touch {{ marks }}/{{ inventory_hostname }}; [ {{ inventory_hostname }} = db03 ] || sleep 60"
    - name: after
      command: "true"
`)
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	ended := make(chan struct{})
	go func() {
		code, out, stderr := runCLI(t, "play", pb, "-i", l.InventoryINI(), "-e", "marks="+marks, "--task-timeout", "4")
		done <- result{code, out, stderr}
		close(ended)
	}()
	waitMarks(t, marks, ended, "db01", "db02", "db03")
	labtest.FreezeSSH(t, l, "db01")
	frozen := time.Now()
	var r result
	select {
	case r = <-done:
		if r.code == exitUsage {
			t.Fatalf("exit 5: %s", r.err)
		}
	case <-time.After(4*time.Second + frozenRunBound):
		t.Fatalf("run still going %s after db01 froze under a 4 s task timeout", 4*time.Second+frozenRunBound)
	}
	t.Logf("run ended %s after db01 froze", time.Since(frozen).Round(time.Millisecond))
	if r.code != exitHostFailed {
		t.Errorf("exit %d, want %d (db02 failed)\n%s%s", r.code, exitHostFailed, r.out, r.err)
	}
	for _, want := range []string{
		`fatal: [db01]: UNREACHABLE!`, `no answer from host for `,
		`fatal: [db02]: FAILED!`, `The shell action failed to execute in the expected time frame (4) and was terminated`,
		"TASK [after]", "changed: [db03]",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if !recapHas(r.out, "db03", "ok=2") || !recapHas(r.out, "db01", "unreachable=1") || !recapHas(r.out, "db02", "failed=1") {
		t.Errorf("recap:\n%s", r.out)
	}
}

// recapHas reports whether host's PLAY RECAP line contains want.
func recapHas(out, host, want string) bool {
	i := strings.LastIndex(out, "PLAY RECAP")
	if i < 0 {
		return false
	}
	for _, line := range strings.Split(out[i:], "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == host {
			return strings.Contains(line, want)
		}
	}
	return false
}

// interruptWithFrozenHost runs sshplay as a process whose task is running
// on every host, freezes db01 and interrupts it. One interrupt: exit 99
// within frozenRunBound, with the recap. Two: exit 99 right after the
// second, before the 5 s the first one gives the frozen host.
func interruptWithFrozenHost(t *testing.T, l *lab.Lab, twice bool) {
	marks := markerDir(t)
	pb := writePlaybook(t, `- hosts: all
  gather_facts: false
  tasks:
    - name: work
      shell: "touch {{ marks }}/{{ inventory_hostname }}; sleep 300"
`)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "play", pb, "-i", l.InventoryINI(), "-e", "marks="+marks)
	cmd.Env = append(os.Environ(), runAsSSHPlay+"=1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill() // the process this test started
			<-exited
		}
	})
	waitMarks(t, marks, exited, "db01", "db02", "db03")
	labtest.FreezeSSH(t, l, "db01")
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	last, bound := time.Now(), frozenRunBound
	if twice {
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		last, bound = time.Now(), 2500*time.Millisecond
	}
	select {
	case <-exited:
	case <-time.After(bound):
		t.Fatalf("sshplay still running %s after the last interrupt\n%s%s", bound, stdout.String(), stderr.String())
	}
	t.Logf("exited %s after the last interrupt", time.Since(last).Round(time.Millisecond))
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("exit %v, want %d\n%s%s", waitErr, exitInterrupted, stdout.String(), stderr.String())
	}
	want := "interrupted: stopping the remote commands"
	if twice {
		want = "interrupted again: exiting without waiting for the hosts"
	} else if !strings.Contains(stdout.String(), "PLAY RECAP") {
		t.Errorf("no recap after one interrupt:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}
