package main

// interrupt.go turns SIGINT and SIGTERM into the end of a run. The first
// one cancels the run's context: remote commands are killed, hosts that
// answer nothing are given up on within seconds (transport), and the
// command prints its recap and exits 99. A second one, or the run still
// going giveUpAfter after the first, makes main exit 99 at once: once the
// user has asked twice, nothing a host does may hold sshplay.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// giveUpAfter is the last resort after a first interrupt. A run normally
// ends in a few seconds (a frozen host is given up on after 5 s, a
// become'd command's process group gets 2 s to stop); this only catches
// what would wait longer.
const giveUpAfter = 20 * time.Second

// onInterrupt cancels the run (cancel) at the first SIGINT or SIGTERM,
// telling stderr, and closes force at the second one or giveUpAfter
// later. stop releases the signals.
func onInterrupt(cancel context.CancelFunc, stderr io.Writer) (force <-chan struct{}, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	forced := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintln(stderr, "sshplay: interrupted: stopping the remote commands (interrupt again to exit at once)")
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "sshplay: interrupted again: exiting without waiting for the hosts")
		case <-time.After(giveUpAfter):
			fmt.Fprintf(stderr, "sshplay: still waiting for hosts %s after the interrupt: exiting\n", giveUpAfter)
		case <-done:
			return
		}
		close(forced)
	}()
	return forced, sync.OnceFunc(func() {
		signal.Stop(sigs)
		close(done)
	})
}
