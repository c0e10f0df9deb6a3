package playbooks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/tasks"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// timedRun feeds a text reporter two tasks on two hosts with a fake clock:
// "short" takes 2s of wall time (db01 1.5s, db02 0.5s), "long" 3s (db01
// 3s, a loop of two items on db02 2.5s); the run took runTime.
func timedRun(mode string, runTime time.Duration) string {
	var b strings.Builder
	r := newTextReporter(&b, Options{Timings: mode})
	clk := &fakeClock{t: time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)}
	r.tm = newTimings(clk.now)
	short := &Task{Name: "short", Module: "tmsg", Pos: Pos{File: "site.yml", Line: 3, Col: 7}}
	long := &Task{Name: "long", Module: "tmsg", Pos: Pos{File: "site.yml", Line: 5, Col: 7}}
	ok := func(h string, t *Task, d time.Duration) *HostResult {
		return &HostResult{Host: h, Task: t, Status: tasks.StatusOK, Result: map[string]any{}, Duration: d}
	}
	r.PlayStart(&Play{Name: "p"}, []string{"db01", "db02"})
	r.TaskStart(short, false)
	clk.advance(time.Second)
	r.HostResult(ok("db01", short, 1500*time.Millisecond))
	r.HostResult(ok("db02", short, 500*time.Millisecond))
	clk.advance(time.Second)
	r.TaskStart(long, false)
	clk.advance(3 * time.Second)
	r.HostResult(ok("db01", long, 3*time.Second))
	item := ok("db02", long, 0)
	item.Item, item.HasItem = "a", true
	r.HostResult(item)
	loop := ok("db02", long, 2500*time.Millisecond)
	loop.LoopSummary = true
	r.LoopDone(loop)
	r.Recap(&Summary{Hosts: []string{"db01", "db02"}, Stats: map[string]*Stats{"db01": {OK: 2}, "db02": {OK: 2}}, Duration: runTime})
	return b.String()
}

// TestTimingsShowDurationsTotalsAndSlowestTasks: with --timings=always
// every host line carries its duration (a loop item none: its loop's
// summary has the time), each recap line the host's total, and the
// summary lists the tasks slowest first with their wall time.
func TestTimingsShowDurationsTotalsAndSlowestTasks(t *testing.T) {
	t.Parallel()
	out := timedRun(TimingsAlways, 5*time.Second+350*time.Millisecond)
	for _, want := range []string{
		"ok: [db01] (1.50s)\n",
		"ok: [db02] (0.50s)\n",
		"ok: [db02] => (item=a)\n",
		"ignored=0     time=4.50s\n", // db01: 1.5 + 3
		"ignored=0     time=3.00s\n", // db02: 0.5 + the loop's 2.5
		"Playbook run took 0 days, 0 hours, 0 minutes, 5.35 seconds\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	summary := out[strings.Index(out, "TASK TIMINGS"):]
	long := strings.Index(summary, "long (site.yml:5:7) ---")
	short := strings.Index(summary, "short (site.yml:3:7) ---")
	if long < 0 || short < 0 || long > short {
		t.Fatalf("summary not slowest first:\n%s", summary)
	}
	for _, want := range []string{"---- 3.00s\n", "---- 2.00s\n"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(summary), "\n")[2:] {
		if strings.HasPrefix(l, "Playbook") || l == "" {
			continue
		}
		if len(l) != 79 {
			t.Errorf("summary line is %d wide, want 79: %q", len(l), l)
		}
	}
}

// TestTimingsAutoShowsOnlyForLongRuns: by default (auto) a short run
// prints no durations at all, a run over 30s prints the totals and the
// summary (never the per-line durations); never prints none, however long
// the run.
func TestTimingsAutoShowsOnlyForLongRuns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode    string
		run     time.Duration
		summary bool
	}{
		{"", 10 * time.Second, false},
		{TimingsAuto, 10 * time.Second, false},
		{TimingsAuto, 31 * time.Second, true},
		{TimingsNever, time.Hour, false},
	} {
		out := timedRun(c.mode, c.run)
		if got := strings.Contains(out, "TASK TIMINGS"); got != c.summary {
			t.Errorf("%q, run %s: summary shown %v, want %v:\n%s", c.mode, c.run, got, c.summary, out)
		}
		if got := strings.Contains(out, "time=4.50s"); got != c.summary {
			t.Errorf("%q, run %s: host totals shown %v, want %v", c.mode, c.run, got, c.summary)
		}
		if strings.Contains(out, "(1.50s)") {
			t.Errorf("%q: per-line durations without --timings=always:\n%s", c.mode, out)
		}
	}
}

// TestTimingsSummaryListsTheTwentySlowest: as profile_tasks, the summary
// stops at twenty tasks, the fastest left out.
func TestTimingsSummaryListsTheTwentySlowest(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	r := newTextReporter(&b, Options{Timings: TimingsAlways})
	clk := &fakeClock{t: time.Unix(0, 0)}
	r.tm = newTimings(clk.now)
	for i := 1; i <= 25; i++ {
		r.TaskStart(&Task{Name: fmt.Sprintf("task%02d", i), Module: "tmsg", Pos: Pos{File: "s.yml", Line: i, Col: 7}}, false)
		clk.advance(time.Duration(i) * time.Second)
	}
	r.Recap(&Summary{Stats: map[string]*Stats{}, Duration: time.Minute})
	out := b.String()
	if n := strings.Count(out, "s.yml:"); n != 20 {
		t.Errorf("summary lists %d tasks, want 20:\n%s", n, out)
	}
	if !strings.Contains(out, "task25 (s.yml:25:7)") || strings.Contains(out, "task05 ") {
		t.Errorf("summary should keep the slowest and drop the fastest:\n%s", out)
	}
}

// TestRunTookHasSubSecondPrecision: the last line counts days, hours,
// minutes and seconds with two decimals (truncated: never "60.00").
func TestRunTookHasSubSecondPrecision(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		2350 * time.Millisecond:                           "0 days, 0 hours, 0 minutes, 2.35 seconds",
		time.Hour + 2*time.Minute + 3456*time.Millisecond: "0 days, 1 hours, 2 minutes, 3.45 seconds",
		59*time.Second + 999*time.Millisecond:             "0 days, 0 hours, 0 minutes, 59.99 seconds",
		26 * time.Hour:                                    "1 days, 2 hours, 0 minutes, 0.00 seconds",
	} {
		if got := runTook(d); got != "Playbook run took "+want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}
