// Command bench measures sshplay against plain OpenSSH on local lab hosts and
// prints the figures side by side. It is a benchmark, not a test: nothing here
// asserts a time. Run it as root on a machine set up as the README says:
//
//	go run ./bench                          # 10 and 30 hosts, RTT 0 and 50ms, 5 rounds each
//	go run ./bench -hosts 30 -rounds 3 -tls=false
//	go run ./bench -hosts 10,30,100,200 -rtt 0,20ms,100ms -rounds 1
//
// It builds the sshplay binary, brings up lab hosts (sshplay lab up), and
// times, per round: `sshplay exec all -- true` with the default forks, the
// same through one OpenSSH client process per host started all at once,
// and (with -tls) the flagship postgres-tls playbook (with -f equal to the
// fleet size) on a freshly reset fleet, its no-change rerun, and --check on
// a freshly reset fleet, at every fleet size of -hosts and every RTT of
// -rtt. Peak memory is the child's maximum resident set size from rusage;
// "growth" is the median against the smallest fleet size.
//
// For an RTT above 0 the playbook runs through a delaying TCP proxy per
// host (proxy.go; this machine has no netem), with an inventory and
// known_hosts the bench writes into the lab dir (bench-rtt-RTT.ini). Under
// each playbook row are the counts per host of that run: remote processes
// by command name and sudo, from Linux process accounting (acct.go; from
// the kernel's proc events instead, and said so, when another process took
// the machine's one accounting file over mid-run: procevents.go),
// PostgreSQL sessions (pg_stat_database), sshplay's own transport counters
// from its --output json ("-" when absent), and the turns the proxy saw
// (sequential round trips on the wire); a summary compares the turns with
// (T_rtt - T_0)/RTT. A run that takes longer than -run-timeout is stopped
// with SIGQUIT, and its goroutine dump kept in the lab dir.
//
// bench must never assert a time or fail on a slow figure: it reports what
// it measured, and the README quotes it. It must never target anything but
// the loopback lab hosts it brought up itself (lab.Up, 127.0.0.0/8): no
// inventory of real servers, no address from the command line; its proxies
// listen on those hosts' own loopback addresses.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sshplay/sshplay/lab"
)

// config is the command line.
type config struct {
	sizes, rtts string
	rounds      int
	runTimeout  time.Duration
	dir         string
	tls, keep   bool
}

func main() {
	var c config
	flag.StringVar(&c.sizes, "hosts", "10,30", "comma-separated fleet sizes to measure (1..200 each)")
	flag.StringVar(&c.rtts, "rtt", "0,50ms", "comma-separated round-trip times to run the playbook over (0: direct)")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds per measurement (median is reported)")
	flag.DurationVar(&c.runTimeout, "run-timeout", 15*time.Minute, "stop a playbook run taking longer (SIGQUIT: its goroutine dump is saved in the lab dir)")
	flag.StringVar(&c.dir, "dir", "/var/tmp/sshplay-bench", "lab directory")
	flag.BoolVar(&c.tls, "tls", true, "also time the postgres-tls playbook (fresh, rerun, --check)")
	flag.BoolVar(&c.keep, "keep", false, "leave the lab hosts running afterwards")
	flag.Parse()
	// An interrupt cancels the run, so that accounting is switched off,
	// the proxies closed and the lab taken down on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall   time.Duration
	maxRSS int64 // KiB
}

// run measures every fleet size: ad-hoc exec against OpenSSH, then (with
// tls) the flagship playbook at every RTT.
func run(ctx context.Context, c config) error {
	sizes, err := parseSizes(c.sizes)
	if err != nil {
		return err
	}
	rtts, err := parseRTTs(c.rtts)
	if err != nil {
		return err
	}
	if c.rounds < 1 {
		return fmt.Errorf("-rounds: want at least 1, got %d", c.rounds)
	}
	bin := filepath.Join(os.TempDir(), "sshplay-bench-bin")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sshplay").CombinedOutput(); err != nil {
		return fmt.Errorf("build sshplay: %v: %s", err, out)
	}
	maxN := slices.Max(sizes)
	start := time.Now()
	l, err := lab.Up(ctx, lab.Config{Dir: c.dir, N: maxN, Stderr: os.Stderr})
	if l != nil && !c.keep {
		defer l.Down(context.WithoutCancel(ctx))
	}
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	fmt.Printf("lab: %d hosts up in %.2fs (dir %s)\n\n", maxN, time.Since(start).Seconds(), c.dir)
	b := bench{lab: l, bin: bin, dir: l.Dir, inv: l.InventoryINI(), rounds: c.rounds, runTimeout: c.runTimeout}
	fmt.Printf("%-40s %6s %10s %10s %10s\n", "measurement", "hosts", "median", "min", "peak RSS")
	for _, n := range sizes {
		if err := b.exec(ctx, n); err != nil {
			return err
		}
	}
	if !c.tls {
		return nil
	}
	links, err := openLinks(l, rtts)
	if err != nil {
		return err
	}
	defer func() {
		for _, k := range links {
			k.close()
		}
	}()
	return b.playbooks(ctx, sizes, links)
}

