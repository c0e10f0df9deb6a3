package main

// playbook.go measures the flagship postgres-tls playbook: per fleet size
// and RTT, on a fresh fleet, its no-change rerun and --check on a fresh
// fleet; next to the times, what each run did per host (processes, sudo,
// PostgreSQL connections, sshplay's own transport counts, turns on the
// wire), because on these lab VMs the remote work per host, not the
// control machine, is what the times are made of.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sshplay/sshplay/lab"
	"golang.org/x/sync/errgroup"
)

// Kinds of playbook measurement, in the order they are printed.
const (
	kindFresh = "fresh fleet"
	kindRerun = "no-change rerun"
	kindCheck = "--check, fresh fleet"
)

// transportKeys are the per-host counters of the "transport" object of
// sshplay's JSON output, in the order they are printed.
func transportKeys() []string {
	return []string{"connections", "sessions", "sudo", "sftp_requests", "commands"}
}

// runCounts is what one run did on its hosts, summed over the hosts.
type runCounts struct {
	procs procCount
	// procsNote says where procs came from when not from accounting
	// (another process took accounting over); nil procs: nowhere.
	procsNote string
	pgConns   int
	transport map[string]float64 // nil when sshplay's JSON had no "transport"
	turns     int64
}

// result is one measurement over every round: times, and counts summed
// over rounds and hosts (shown per host).
type result struct {
	kind    string
	n       int
	rtt     time.Duration
	samples []sample
	counts  runCounts
	// noTransport is set when any round's output lacked "transport".
	noTransport bool
	// noProcs is set when a round could count no processes at all.
	noProcs bool
}

func (r *result) add(s sample, c runCounts) {
	r.samples = append(r.samples, s)
	r.noProcs = r.noProcs || c.procs == nil
	if r.counts.procs == nil {
		r.counts.procs = procCount{}
	}
	for k, v := range c.procs {
		r.counts.procs[k] += v
	}
	if c.procsNote != "" {
		r.counts.procsNote = c.procsNote
	}
	r.counts.pgConns += c.pgConns
	r.counts.turns += c.turns
	if c.transport == nil {
		r.noTransport = true
		return
	}
	if r.counts.transport == nil {
		r.counts.transport = map[string]float64{}
	}
	for k, v := range c.transport {
		r.counts.transport[k] += v
	}
}

// playbooks measures every fleet size over every link, printing each
// measurement when it is taken (a 200-host run is long), then the
// round-trip summary.
func (b bench) playbooks(ctx context.Context, sizes []int, links []link) error {
	fmt.Printf("%-36s %5s %5s %9s %9s %9s %7s %9s\n", "postgres-tls (-f = hosts)", "rtt", "hosts", "median", "min", "per host", "growth", "peak RSS")
	var all []*result
	for _, n := range sizes {
		for _, k := range links {
			rs, err := b.playbook(ctx, n, k)
			if err != nil {
				return err
			}
			for _, r := range rs {
				printResult(r, smallest(all, r))
			}
			all = append(all, rs...)
		}
		fmt.Println()
	}
	printRoundTrips(all)
	return nil
}

// playbook takes every round of the three measurements at n hosts over k:
// --check on a fresh fleet, then a fresh run and its no-change rerun.
func (b bench) playbook(ctx context.Context, n int, k link) ([]*result, error) {
	fresh := &result{kind: kindFresh, n: n, rtt: k.rtt}
	rerun := &result{kind: kindRerun, n: n, rtt: k.rtt}
	check := &result{kind: kindCheck, n: n, rtt: k.rtt}
	for r := 0; r < b.rounds; r++ {
		for _, step := range []struct {
			res   *result
			reset bool
			extra []string
		}{{check, true, []string{"--check"}}, {fresh, true, nil}, {rerun, false, nil}} {
			if step.reset {
				if err := b.freshFleet(ctx); err != nil {
					return nil, err
				}
			}
			s, c, err := b.measuredRun(ctx, n, k, step.extra...)
			if err != nil {
				return nil, fmt.Errorf("postgres-tls %s, %d hosts, rtt %s: %w", step.res.kind, n, rttName(k.rtt), err)
			}
			step.res.add(s, c)
		}
	}
	return []*result{fresh, rerun, check}, nil
}

// freshFleet puts every lab host back as Up made it and forgets the CA.
func (b bench) freshFleet(ctx context.Context) error {
	if err := b.lab.Reset(ctx); err != nil {
		return fmt.Errorf("lab reset: %w", err)
	}
	return os.RemoveAll(filepath.Join(b.dir, "pki"))
}

