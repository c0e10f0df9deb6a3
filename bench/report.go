package main

// report.go prints the playbook figures: a row of times per measurement,
// a line of per-host counts under it, and the round-trip summary.

import (
	"fmt"
	"strings"
	"time"
)

// smallest returns the measurement of the same kind and RTT at the
// smallest fleet size taken so far (nil when r is the first): the base
// that the growth column divides by.
func smallest(done []*result, r *result) *result {
	for _, d := range done {
		if d.kind == r.kind && d.rtt == r.rtt {
			return d
		}
	}
	return nil
}

// printResult prints r's times (median, min, median per host, growth
// against base, peak RSS) and, under them, what the run did per host.
func printResult(r *result, base *result) {
	med := median(r.samples)
	growth := "1.00x"
	if base != nil {
		growth = fmt.Sprintf("%.2fx", med.Seconds()/median(base.samples).Seconds())
	}
	minW, peak := minWall(r.samples), peakRSS(r.samples)
	fmt.Printf("%-36s %5s %5d %8.3fs %8.3fs %7.1fms %7s %7.1fMB\n", "postgres-tls, "+r.kind, rttName(r.rtt), r.n,
		med.Seconds(), minW.Seconds(), med.Seconds()*1000/float64(r.n), growth, float64(peak)/1024)
	fmt.Printf("    per host: %s\n", countsLine(r))
}

// countsLine formats r's counts per host (summed counts divided by hosts
// and rounds): processes (top command names), sudo, PostgreSQL sessions,
// sshplay's transport counters ("-" when its output had none), turns.
func countsLine(r *result) string {
	div := float64(r.n * len(r.samples))
	c := r.counts
	procs := fmt.Sprintf("procs %s (%s), sudo %s, pg conns %s",
		perHost(float64(c.procs.total()), div), topComms(c.procs, div, 6),
		perHost(float64(c.procs["sudo"]), div), perHost(float64(c.pgConns), div))
	switch {
	case r.noProcs:
		procs = "procs ?, sudo ?, pg conns " + perHost(float64(c.pgConns), div)
	case c.procsNote != "":
		procs += " [procs " + c.procsNote + "]"
	}
	var tr []string
	for _, k := range transportKeys() {
		v := "-"
		if !r.noTransport && c.transport != nil {
			v = perHost(c.transport[k], div)
		}
		tr = append(tr, k+" "+v)
	}
	turns := "-"
	if r.rtt > 0 {
		turns = perHost(float64(c.turns), div)
	}
	return fmt.Sprintf("%s; sshplay: %s; turns %s", procs, strings.Join(tr, ", "), turns)
}

// printRoundTrips prints, for each measurement at an RTT above 0, the
// sequential round trips per host two ways: the turns the proxies counted,
// and (T_rtt − T_0)/RTT against the same measurement at RTT 0 and the same
// fleet size. The estimate is the run's critical path, hosts in parallel;
// turns also count round trips that overlap across connections.
func printRoundTrips(all []*result) {
	var rows []string
	for _, r := range all {
		if r.rtt == 0 {
			continue
		}
		est := "-"
		t0 := "-"
		for _, z := range all {
			if z.rtt == 0 && z.n == r.n && z.kind == r.kind {
				d := median(r.samples) - median(z.samples)
				est = fmt.Sprintf("%.1f", float64(d)/float64(r.rtt))
				t0 = fmt.Sprintf("%.3fs", median(z.samples).Seconds())
			}
		}
		rows = append(rows, fmt.Sprintf("%-36s %5s %5d %9s %9s %9s %9s", "postgres-tls, "+r.kind, rttName(r.rtt), r.n,
			t0, fmt.Sprintf("%.3fs", median(r.samples).Seconds()),
			perHost(float64(r.counts.turns), float64(r.n*len(r.samples))), est))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Println("sequential round trips per host: turns on the wire, and (T_rtt - T_0) / RTT")
	fmt.Printf("%-36s %5s %5s %9s %9s %9s %9s\n", "measurement", "rtt", "hosts", "T_0", "T_rtt", "turns", "estimate")
	for _, row := range rows {
		fmt.Println(row)
	}
	fmt.Println()
}

func minWall(s []sample) time.Duration {
	m := s[0].wall
	for _, x := range s {
		m = min(m, x.wall)
	}
	return m
}

func peakRSS(s []sample) int64 {
	var p int64
	for _, x := range s {
		p = max(p, x.maxRSS)
	}
	return p
}
