// Command bench measures sshplay against plain OpenSSH on local lab hosts and
// prints the figures side by side. It is a benchmark, not a test: nothing here
// asserts a time. Run it as root on a machine set up as the README says:
//
//	go run ./bench            # 10 and 30 hosts, 5 rounds each
//	go run ./bench -hosts 30 -rounds 3 -tls=false
//
// It builds the sshplay binary, brings up lab hosts (sshplay lab up), and
// times, per round: `sshplay exec all -- true` with the default forks, the same through one OpenSSH
// client process per host started all at once, and (with -tls) the flagship
// postgres-tls playbook (with -f equal to the fleet size) on a freshly reset
// fleet and its no-change rerun.
// Peak memory is the child's maximum resident set size from rusage.
//
// bench must never assert a time or fail on a slow figure: it reports what
// it measured, and the README quotes it. It must never target anything but
// the loopback lab hosts it brought up itself (lab.Up, 127.0.0.0/8): no
// inventory of real servers, no address from the command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sshplay/sshplay/lab"
)

func main() {
	var (
		sizes  = flag.String("hosts", "10,30", "comma-separated fleet sizes to measure")
		rounds = flag.Int("rounds", 5, "rounds per measurement (median is reported)")
		dir    = flag.String("dir", "/var/tmp/sshplay-bench", "lab directory")
		tls    = flag.Bool("tls", true, "also time the postgres-tls playbook (fresh and rerun)")
		keep   = flag.Bool("keep", false, "leave the lab hosts running afterwards")
	)
	flag.Parse()
	if err := run(*sizes, *rounds, *dir, *tls, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall   time.Duration
	maxRSS int64 // KiB
}

// run measures every fleet size in sizesArg: ad-hoc exec against
// OpenSSH, then (with tls) the flagship playbook, fresh and rerun.
func run(sizesArg string, rounds int, dir string, tls, keep bool) error {
	ctx := context.Background()
	sizes, err := parseSizes(sizesArg)
	if err != nil {
		return err
	}
	bin := filepath.Join(os.TempDir(), "sshplay-bench-bin")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sshplay").CombinedOutput(); err != nil {
		return fmt.Errorf("build sshplay: %v: %s", err, out)
	}
	maxN := slices.Max(sizes)
	start := time.Now()
	l, err := lab.Up(ctx, lab.Config{Dir: dir, N: maxN, Stderr: os.Stderr})
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	fmt.Printf("lab: %d hosts up in %.2fs (dir %s)\n\n", maxN, time.Since(start).Seconds(), dir)
	if !keep {
		defer l.Down(ctx)
	}
	b := bench{lab: l, bin: bin, dir: dir, inv: filepath.Join(dir, "inventory.ini"), rounds: rounds}
	fmt.Printf("%-40s %6s %10s %10s %10s\n", "measurement", "hosts", "median", "min", "peak RSS")
	for _, n := range sizes {
		if err := b.exec(n); err != nil {
			return err
		}
	}
	if !tls {
		return nil
	}
	for _, n := range sizes {
		if err := b.playbook(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// parseSizes reads -hosts: fleet sizes from 1 to 200, comma-separated.
func parseSizes(arg string) ([]int, error) {
	var sizes []int
	for _, s := range strings.Split(arg, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 || n > 200 {
			return nil, fmt.Errorf("-hosts: bad size %q", s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// bench is what every measurement needs: the lab, the sshplay binary, the
// lab's inventory and how many rounds to take the median of.
type bench struct {
	lab      *lab.Lab
	bin, dir string
	inv      string
	rounds   int
}

// limit picks the first n hosts of the lab.
func limit(n int) string { return fmt.Sprintf("dbservers[0:%d]", n-1) }

// exec times `sshplay exec all -- true` on n hosts, with the default forks
// (no -f: what a user types), against one OpenSSH client per host started
// all at once.
func (b bench) exec(n int) error {
	sp, err := measure(b.rounds, func() (sample, error) {
		return timeCmd(b.bin, "exec", "all", "-i", b.inv, "-l", limit(n), "--", "true")
	})
	if err != nil {
		return fmt.Errorf("sshplay exec: %w", err)
	}
	ossh, err := measure(b.rounds, func() (sample, error) { return parallelSSH(b.lab.Hosts[:n], b.dir) })
	if err != nil {
		return fmt.Errorf("openssh: %w", err)
	}
	report("sshplay exec all -- true (default -f)", n, sp)
	report("OpenSSH, one ssh per host, parallel", n, ossh)
	fmt.Printf("%-40s %6d %9.2fx\n\n", "ratio sshplay / OpenSSH", n, median(sp).Seconds()/median(ossh).Seconds())
	return nil
}

// playbook times the postgres-tls playbook on n freshly reset hosts, then
// its no-change rerun, with -f equal to the fleet size (every host at
// once).
func (b bench) playbook(ctx context.Context, n int) error {
	var fresh, rerun []sample
	play := func() (sample, error) {
		return timeCmd(b.bin, "play", "postgres-tls", "-i", b.inv, "-l", limit(n), "-f", strconv.Itoa(n))
	}
	for r := 0; r < b.rounds; r++ {
		if err := b.lab.Reset(ctx); err != nil {
			return fmt.Errorf("lab reset: %w", err)
		}
		os.RemoveAll(filepath.Join(b.dir, "pki"))
		s, err := play()
		if err != nil {
			return fmt.Errorf("postgres-tls fresh run: %w", err)
		}
		fresh = append(fresh, s)
		if s, err = play(); err != nil {
			return fmt.Errorf("postgres-tls rerun: %w", err)
		}
		rerun = append(rerun, s)
	}
	report(fmt.Sprintf("postgres-tls -f %d, fresh fleet", n), n, fresh)
	report(fmt.Sprintf("postgres-tls -f %d, no-change rerun", n), n, rerun)
	fmt.Println()
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

// timeCmd runs one command and returns its wall time and peak RSS.
func timeCmd(name string, args ...string) (sample, error) {
	cmd := exec.Command(name, args...)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	t := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(t)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.maxRSS = ru.Maxrss
	}
	if err != nil {
		out := buf.String()
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return s, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return s, nil
}

// parallelSSH starts one OpenSSH client per host at once, as a shell loop
// with `&` would, with the same key and known_hosts as sshplay uses.
func parallelSSH(hosts []lab.Host, dir string) (sample, error) {
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
			cmd := exec.Command("ssh", "-o", "ControlMaster=no", "-o", "BatchMode=yes",
				"-o", "UserKnownHostsFile="+filepath.Join(dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
				"-i", filepath.Join(dir, "id_ed25519"), "-p", fmt.Sprint(h.SSHPort), "sshplay@"+h.Addr, "true")
			out, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("ssh %s: %v: %s", h.Addr, err, out)
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