// measuredRun runs the playbook once on the first n hosts over k, with
// process accounting on (and the proc events watched, in case another
// process takes accounting over) from just before sshplay starts until its
// SSH connections have ended, and PostgreSQL's session counters read
// before and after (outside that window, so the bench's own readers are
// not counted as remote processes).
func (b bench) measuredRun(ctx context.Context, n int, k link, extra ...string) (sample, runCounts, error) {
	hosts := b.lab.Hosts[:n]
	time.Sleep(300 * time.Millisecond) // backends of the reset's psql exit and report first
	before, err := pgSessions(ctx, b.lab, hosts)
	if err != nil {
		return sample{}, runCounts{}, err
	}
	time.Sleep(300 * time.Millisecond) // the readers' backends exit before accounting starts
	roots, sshds := hostRoots(b.lab.Dir, hosts)
	turns := k.turns(n)
	watch, werr := startProcWatch()
	acct, err := startAcct(ctx, filepath.Join(b.dir, "bench-acct"))
	if err != nil {
		if werr == nil {
			watch.finish()
		}
		return sample{}, runCounts{}, err
	}
	args := append([]string{"play", "postgres-tls", "-i", k.inv, "-l", limit(n), "-f", strconv.Itoa(n), "--output", "json"}, extra...)
	runCtx, cancel := context.WithTimeout(ctx, b.runTimeout)
	s, stdout, runErr := timeCmd(runCtx, b.bin, args...)
	cancel()
	settle(sshds, 10*time.Second)
	recs, acctErr := acct.stop()
	var watched []acctRecord
	lossy := false
	if werr == nil {
		watched, lossy = watch.finish()
	}
	if runErr != nil {
		return s, runCounts{}, b.keepStderr(runErr)
	}
	if acctErr != nil && !errors.Is(acctErr, errAcctTaken) {
		return s, runCounts{}, acctErr
	}
	after, err := pgSessions(ctx, b.lab, hosts)
	if err != nil {
		return s, runCounts{}, err
	}
	restarted, _ := hostRoots(b.lab.Dir, hosts) // a postmaster the run restarted
	maps.Copy(roots, restarted)
	c := runCounts{
		procs:     attribute(recs, roots),
		pgConns:   after - before - n, // each host's "before" reader is counted after
		transport: parseTransport(stdout),
		turns:     k.turns(n) - turns,
	}
	if acctErr != nil {
		c.procs, c.procsNote = procsFallback(watched, roots, werr, lossy)
	}
	return s, c, nil
}

// procsFallback counts the processes from the proc events when accounting
// was taken over, and says so in the note printed next to the counts.
func procsFallback(watched []acctRecord, roots map[uint32]bool, werr error, lossy bool) (procCount, string) {
	switch {
	case werr != nil:
		return nil, "accounting taken over, no proc events: " + werr.Error()
	case lossy:
		return attribute(watched, roots), "from proc events, some lost (accounting taken over)"
	default:
		return attribute(watched, roots), "from proc events (accounting taken over)"
	}
}

// keepStderr saves the whole output of a failed run in the lab dir
// (bench-failed-run.stdout, .stderr) and says so in the error.
func (b bench) keepStderr(err error) error {
	var ce *cmdError
	if !errors.As(err, &ce) {
		return err
	}
	path := filepath.Join(b.dir, "bench-failed-run")
	if os.WriteFile(path+".stderr", []byte(ce.stderr), 0o644) != nil || os.WriteFile(path+".stdout", []byte(ce.stdout), 0o644) != nil {
		return err
	}
	return fmt.Errorf("%w\n(whole output in %s.stdout and .stderr)", err, path)
}

// pgSessions sums pg_stat_database.sessions (every client session since
// the stats were last reset) over hosts. A reader does not see its own
// session: it is counted when the backend reports its stats.
func pgSessions(ctx context.Context, l *lab.Lab, hosts []lab.Host) (int, error) {
	counts := make([]int, len(hosts))
	var g errgroup.Group
	g.SetLimit(8)
	for i, h := range hosts {
		g.Go(func() error {
			out, err := l.Query(ctx, h.Name, "SELECT coalesce(sum(sessions), 0) FROM pg_stat_database")
			if err != nil {
				return err
			}
			counts[i], err = strconv.Atoi(strings.TrimSpace(out))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("pg sessions: %w", err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return total, nil
}

// parseTransport sums, over hosts, the counters of the top-level
// "transport" object of `sshplay play --output json` (host name → counter
// → n). It returns nil when the document has none (an sshplay without
// it), so the bench prints "-" instead of failing.
func parseTransport(stdout []byte) map[string]float64 {
	var doc struct {
		Transport map[string]map[string]float64 `json:"transport"`
	}
	if json.NewDecoder(strings.NewReader(string(stdout))).Decode(&doc) != nil || doc.Transport == nil {
		return nil
	}
	sum := map[string]float64{}
	for _, counters := range doc.Transport {
		for k, v := range counters {
			sum[k] += v
		}
	}
	return sum
}