// openLinks opens one link per RTT, refusing any lab host that is not on
// a loopback address (the proxies listen on the hosts' own addresses).
func openLinks(l *lab.Lab, rtts []time.Duration) ([]link, error) {
	for _, h := range l.Hosts {
		if ip := net.ParseIP(h.Addr); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("lab host %s has address %q, not loopback", h.Name, h.Addr)
		}
	}
	var links []link
	for _, rtt := range rtts {
		k, err := openLink(l, rtt)
		if err != nil {
			for _, o := range links {
				o.close()
			}
			return nil, err
		}
		links = append(links, k)
	}
	return links, nil
}

// parseSizes reads -hosts: fleet sizes from 1 to lab.MaxHosts,
// comma-separated, returned ascending without repeats (the growth column
// divides by the smallest).
func parseSizes(arg string) ([]int, error) {
	var sizes []int
	for _, s := range strings.Split(arg, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 || n > lab.MaxHosts {
			return nil, fmt.Errorf("-hosts: bad size %q (want 1..%d)", s, lab.MaxHosts)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

// bench is what every measurement needs: the lab, the sshplay binary, the
// lab's inventory, how many rounds to take the median of, and how long a
// playbook run may take before it is called hung.
type bench struct {
	lab        *lab.Lab
	bin, dir   string
	inv        string
	rounds     int
	runTimeout time.Duration
}

// limit picks the first n hosts of the lab.
func limit(n int) string { return fmt.Sprintf("dbservers[0:%d]", n-1) }

// exec times `sshplay exec all -- true` on n hosts, with the default forks
// (no -f: what a user types), against one OpenSSH client per host started
// all at once.
func (b bench) exec(ctx context.Context, n int) error {
	sp, err := measure(b.rounds, func() (sample, error) {
		runCtx, cancel := context.WithTimeout(ctx, b.runTimeout)
		defer cancel()
		s, _, err := timeCmd(runCtx, b.bin, "exec", "all", "-i", b.inv, "-l", limit(n), "--", "true")
		return s, err
	})
	if err != nil {
		return fmt.Errorf("sshplay exec: %w", err)
	}
	ossh, err := measure(b.rounds, func() (sample, error) { return parallelSSH(ctx, b.lab.Hosts[:n], b.dir) })
	if err != nil {
		return fmt.Errorf("openssh: %w", err)
	}
	report("sshplay exec all -- true (default -f)", n, sp)
	report("OpenSSH, one ssh per host, parallel", n, ossh)
	fmt.Printf("%-40s %6d %9.2fx\n\n", "ratio sshplay / OpenSSH", n, median(sp).Seconds()/median(ossh).Seconds())
	return nil
}

func measure(rounds int, f func() (sample, error)) ([]sample, error) {
	if _, err := f(); err != nil { // warm-up: page cache, sudo, sshd forks
		return nil, err
	}
	var out []sample
	for i := 0; i < rounds; i++ {
		s, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// timeCmd runs one command and returns its wall time, peak RSS and
// standard output (parsed by the caller); standard error is kept for the
// error. When ctx ends the command gets SIGQUIT, so that a hung Go program
// (sshplay) says where it hung, in the error's stderr.
func timeCmd(ctx context.Context, name string, args ...string) (sample, []byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(t)}
	if st := cmd.ProcessState; st != nil { // nil: it never started
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			s.maxRSS = ru.Maxrss
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		return s, nil, &cmdError{
			msg:    fmt.Sprintf("%s %s: %v\nstdout: %s", name, strings.Join(args, " "), err, tail(stdout.String(), 1000)),
			stdout: stdout.String(),
			stderr: stderr.String(),
		}
	}
	return s, []byte(stdout.String()), nil
}

// cmdError is a failed command: what ran and how it ended, and its whole
// output (a goroutine dump, a JSON document: long; Error shows the ends).
type cmdError struct{ msg, stdout, stderr string }

func (e *cmdError) Error() string { return e.msg + "\nstderr: " + tail(e.stderr, 2000) }

// tail is the last n bytes of s: where a failing run says why.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// parallelSSH starts one OpenSSH client per host at once, as a shell loop
// with `&` would, with the same key and known_hosts as sshplay uses.
func parallelSSH(ctx context.Context, hosts []lab.Host, dir string) (sample, error) {
	t := time.Now()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		maxRSS int64
	)
	for _, h := range hosts {
		wg.Add(1)
		go func(h lab.Host) {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, "ssh", "-o", "ControlMaster=no", "-o", "BatchMode=yes",
				"-o", "UserKnownHostsFile="+filepath.Join(dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
				"-i", filepath.Join(dir, "id_ed25519"), "-p", fmt.Sprint(h.SSHPort), "sshplay@"+h.Addr, "true")
			out, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("ssh %s: %v: %s", h.Addr, err, out)
			}
			if cmd.ProcessState == nil {
				return
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > maxRSS {
				maxRSS = ru.Maxrss
			}
		}(h)
	}
	wg.Wait()
	return sample{wall: time.Since(t), maxRSS: maxRSS}, first
}

func median(s []sample) time.Duration {
	d := make([]time.Duration, len(s))
	for i := range s {
		d[i] = s[i].wall
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

func report(what string, n int, s []sample) {
	minW, peak := s[0].wall, int64(0)
	for _, x := range s {
		if x.wall < minW {
			minW = x.wall
		}
		if x.maxRSS > peak {
			peak = x.maxRSS
		}
	}
	fmt.Printf("%-40s %6d %9.3fs %9.3fs %8.1fMB\n", what, n, median(s).Seconds(), minW.Seconds(), float64(peak)/1024)
}
