package core

// fetch: copy a file from the host to the control machine
// (ansible.builtin.fetch), laid out as DEST/HOST/SRC unless flat.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

func planFetch(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("fetch", raw, "src", "dest", "flat", "fail_on_missing", "validate_checksum|validate_md5")
	if err != nil {
		return nil, err
	}
	src := a.Required("src")
	dest := a.Required("dest")
	flat := a.Bool("flat", false)
	failMissing := a.Bool("fail_on_missing", true)
	validate := a.Bool("validate_checksum", true)
	if a.Err() != nil {
		return nil, a.Err()
	}
	if err := a.Ready(); err != nil {
		return nil, err
	}
	if env.Local == nil {
		return nil, fmt.Errorf("fetch: no control-machine connection in this run")
	}
	var local string
	switch {
	case flat && strings.HasSuffix(dest, "/"):
		local = filepath.Join(dest, path.Base(src))
	case flat:
		local = dest
	default:
		local = filepath.Join(dest, env.Host, filepath.FromSlash(path.Clean("/"+src)))
	}
	c := env.Conn
	var reads []tasks.Precondition
	data, exists, err := tasks.ReadFileFor(ctx, c, src, &reads)
	if errors.Is(err, overlay.ErrPending) {
		return &tasks.Change{Action: tasks.Update, Summary: fmt.Sprintf("would fetch %s to %s (content known only after apply)", src, local),
			Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
				return fetchApply(ctx, env, src, local, validate)
			}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", c.Host(), src, err)
	}
	result := map[string]any{"file": src, "dest": local}
	if !exists {
		msg := "the remote file does not exist, not transferring, ignored"
		if failMissing {
			return nil, &tasks.Failed{Msg: "the remote file does not exist", Result: map[string]any{"file": src}}
		}
		result["msg"] = msg
		return &tasks.Change{Action: tasks.None, Summary: msg, Reads: reads, Result: result}, nil
	}
	sum := sha1Hex(data)
	result["checksum"], result["remote_checksum"] = sum, sum
	old, err := env.Local.ReadFile(ctx, local)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return nil, fmt.Errorf("read %s on the control machine: %w", local, err)
	}
	if err == nil && string(old) == string(data) {
		return &tasks.Change{Action: tasks.None, Summary: local + " is up to date", Reads: reads, Result: result}, nil
	}
	action, summary := tasks.Create, fmt.Sprintf("would fetch %s to %s (%d bytes)", src, local, len(data))
	if err == nil {
		action, summary = tasks.Update, fmt.Sprintf("would update %s from %s", local, src)
	}
	return &tasks.Change{
		Action: action, Summary: summary, Reads: reads, Result: result,
		Diffs: []tasks.Diff{tasks.FileDiff(local, string(old), string(data))},
		Apply: func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
			out, err := fetchApply(ctx, env, src, local, validate)
			if err == nil && out["checksum"] != sum {
				return out, &tasks.Failed{Msg: fmt.Sprintf("%s changed on the host while it was fetched", src), Result: out}
			}
			return out, err
		},
	}, nil
}

// fetchApply reads src again, writes it locally and verifies the copy.
func fetchApply(ctx context.Context, env *tasks.Env, src, local string, validate bool) (map[string]any, error) {
	data, err := env.Conn.ReadFile(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("host %s: read %s: %w", env.Conn.Host(), src, err)
	}
	dir := filepath.Dir(local)
	if err := run(ctx, env.Local, "create directory "+dir, "mkdir", "-p", "--", dir); err != nil {
		return nil, err
	}
	if err := env.Local.WriteFile(ctx, local, data, transport.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("write %s on the control machine: %w", local, err)
	}
	sum := sha1Hex(data)
	out := map[string]any{"file": src, "dest": local, "checksum": sum, "remote_checksum": sum}
	if validate {
		back, err := env.Local.ReadFile(ctx, local)
		if err != nil {
			return out, fmt.Errorf("verify %s on the control machine: %w", local, err)
		}
		if sha1Hex(back) != sum {
			return out, &tasks.Failed{Msg: "checksum mismatch", Result: out}
		}
	}
	return out, nil
}
