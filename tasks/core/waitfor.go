package core

// wait_for: wait until a port opens or closes (optionally until its banner
// matches search_regex), or a file appears (with a regex) or disappears, on
// the host (ansible.builtin.wait_for). Waiting only reads, so it happens
// during Plan (bounded by timeout and ctx); it never changes anything.
//
// Planned changes: when the condition does not hold at the first probe and
// what wait_for waits for depends on a change an earlier task planned but
// did not apply (overlay.PendingPath for a path; for a port, a service
// that would be started or stopped: overlay.PendingStates), it does not
// wait for that change; it plans "would wait for ..." (ok), as the run that
// applies the change first would then wait and succeed. Nothing is pending
// in a real run, so there it always waits, against the real host, as it
// does whenever nothing it depends on is pending.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// waitClock lets tests run wait_for without real sleeps.
type waitClock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

var realClock = waitClock{
	now: time.Now,
	sleep: func(ctx context.Context, d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	},
}

type waitFor struct{ clock waitClock }

// waitArgs are wait_for's arguments, decoded and checked.
type waitArgs struct {
	host           string
	port           int
	path           string
	state          string // started, present, stopped or absent
	timeout        time.Duration
	delay          time.Duration
	sleep          time.Duration
	connectTimeout int // seconds
	searchRe       string
	re             *regexp.Regexp // search_regex compiled; nil without one
	msg            string
}

// parseWaitArgs decodes and checks wait_for's arguments; with neither
// port nor path, wait_for only sleeps (delay defaults to timeout).
func parseWaitArgs(raw map[string]any) (waitArgs, error) {
	a, err := args.Parse("wait_for", raw, "host", "port", "path", "state", "timeout", "delay", "sleep",
		"search_regex", "connect_timeout", "msg")
	if err != nil {
		return waitArgs{}, err
	}
	wa := waitArgs{
		host: a.Str("host", "127.0.0.1"), port: a.Int("port", 0), path: a.Str("path", ""),
		state:   a.Choice("state", "started", "started", "present", "stopped", "absent"),
		timeout: time.Duration(a.Int("timeout", 300)) * time.Second,
		delay:   time.Duration(a.Int("delay", 0)) * time.Second,
		sleep:   time.Duration(a.Int("sleep", 1)) * time.Second, connectTimeout: a.Int("connect_timeout", 5),
		searchRe: a.Str("search_regex", ""), msg: a.Str("msg", ""),
	}
	a.Exclusive("port", "path")
	if err := a.Err(); err != nil {
		return wa, err
	}
	if wa.searchRe != "" {
		if wa.path == "" && wa.port == 0 {
			return wa, args.Errorf("wait_for", "", "search_regex needs path or port")
		}
		if wa.re, err = compilePy(wa.searchRe, true); err != nil {
			return wa, args.Errorf("wait_for", "", "%w", err)
		}
	}
	if wa.port == 0 && wa.path == "" && wa.delay == 0 && wa.timeout > 0 {
		wa.delay = wa.timeout // Ansible: no port and no path is a plain sleep
	}
	if wa.port < 0 || wa.port > 65535 {
		return wa, args.Errorf("wait_for", "", "port %d out of range", wa.port)
	}
	return wa, a.Ready()
}

func (w waitFor) Plan(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	wa, err := parseWaitArgs(raw)
	if err != nil {
		return nil, err
	}
	start := w.clock.now()
	if wa.delay > 0 {
		if err := w.clock.sleep(ctx, wa.delay); err != nil {
			return nil, err
		}
	}
	if wa.port == 0 && wa.path == "" {
		elapsed := int(w.clock.now().Sub(start).Seconds())
		return &tasks.Change{Action: tasks.None, Summary: "waited " + strconv.Itoa(elapsed) + "s",
			Result: map[string]any{"elapsed": elapsed, "state": wa.state}}, nil
	}
	return w.wait(ctx, env.Conn, wa, start)
}

// wait probes every wa.sleep until the condition holds or the timeout
// (from start) passes.
func (w waitFor) wait(ctx context.Context, c transport.Conn, wa waitArgs, start time.Time) (*tasks.Change, error) {
	deadline := start.Add(wa.timeout)
	for first := true; ; first = false {
		ok, groups, named, err := w.probe(ctx, c, wa.host, wa.port, wa.connectTimeout, wa.path, wa.re)
		if err != nil {
			return nil, err
		}
		if first && ok != wa.wantUp() && dependsOnPending(c, wa.port, wa.path) {
			return wa.pending(), nil
		}
		elapsed := w.clock.now().Sub(start).Seconds()
		if ok == wa.wantUp() {
			return wa.reached(elapsed, groups, named), nil
		}
		if !w.clock.now().Before(deadline) {
			return nil, &tasks.Failed{Msg: wa.timeoutMsg(), Result: map[string]any{"elapsed": int(math.Round(elapsed))}}
		}
		if err := w.clock.sleep(ctx, wa.sleep); err != nil {
			return nil, err
		}
	}
}

// wantUp reports whether wait_for waits for the port or path to be there.
func (wa waitArgs) wantUp() bool { return wa.state == "started" || wa.state == "present" }

// what names what wait_for waits for.
func (wa waitArgs) what() string {
	if wa.path != "" {
		return "file " + wa.path
	}
	return fmt.Sprintf("%s:%d", wa.host, wa.port)
}

