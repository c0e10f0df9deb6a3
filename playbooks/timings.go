package playbooks

// Timings in the text output: how long each task took on each host, each
// host's total, and, as Ansible's profile_tasks callback prints, the
// slowest tasks of the run. A long run is where a user asks what was slow,
// so by default (auto) the summary appears only for runs over 30 seconds;
// per-host durations on every line would crowd a normal run, so they
// appear only when asked for (always).

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Values of Options.Timings (--timings).
const (
	TimingsAuto   = "auto"
	TimingsAlways = "always"
	TimingsNever  = "never"
)

// TimingsModes returns the accepted --timings values, in help order.
func TimingsModes() []string { return []string{TimingsAuto, TimingsAlways, TimingsNever} }

const (
	// timingsAutoAfter is how long a run must take for auto to show the
	// per-host totals and the slowest tasks.
	timingsAutoAfter = 30 * time.Second
	// timingsTop is how many tasks the summary lists, as profile_tasks.
	timingsTop = 20
)

// taskKey tells a task from the same task run as a handler.
type taskKey struct {
	task    *Task
	handler bool
}

// taskTiming is a task's time over the run: the wall time from its banner
// to the next one (profile_tasks' measure), summed over serial batches,
// plus, for tasks run without a banner (strategy free), the longest
// per-host duration.
type taskTiming struct {
	name  string
	pos   string
	wall  time.Duration
	alone time.Duration
}

func (tt *taskTiming) total() time.Duration { return tt.wall + tt.alone }

// timings collects the durations a text reporter shows. It is not safe for
// concurrent use: the reporter calls it under its own lock.
type timings struct {
	now   func() time.Time
	tasks map[taskKey]*taskTiming
	order []taskKey
	// open is the task whose banner is the last one printed, since when.
	open      *taskTiming
	openSince time.Time
	hosts     map[string]time.Duration
}

func newTimings(now func() time.Time) *timings {
	if now == nil {
		now = time.Now
	}
	return &timings{now: now, tasks: map[taskKey]*taskTiming{}, hosts: map[string]time.Duration{}}
}

func (tm *timings) entry(t *Task, handler bool) *taskTiming {
	k := taskKey{t, handler}
	tt, ok := tm.tasks[k]
	if !ok {
		name := t.DisplayName()
		if handler {
			name = "handler: " + name
		}
		tt = &taskTiming{name: name, pos: t.Pos.String()}
		tm.tasks[k] = tt
		tm.order = append(tm.order, k)
	}
	return tt
}

// taskStart closes the task shown before and starts timing t.
func (tm *timings) taskStart(t *Task, handler bool) {
	tm.stop()
	tm.open, tm.openSince = tm.entry(t, handler), tm.now()
}

// stop ends the open task's span (a new play, the recap).
func (tm *timings) stop() {
	if tm.open != nil {
		tm.open.wall += tm.now().Sub(tm.openSince)
		tm.open = nil
	}
}

// result counts one host's result: a loop item's time is in its loop's
// summary, so items add nothing.
func (tm *timings) result(hr *HostResult) {
	if hr.HasItem {
		return
	}
	tm.hosts[hr.Host] += hr.Duration
	if tt := tm.entry(hr.Task, hr.Handler); tt != tm.open && hr.Duration > tt.alone {
		tt.alone = hr.Duration
	}
}

// show says whether a run of d shows the totals and the summary.
func showTimings(mode string, d time.Duration) bool {
	switch mode {
	case TimingsAlways:
		return true
	case TimingsNever:
		return false
	}
	return d > timingsAutoAfter
}

// hostTotal is the recap's suffix for a host: the time its tasks took.
func (tm *timings) hostTotal(host string) string {
	return fmt.Sprintf("  time=%s", seconds(tm.hosts[host]))
}

// writeSummary prints the slowest tasks, slowest first (ties in run
// order), at most timingsTop of them, as profile_tasks does.
func (tm *timings) writeSummary(w io.Writer) {
	all := make([]*taskTiming, 0, len(tm.order))
	for _, k := range tm.order {
		all = append(all, tm.tasks[k])
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].total() > all[j].total() })
	if len(all) > timingsTop {
		all = all[:timingsTop]
	}
	fmt.Fprint(w, banner("TASK TIMINGS"))
	fmt.Fprintln(w, strings.Repeat("=", 79))
	for _, tt := range all {
		d := seconds(tt.total())
		label := tt.name + " (" + tt.pos + ")"
		dashes := 79 - len(label) - len(d) - 2
		if dashes < 3 {
			dashes = 3
		}
		fmt.Fprintf(w, "%s %s %s\n", label, strings.Repeat("-", dashes), d)
	}
}

// seconds is d as "2.35s": two decimals, what a person compares.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// runTook is the last line of a playbook run, Ansible's wording with
// sub-second precision ("0 days, 0 hours, 0 minutes, 2.35 seconds").
func runTook(d time.Duration) string {
	d = d.Truncate(10 * time.Millisecond)
	return fmt.Sprintf("Playbook run took %d days, %d hours, %d minutes, %.2f seconds",
		int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60, (d % time.Minute).Seconds())
}
