package playbooks

// async with poll > 0: the task runs as usual, but fails when it takes
// longer than async seconds, with Ansible's message. Ansible runs such a
// task in the background on the host and polls it every poll seconds;
// the outcome the playbook sees is the same.
//
// async with poll: 0 (fire and forget) starts a command or shell task in
// the background on the host, out of the SSH session, and registers the
// job as Ansible does (ansible_job_id, results_file); the job writes its
// result to ~/.ansible_async/<jid> of the user it runs as, where the
// async_status module reads it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/shlex"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// AsyncOptions are a task's async and poll keywords.
type AsyncOptions struct {
	Seconds int // async: 0 means not async
	Poll    int // poll: seconds between polls (10 by default)
	// Background is poll: 0: start the job and go on (with async > 0).
	Background bool
}

// asyncKeyword reads async: or poll: (whole seconds).
func (p *parser) asyncKeyword(t *Task, k, v *yaml.Node) {
	n, err := strconv.Atoi(v.Value)
	if err != nil || n < 0 {
		p.fail(v, "%s: want a whole number of seconds, got %q", k.Value, v.Value)
		return
	}
	if k.Value == "async" {
		t.Async.Seconds = n
		return
	}
	if n == 0 {
		t.Async.Background = true
		return
	}
	t.Async.Poll = n
}

// checkBackground refuses poll: 0 on a module that cannot run as a
// background job: only command and shell can, so far. Called once the
// module is known, since poll may come before it.
func (p *parser) checkBackground(t *Task) {
	if !t.Async.Background || t.Async.Seconds == 0 || t.Module == "command" || t.Module == "shell" {
		return
	}
	at := t.KeyPos["poll"]
	p.err = &ParseError{File: p.file, Line: at.Line, Col: at.Col,
		Msg: fmt.Sprintf("not supported yet: async poll 0 for module %s (only command and shell run as background jobs)", t.Module)}
}

// errAsyncTimeout is the cause of a task context that ended at async.
var errAsyncTimeout = errors.New("async timeout")

// msgAsyncCheck is Ansible's answer to an async task in check mode.
const msgAsyncCheck = "check mode and async cannot be used on same task."

// executeAsync runs one attempt of t's module, bounded by its async
// seconds when it has some, or starts it as a background job (poll: 0).
func (r *runner) executeAsync(ctx context.Context, t *Task, call moduleCall) *tasks.Outcome {
	if t.Async.Seconds <= 0 {
		return r.executeOnce(ctx, t, call)
	}
	if call.opts.Check && !call.opts.ForceApply && (t.Module == "command" || t.Module == "shell") {
		// Ansible refuses every async command in check mode, poll or not.
		return &tasks.Outcome{Status: tasks.StatusFailed,
			Result: map[string]any{"failed": true, "changed": false, "msg": msgAsyncCheck},
			Err:    errors.New(msgAsyncCheck)}
	}
	if t.Async.Background {
		return r.startBackground(ctx, t, call)
	}
	actx, cancel := context.WithTimeoutCause(ctx, time.Duration(t.Async.Seconds)*time.Second, errAsyncTimeout)
	defer cancel()
	out := r.executeOnce(actx, t, call)
	if out.Status != tasks.StatusFailed || ctx.Err() != nil || !errors.Is(context.Cause(actx), errAsyncTimeout) {
		return out
	}
	msg := fmt.Sprintf("async task did not complete within the requested time - %ds", t.Async.Seconds)
	return &tasks.Outcome{Status: tasks.StatusFailed, Change: out.Change,
		Result: map[string]any{"failed": true, "msg": msg, "async_result": out.Result},
		Err:    fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)}
}

// startBackground runs t's module with a connection whose Run starts the
// command as a job instead of waiting for it, and registers the job.
func (r *runner) startBackground(ctx context.Context, t *Task, call moduleCall) *tasks.Outcome {
	bg := &backgroundConn{seconds: t.Async.Seconds, cmd: jobCmd(t.Module, call.args)}
	call.mod = backgroundModule{inner: call.mod, bg: bg}
	out := r.executeOnce(ctx, t, call)
	if bg.resultsFile == "" || out.Status == tasks.StatusFailed {
		return out // creates/removes skipped it, or it could not start
	}
	out.Status = tasks.StatusChanged
	out.Result = map[string]any{"ansible_job_id": path.Base(bg.resultsFile), "started": 1, "finished": 0,
		"failed": 0, "results_file": bg.resultsFile, "changed": true}
	return out
}

// backgroundModule plans as its inner module does (creates and removes
// are probed as usual) and applies through a backgroundConn, so that the
// command it would run starts as a job.
type backgroundModule struct {
	inner tasks.Module
	bg    *backgroundConn
}

