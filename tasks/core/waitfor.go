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

func (w waitFor) Plan(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := parseArgs("wait_for", raw, "host", "port", "path", "state", "timeout", "delay", "sleep",
		"search_regex", "connect_timeout", "msg")
	if err != nil {
		return nil, err
	}
	host := a.str("host", "127.0.0.1")
	port := a.integer("port", 0)
	p := a.str("path", "")
	state := a.choice("state", "started", "started", "present", "stopped", "absent")
	timeout := time.Duration(a.integer("timeout", 300)) * time.Second
	delay := time.Duration(a.integer("delay", 0)) * time.Second
	sleep := time.Duration(a.integer("sleep", 1)) * time.Second
	connectTimeout := a.integer("connect_timeout", 5)
	searchRe := a.str("search_regex", "")
	userMsg := a.str("msg", "")
	a.exclusive("port", "path")
	if a.err != nil {
		return nil, a.err
	}
	var re *regexp.Regexp
	if searchRe != "" {
		if p == "" && port == 0 {
			return nil, &argError{"wait_for: search_regex needs path or port"}
		}
		if re, err = compilePy(searchRe, true); err != nil {
			return nil, &argError{"wait_for: " + err.Error()}
		}
	}
	if port == 0 && p == "" {
		if delay == 0 && timeout > 0 {
			delay = timeout // Ansible: no port and no path is a plain sleep
		}
	}
	if port < 0 || port > 65535 {
		return nil, &argError{fmt.Sprintf("wait_for: port %d out of range", port)}
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	c := env.Conn
	start := w.clock.now()
	if delay > 0 {
		if err := w.clock.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
	if port == 0 && p == "" {
		elapsed := int(w.clock.now().Sub(start).Seconds())
		return &tasks.Change{Action: tasks.None, Summary: "waited " + strconv.Itoa(elapsed) + "s",
			Result: map[string]any{"elapsed": elapsed, "state": state}}, nil
	}
	wantUp := state == "started" || state == "present"
	what := fmt.Sprintf("%s:%d", host, port)
	if p != "" {
		what = "file " + p
	}
	deadline := start.Add(timeout)
	for first := true; ; first = false {
		ok, groups, named, err := w.probe(ctx, c, host, port, connectTimeout, p, re)
		if err != nil {
			return nil, err
		}
		if first && ok != wantUp && dependsOnPending(c, port, p) {
			res := map[string]any{"elapsed": 0, "state": state}
			if port != 0 {
				res["port"] = port
			} else {
				res["path"] = p
			}
			match := ""
			if re != nil {
				match = " and match " + searchRe
			}
			return &tasks.Change{Action: tasks.None, Result: res,
				Summary: fmt.Sprintf("would wait for %s to be %s%s (it depends on an earlier change that is planned, not applied)", what, state, match)}, nil
		}
		if ok == wantUp {
			elapsed := w.clock.now().Sub(start).Seconds()
			res := map[string]any{"elapsed": int(math.Round(elapsed)), "state": state}
			if port != 0 {
				res["port"], res["search_regex"] = port, nil
				if re != nil {
					res["search_regex"] = searchRe
				}
			} else {
				res["path"] = p
			}
			if groups != nil {
				res["match_groups"], res["match_groupdict"] = groups, named
			}
			return &tasks.Change{Action: tasks.None, Summary: fmt.Sprintf("%s is %s", what, state), Result: res}, nil
		}
		if !w.clock.now().Before(deadline) {
			elapsed := int(math.Round(w.clock.now().Sub(start).Seconds()))
			msg := userMsg
			if msg == "" {
				msg = "Timeout when waiting for " + what
				switch {
				case re != nil && p == "":
					msg = fmt.Sprintf("Timeout when waiting for search string %s in %s:%d", searchRe, host, port)
				case re != nil:
					msg = fmt.Sprintf("Timeout when waiting for search string %s in %s", searchRe, p)
				case !wantUp && p != "":
					msg = fmt.Sprintf("Timeout when waiting for %s to be absent.", p)
				case !wantUp:
					msg = fmt.Sprintf("Timeout when waiting for %s to stop.", what)
				}
			}
			return nil, &tasks.Failed{Msg: msg, Result: map[string]any{"elapsed": elapsed}}
		}
		if err := w.clock.sleep(ctx, sleep); err != nil {
			return nil, err
		}
	}
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
		m := re.FindStringSubmatch(string(data))
		if m == nil {
			return false, nil, nil, nil
		}
		named := map[string]string{}
		for i, n := range re.SubexpNames() {
			if n != "" {
				named[n] = m[i]
			}
		}
		return true, m[1:], named, nil
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
		m := re.FindStringSubmatch(string(res.Stdout))
		if m == nil {
			return false, nil, nil, nil
		}
		named := map[string]string{}
		for i, n := range re.SubexpNames() {
			if n != "" {
				named[n] = m[i]
			}
		}
		return true, m[1:], named, nil
	case err == nil:
		return true, nil, nil, nil
	case errors.As(err, &ee) && ee.Code == 127:
		return false, nil, nil, fmt.Errorf("host %s: wait_for: port probe needs bash and timeout on the host: %s", c.Host(), ee.Stderr)
	case errors.As(err, &ee):
		return false, nil, nil, nil
	}
	return false, nil, nil, fmt.Errorf("host %s: wait_for %s:%d: %w", c.Host(), host, port, err)
}
