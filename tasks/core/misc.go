package core

// debug, fail and ping: the modules that only report.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/transport"
)

func planDebug(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("debug", raw, "msg", "var", "verbosity")
	if err != nil {
		return nil, err
	}
	a.Exclusive("msg", "var")
	verbosity := a.Int("verbosity", 0)
	if a.Err() != nil {
		return nil, a.Err()
	}
	res := map[string]any{}
	if verbosity > 0 {
		// The engine decides whether the run is verbose enough to show it.
		res["_verbosity"] = verbosity
	}
	if a.Has("var") {
		expr := a.Str("var", "")
		if a.Err() != nil {
			return nil, a.Err()
		}
		v, ok, err := debugVar(env, expr)
		if err != nil {
			return nil, err
		}
		if !ok {
			v = "VARIABLE IS NOT DEFINED!"
		}
		res[expr] = v
		return &tasks.Change{Action: tasks.None, Summary: expr, Result: res}, nil
	}
	msg, ok := a.Get("msg")
	if !ok && !a.GivenNull("msg") {
		msg = "Hello world!"
	}
	res["msg"] = msg
	summary := fmt.Sprint(msg)
	if msg == nil {
		summary = "null"
	}
	return &tasks.Change{Action: tasks.None, Summary: summary, Result: res}, nil
}

// debugVar evaluates var as Ansible does: a native Jinja expression
// (hostvars[inventory_hostname], hostvars['db02'].pg_host, x | length),
// its value kept as data (printed as JSON, never as a Go map). ok is false
// when it uses an undefined variable.
func debugVar(env *tasks.Env, expr string) (any, bool, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "{{") && strings.HasSuffix(e, "}}") {
		e = strings.TrimSpace(e[2 : len(e)-2])
	}
	v, found, lazy := lookupVar(env.Vars, e)
	switch {
	case found:
		return v, true, nil
	case isVarPath(e) && !lazy:
		return nil, false, nil // a plain path that is not there
	case env.Render == nil:
		return nil, false, nil
	}
	out, err := env.Render("{{ (" + e + ") | to_json }}")
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "undefined") {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("debug: var %s: %w", expr, err)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return out, true, nil
	}
	return v, true, nil
}

// isVarPath reports whether expr is only a variable path (no filters or
// operators).
func isVarPath(expr string) bool {
	rest := strings.TrimSpace(expr)
	for rest != "" {
		m := pathPart.FindString(rest)
		if m == "" {
			return false
		}
		rest = rest[len(m):]
	}
	return true
}

var pathPart = regexp.MustCompile(`^([^.\[\]]+)|\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]`)

// lookupVar resolves a dotted/indexed variable path (a.b[0]['c']) in vars.
// lazy is true when the path went through a value only a template can
// open (hostvars' per-host views): then only rendering can tell.
func lookupVar(vars map[string]any, expr string) (v any, found, lazy bool) {
	var cur any = vars
	rest := strings.TrimSpace(expr)
	for rest != "" {
		m := pathPart.FindStringSubmatch(rest)
		if m == nil {
			return nil, false, false
		}
		rest = rest[len(m[0]):]
		key := m[1] + m[2] + m[4] + m[5]
		switch c := cur.(type) {
		case map[string]any:
			if m[3] != "" {
				key = m[3]
			}
			v, ok := c[key]
			if !ok {
				return nil, false, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(m[3])
			if m[3] == "" || err != nil || i < 0 || i >= len(c) {
				return nil, false, false
			}
			cur = c[i]
		case interface{ Map() map[string]any }:
			return nil, false, true
		default:
			return nil, false, false
		}
	}
	if _, isLazy := cur.(interface{ Map() map[string]any }); isLazy {
		return nil, false, true // printed through a template, as JSON data
	}
	return cur, true, false
}

func planFail(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("fail", raw, "msg")
	if err != nil {
		return nil, err
	}
	msg := a.Str("msg", "Failed as requested from task")
	if a.Err() != nil {
		return nil, a.Err()
	}
	return nil, &tasks.Failed{Msg: msg, Result: map[string]any{"msg": msg}}
}

func planPing(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("ping", raw, "data")
	if err != nil {
		return nil, err
	}
	data := a.Str("data", "pong")
	if a.Err() != nil {
		return nil, a.Err()
	}
	if data == "crash" {
		return nil, &tasks.Failed{Msg: "boom (ping data=crash)"}
	}
	if _, err := env.Conn.Run(ctx, "true", transport.RunOptions{}); err != nil {
		return nil, fmt.Errorf("host %s: ping: %w", env.Conn.Host(), err)
	}
	return &tasks.Change{Action: tasks.None, Summary: "pong", Result: map[string]any{"ping": data}}, nil
}