// pending is the plan when the condition depends on an earlier planned
// change: the run that applies it would wait then.
func (wa waitArgs) pending() *tasks.Change {
	res := map[string]any{"elapsed": 0, "state": wa.state}
	if wa.port != 0 {
		res["port"] = wa.port
	} else {
		res["path"] = wa.path
	}
	match := ""
	if wa.re != nil {
		match = " and match " + wa.searchRe
	}
	return &tasks.Change{Action: tasks.None, Result: res,
		Summary: fmt.Sprintf("would wait for %s to be %s%s (it depends on an earlier change that is planned, not applied)", wa.what(), wa.state, match)}
}

// reached is the result once the condition holds, after elapsed seconds.
func (wa waitArgs) reached(elapsed float64, groups []string, named map[string]string) *tasks.Change {
	res := map[string]any{"elapsed": int(math.Round(elapsed)), "state": wa.state}
	if wa.port != 0 {
		res["port"], res["search_regex"] = wa.port, nil
		if wa.re != nil {
			res["search_regex"] = wa.searchRe
		}
	} else {
		res["path"] = wa.path
	}
	if groups != nil {
		res["match_groups"], res["match_groupdict"] = groups, named
	}
	return &tasks.Change{Action: tasks.None, Summary: fmt.Sprintf("%s is %s", wa.what(), wa.state), Result: res}
}

// timeoutMsg is msg, or Ansible's message for what did not happen.
func (wa waitArgs) timeoutMsg() string {
	switch {
	case wa.msg != "":
		return wa.msg
	case wa.re != nil && wa.path == "":
		return fmt.Sprintf("Timeout when waiting for search string %s in %s:%d", wa.searchRe, wa.host, wa.port)
	case wa.re != nil:
		return fmt.Sprintf("Timeout when waiting for search string %s in %s", wa.searchRe, wa.path)
	case !wa.wantUp() && wa.path != "":
		return fmt.Sprintf("Timeout when waiting for %s to be absent.", wa.path)
	case !wa.wantUp():
		return fmt.Sprintf("Timeout when waiting for %s to stop.", wa.what())
	}
	return "Timeout when waiting for " + wa.what()
}

// dependsOnPending reports whether the path, or for a port the services of
// the host, depend on a change planned earlier and not applied yet.
func dependsOnPending(c transport.Conn, port int, p string) bool {
	if p != "" {
		return overlay.PendingPath(c, p)
	}
	return port != 0 && len(overlay.PendingStates(c)) > 0
}

// probe checks once whether the port accepts connections or the path
// exists (and matches re).
func (w waitFor) probe(ctx context.Context, c transport.Conn, host string, port, connectTimeout int, p string, re *regexp.Regexp) (bool, []string, map[string]string, error) {
	if p != "" {
		data, err := c.ReadFile(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false, nil, nil, nil
		case errors.Is(err, overlay.ErrPending):
			return re == nil, nil, nil, nil
		case err != nil:
			// A directory or unreadable path still exists.
			if fi, serr := statPath(ctx, c, p); serr == nil && fi != nil && re == nil {
				return true, nil, nil, nil
			}
			return false, nil, nil, fmt.Errorf("host %s: wait_for %s: %w", c.Host(), p, err)
		}
		if re == nil {
			return true, nil, nil, nil
		}
		ok, groups, named := matchGroups(re, data)
		return ok, groups, named, nil
	}
	// bash's /dev/tcp; host and port go in as positional parameters. With
	// search_regex the banner is read: lines until the peer is quiet for
	// a second (the first line may take connect_timeout) or 64 KiB.
	script := `exec 3<>"/dev/tcp/$0/$1"`
	limit := connectTimeout
	if re != nil {
		script += ` || exit 1; t=$2; n=0; while [ $n -lt 65536 ] && IFS= read -r -t "$t" l <&3; do printf '%s\n' "$l"; n=$((n+${#l}+1)); t=1; done; exit 0`
		limit = 2*connectTimeout + 1
	}
	argv := []string{"timeout", strconv.Itoa(limit), "bash", "-c", script, host, strconv.Itoa(port)}
	if re != nil {
		argv = append(argv, strconv.Itoa(connectTimeout))
	}
	probe := sh(argv...)
	res, err := c.Run(ctx, probe, transport.RunOptions{})
	var ee *transport.ExitError
	switch {
	case err == nil && re != nil:
		ok, groups, named := matchGroups(re, res.Stdout)
		return ok, groups, named, nil
	case err == nil:
		return true, nil, nil, nil
	case errors.As(err, &ee) && ee.Code == 127:
		return false, nil, nil, fmt.Errorf("host %s: wait_for: port probe needs bash and timeout on the host: %s", c.Host(), ee.Stderr)
	case errors.As(err, &ee):
		return false, nil, nil, nil
	}
	return false, nil, nil, fmt.Errorf("host %s: wait_for %s:%d: %w", c.Host(), host, port, err)
}

// matchGroups matches re against text, as search_regex does: whether it
// matches, its groups, and its named groups.
func matchGroups(re *regexp.Regexp, text []byte) (bool, []string, map[string]string) {
	m := re.FindStringSubmatch(string(text))
	if m == nil {
		return false, nil, nil
	}
	named := map[string]string{}
	for i, n := range re.SubexpNames() {
		if n != "" {
			named[n] = m[i]
		}
	}
	return true, m[1:], named
}