// Plan is the inner module's, with Apply redirected to the job.
func (m backgroundModule) Plan(ctx context.Context, env *tasks.Env, args map[string]any) (*tasks.Change, error) {
	ch, err := m.inner.Plan(ctx, env, args)
	if err != nil || ch.Apply == nil {
		return ch, err
	}
	apply := ch.Apply
	ch.Apply = func(ctx context.Context, env *tasks.Env) (map[string]any, error) {
		m.bg.Conn = env.Conn
		benv := *env
		benv.Conn = m.bg
		return apply(ctx, &benv)
	}
	return ch, nil
}

// jobCmd is the job's cmd as the command module registers it: the argv
// of command, the text of shell.
func jobCmd(module string, args map[string]any) any {
	text, _ := args["_raw_params"].(string)
	if c, ok := args["cmd"].(string); ok && text == "" {
		text = c
	}
	if module == "shell" {
		return text
	}
	if argv, ok := args["argv"].([]any); ok {
		return argv
	}
	if argv, err := shlex.Split(text); err == nil {
		return argv
	}
	return text
}

// backgroundConn is a Conn whose Run starts the command line as a job on
// the host (see jobLauncher) and returns at once, its stdout the job's
// results file. Every other method is the wrapped Conn's.
type backgroundConn struct {
	transport.Conn
	seconds     int
	cmd         any
	resultsFile string
}

// Run starts line as a job; opts.Stdin is kept in a file beside the job
// file and fed to it.
func (b *backgroundConn) Run(ctx context.Context, line string, opts transport.RunOptions) (*transport.Result, error) {
	if b.resultsFile != "" {
		return nil, fmt.Errorf("host %s: a background job runs one command", b.Host())
	}
	cmd, err := json.Marshal(b.cmd)
	if err != nil {
		return nil, err
	}
	launch := strings.NewReplacer("@JOB@", shellescape.Quote(jobScript), "@LINE@", shellescape.Quote(line),
		"@CMD@", shellescape.Quote(string(cmd)), "@SECS@", strconv.Itoa(b.seconds)).Replace(jobLauncher)
	if opts.Stdin == nil {
		opts.Stdin = strings.NewReader("")
	}
	res, err := b.Conn.Run(ctx, launch, opts)
	if err != nil {
		return res, fmt.Errorf("host %s: start background job: %w", b.Host(), err)
	}
	b.resultsFile = strings.TrimSpace(string(res.Stdout))
	return &transport.Result{Stdout: res.Stdout}, nil
}

// jobLauncher makes ~/.ansible_async of the user it runs as (the become
// user under become), writes the job file Ansible's async_wrapper writes
// at start, and starts the job in a new session with no terminal, its
// output going only to files, so that it outlives the SSH session.
const jobLauncher = `set -e
d="${HOME:-$(eval echo ~"$(id -un)")}/.ansible_async"; mkdir -p "$d"; chmod 700 "$d"
j="j$(od -An -N8 -tu8 /dev/urandom | tr -d ' ' | cut -c1-12).$$"; f="$d/$j"
cat > "$f.in"
printf '{"started": 1, "finished": 0, "ansible_job_id": "%s"}\n' "$j" > "$f"
setsid sh -c @JOB@ job "$f" @LINE@ @CMD@ @SECS@ </dev/null >/dev/null 2>&1 &
echo "$f"
`

// jobScript runs the command (stopped after async seconds, as
// async_wrapper does) and replaces the job file with the command module's
// result as JSON, written aside and renamed so a reader never sees half.
const jobScript = `f=$1; line=$2; cmd=$3; secs=$4
now() { date '+%Y-%m-%d %H:%M:%S.%N' | cut -c1-26; }
esc() { tr -d '\000-\010\013\014\016-\037' < "$1" | awk 'BEGIN{ORS=""} {gsub(/\\/,"\\\\"); gsub(/"/,"\\\""); gsub(/\t/,"\\t"); gsub(/\r/,"\\r"); if (NR>1) print "\\n"; print}'; }
s=$(now)
if command -v timeout >/dev/null; then timeout "$secs" sh -c "$line" <"$f.in" >"$f.out" 2>"$f.err"; else sh -c "$line" <"$f.in" >"$f.out" 2>"$f.err"; fi
rc=$?; e=$(now); j=${f##*/}
if [ "$rc" = 124 ]; then
  printf '{"failed": 1, "finished": 1, "msg": "Timeout exceeded", "ansible_job_id": "%s"}\n' "$j" > "$f.tmp"
else
  { printf '{"changed": true, "cmd": %s, "rc": %d, "start": "%s", "end": "%s", "stdout": "' "$cmd" "$rc" "$s" "$e"
    esc "$f.out"; printf '", "stderr": "'; esc "$f.err"; printf '", '
    if [ "$rc" = 0 ]; then printf '"msg": ""}\n'; else printf '"failed": true, "msg": "non-zero return code"}\n'; fi
  } > "$f.tmp"
fi
mv "$f.tmp" "$f"; rm -f "$f.in" "$f.out" "$f.err"
`
