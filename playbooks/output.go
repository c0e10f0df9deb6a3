package playbooks

// Reporting: Ansible's text look (PLAY/TASK banners, one line per host,
// PLAY RECAP) or one JSON document. Both mask secrets: values of variables
// with secret names (see secrets.go for the rule) never get printed, and
// no_log results are replaced by Ansible's censored marker.

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sshplay/sshplay/internal/secret"
	"github.com/sshplay/sshplay/playbooks/template"
	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/transport"
)

// HostResult is one line of the report: a task's outcome on a host (or on
// one loop item).
type HostResult struct {
	Host        string
	Task        *Task
	Handler     bool
	Status      tasks.Status
	Ignored     bool
	WouldRun    bool
	Delegated   string
	Item        any
	HasItem     bool
	LoopSummary bool
	Msg         string
	Summary     string
	Result      map[string]any
	Diffs       []tasks.Diff
	Duration    time.Duration
	NoLog       bool
	Secrets     []string
	// ShowDiff: print the diffs (--diff or the task's diff: true).
	// NoDiff: the task says diff: false, so not even JSON carries them.
	ShowDiff, NoDiff bool
}

// NoLogMessage replaces a no_log result, as in Ansible.
const NoLogMessage = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"

const masked = "********"

type reporter interface {
	PlayStart(p *Play, hosts []string)
	TaskStart(t *Task, handler bool)
	HostResult(hr *HostResult)
	LoopDone(hr *HostResult)
	Note(msg string)
	// NoMoreHosts says the play stopped because no host is left to run.
	NoMoreHosts()
	Progress(t *Task, n int) func()
	Recap(sum *Summary)
}

func unwrapLiteral(v any) any {
	if l, ok := v.(template.Literal); ok {
		return l.V
	}
	return v
}

// maskValue deep-copies v, hiding secret-named keys and secret values.
func maskValue(v any, secrets []string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if secret.IsSecretName(k) && e != nil && e != "" {
				out[k] = masked
				continue
			}
			out[k] = maskValue(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(e, secrets)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskString(e, secrets)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if secret.IsSecretName(k) && e != "" {
				out[k] = masked
				continue
			}
			out[k] = maskString(e, secrets)
		}
		return out
	case string:
		return maskString(x, secrets)
	case template.Literal:
		return maskValue(x.V, secrets)
	case *template.LazyVars:
		return maskValue(x.Map(), secrets)
	case interface{ Map() map[string]any }:
		return maskValue(x.Map(), secrets) // a module's printable view (pg facts)
	}
	if rv := reflect.ValueOf(v); rv.IsValid() && (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Type().Elem().Kind() != reflect.Uint8 {
		// Any other list ([]int, []map[string]any, ...): walk it, so a
		// string somewhere inside cannot slip through unmasked.
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = maskValue(rv.Index(i).Interface(), secrets)
		}
		return out
	}
	return v
}

func maskString(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, masked)
		}
	}
	return maskInlinePasswords(s)
}

// Passwords written inline in text that sshplay shows (a diff of
// postgresql.conf with primary_conninfo = '... password=x', a connection URL
// in a command's output) are masked by shape, whatever variable they came
// from: key=value pairs whose key names a password, and the password of a
// URL's user:password@ part.
var (
	inlinePassword = regexp.MustCompile(`(?i)(\b[a-z_]*(?:password|passwd|passphrase)\s*=\s*)('[^']*'|"[^"]*"|[^\s'"]+)`)
	urlPassword    = regexp.MustCompile(`(://[^/\s:@]+:)([^@/\s]+)(@)`)
)

func maskInlinePasswords(s string) string {
	if !strings.Contains(s, "=") && !strings.Contains(s, "://") {
		return s
	}
	s = inlinePassword.ReplaceAllString(s, "${1}"+masked)
	return urlPassword.ReplaceAllString(s, "${1}"+masked+"${3}")
}

// shownResult is the result as it may be printed.
func (hr *HostResult) shownResult() map[string]any {
	if hr.NoLog {
		return map[string]any{"censored": NoLogMessage, "changed": hr.Status == tasks.StatusChanged}
	}
	m, _ := maskValue(hr.Result, hr.Secrets).(map[string]any)
	if _, ok := m[tasks.RepeatedFactsKey]; ok {
		c := make(map[string]any, len(m))
		for k, v := range m {
			if k != tasks.RepeatedFactsKey {
				c[k] = v
			}
		}
		m = c
	}
	return m
}

func jsonText(v any, indent bool) string {
	var b strings.Builder
	if indent {
		writeJSON(&b, jsonSafe(v), "\n", "    ")
	} else {
		writeJSON(&b, jsonSafe(v), "", "")
	}
	return b.String()
}

// writeJSON prints JSON as Ansible does: keys sorted, ", " and ": "
// separators on one line, or indented; no HTML escaping.
func writeJSON(b *strings.Builder, v any, nl, ind string) {
	inner := nl
	if nl != "" {
		inner = nl + ind
	}
	sep := ", "
	if nl != "" {
		sep = ","
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(inner)
			writeJSON(b, k, "", "")
			b.WriteString(": ")
			writeJSON(b, x[k], inner, ind)
		}
		b.WriteString(nl + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(inner)
			writeJSON(b, e, inner, ind)
		}
		b.WriteString(nl + "]")
	default:
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			fmt.Fprintf(b, "%q", fmt.Sprint(x))
			return
		}
		b.WriteString(strings.TrimSuffix(buf.String(), "\n"))
	}
}

// jsonSafe makes a value JSON-encodable (errors, byte slices, odd maps).
func jsonSafe(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonSafe(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case []byte:
		return string(x)
	case error:
		return x.Error()
	case template.Literal:
		return jsonSafe(x.V)
	case *template.LazyVars:
		return jsonSafe(x.Map())
	}
	return v
}

// newPlaybookReporter is the reporter of `sshplay play`: the JSON document
// or the text output on Out, and the text output on Log when set.
func newPlaybookReporter(opts Options) reporter {
	var main reporter
	if opts.Format == "json" {
		main = newJSONReporter(opts.Out, opts.Check, RunSchema)
	} else {
		main = newTextReporter(opts.Out, opts)
	}
	if opts.Log == nil {
		return main
	}
	return teeReporter{main, newTextReporter(opts.Log, logOptions(opts))}
}

// logOptions are the options of the text written to the log file: no
// colour, no progress line, the same verbosity.
func logOptions(opts Options) Options {
	opts.Color, opts.Progress = false, false
	return opts
}

// teeReporter reports to several reporters in turn (the screen and the
// log file).
type teeReporter []reporter

func (t teeReporter) PlayStart(p *Play, hosts []string) {
	for _, r := range t {
		r.PlayStart(p, hosts)
	}
}

func (t teeReporter) TaskStart(task *Task, handler bool) {
	for _, r := range t {
		r.TaskStart(task, handler)
	}
}

func (t teeReporter) HostResult(hr *HostResult) {
	for _, r := range t {
		r.HostResult(hr)
	}
}

func (t teeReporter) LoopDone(hr *HostResult) {
	for _, r := range t {
		r.LoopDone(hr)
	}
}

func (t teeReporter) Note(msg string) {
	for _, r := range t {
		r.Note(msg)
	}
}

func (t teeReporter) NoMoreHosts() {
	for _, r := range t {
		r.NoMoreHosts()
	}
}

func (t teeReporter) Progress(task *Task, n int) func() {
	done := make([]func(), len(t))
	for i, r := range t {
		done[i] = r.Progress(task, n)
	}
	return func() {
		for _, d := range done {
			d()
		}
	}
}

func (t teeReporter) Recap(sum *Summary) {
	for _, r := range t {
		r.Recap(sum)
	}
}

// textReporter prints Ansible's default callback output.
type textReporter struct {
	mu       sync.Mutex
	w        io.Writer
	opts     Options
	last     *Task
	lastH    bool
	progress bool // a progress line is on screen
	tm       *timings
}

func newTextReporter(w io.Writer, opts Options) *textReporter {
	return &textReporter{w: w, opts: opts, tm: newTimings(nil)}
}

func (r *textReporter) color(c, s string) string { return paint(r.opts.Color, c, s) }

func banner(msg string) string {
	stars := 79 - len(msg)
	if stars < 3 {
		stars = 3
	}
	return "\n" + msg + " " + strings.Repeat("*", stars) + "\n"
}

func (r *textReporter) clearProgress() {
	if r.progress {
		fmt.Fprint(r.w, "\r\033[K")
		r.progress = false
	}
}

func (r *textReporter) PlayStart(p *Play, hosts []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := p.Name
	if name == "" {
		name = p.Hosts
	}
	fmt.Fprint(r.w, banner("PLAY ["+name+"]"))
	r.last = nil
	r.tm.stop()
}

func (r *textReporter) TaskStart(t *Task, handler bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taskStart(t, handler)
}

func (r *textReporter) taskStart(t *Task, handler bool) {
	if r.last == t && r.lastH == handler {
		return
	}
	r.clearProgress()
	r.last, r.lastH = t, handler
	r.tm.taskStart(t, handler)
	kind := "TASK"
	if handler {
		kind = "RUNNING HANDLER"
	}
	fmt.Fprint(r.w, banner(kind+" ["+t.DisplayName()+"]"))
}

func (r *textReporter) Note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearProgress()
	fmt.Fprintln(r.w, msg)
}

func (r *textReporter) NoMoreHosts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearProgress()
	fmt.Fprint(r.w, banner("NO MORE HOSTS LEFT"))
}

// LoopDone prints nothing (the items said it all) but counts the loop's
// time.
func (r *textReporter) LoopDone(hr *HostResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tm.result(hr)
}

func (r *textReporter) HostResult(hr *HostResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taskStart(hr.Task, hr.Handler)
	r.clearProgress()
	r.tm.result(hr)
	r.printDiffs(hr)
	host := "[" + hr.Host + "]"
	if hr.Delegated != "" {
		host = "[" + hr.Host + " -> " + hr.Delegated + "]"
	}
	item := ""
	if hr.HasItem {
		label := hr.Item
		if hr.NoLog {
			label = "None"
		}
		item = " => (item=" + maskString(itemText(label), hr.Secrets) + ")"
	}
	took := r.took(hr)
	var line string
	switch hr.Status {
	case tasks.StatusUnreachable:
		line = r.color(cRed, "fatal: "+host+": UNREACHABLE!"+took+" => "+jsonText(hr.shownResult(), false))
	case tasks.StatusFailed:
		if hr.Result["interrupted"] == true {
			line = r.color(cRed, "interrupted: "+host+item+took)
			break
		}
		if hr.HasItem {
			line = r.color(cRed, "failed: "+host+" (item="+maskString(itemText(hr.Item), hr.Secrets)+") => "+jsonText(r.unrepeated(hr), false))
		} else {
			line = r.color(cRed, "fatal: "+host+": FAILED!"+took+" => "+jsonText(r.unrepeated(hr), false))
		}
		if hr.Ignored {
			line += "\n" + r.color(cCyan, "...ignoring")
		}
	case tasks.StatusChanged:
		line = r.color(cYellow, "changed: "+host+item+took+r.planNote(hr)+r.outcome(hr)+r.details(hr))
	case tasks.StatusSkipped:
		if hr.WouldRun {
			line = r.color(cCyan, "skipping: "+host+item+took+" (would run)")
		} else {
			line = r.color(cCyan, "skipping: "+host+item+took)
		}
	default:
		line = r.color(cGreen, "ok: "+host+item+took+r.outcome(hr)+r.details(hr))
	}
	fmt.Fprintln(r.w, line)
}

// printDiffs prints a result's diffs, when shown, above its line.
func (r *textReporter) printDiffs(hr *HostResult) {
	if !hr.ShowDiff || hr.NoLog {
		return
	}
	for _, d := range hr.Diffs {
		if d.Unified != "" {
			fmt.Fprint(r.w, colorDiff(r.opts.Color, maskString(d.Unified, hr.Secrets)))
			if !strings.HasSuffix(d.Unified, "\n") {
				fmt.Fprintln(r.w)
			}
		}
	}
}

// took is a result's duration, " (0.42s)", with --timings=always; a loop
// item has none of its own (its loop's summary line carries the time).
func (r *textReporter) took(hr *HostResult) string {
	if r.opts.Timings != TimingsAlways || hr.HasItem {
		return ""
	}
	return " (" + seconds(hr.Duration) + ")"
}

func itemText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v, false)
}

// planNote shows, under --check, what a change would do in one line: the
// Change summary ("would ..."), which is wrong after a real run. Diffs show
// file contents; this line shows the rest of the plan (a key to generate, a
// reload, a restart).
func (r *textReporter) planNote(hr *HostResult) string {
	if hr.Summary == "" || hr.NoLog || !r.opts.Check {
		return ""
	}
	return " (" + maskString(hr.Summary, hr.Secrets) + ")"
}

// unrepeated is the result as printed: facts an earlier task already
// showed are left out below -vvv (a failure would otherwise print the
// whole facts blob again).
func (r *textReporter) unrepeated(hr *HostResult) map[string]any {
	res := hr.shownResult()
	if repeated, _ := hr.Result[tasks.RepeatedFactsKey].(bool); !repeated || r.opts.Verbose >= 3 {
		return res
	}
	c := make(map[string]any, len(res))
	for k, v := range res {
		if k != "ansible_facts" {
			c[k] = v
		}
	}
	return c
}

// outcome is what a real run did, in the module's own few words
// (tasks.OutcomeKey), so that a run says "reloaded" or "key kept" per host
// without -v. A check run shows it for tasks with nothing to change (what
// the plan found); for changes it shows the plan instead (planNote).
func (r *textReporter) outcome(hr *HostResult) string {
	if hr.NoLog || r.opts.Check && hr.Status != tasks.StatusOK {
		return ""
	}
	if o, ok := hr.Result[tasks.OutcomeKey].(string); ok && o != "" {
		return " (" + maskString(o, hr.Secrets) + ")"
	}
	return ""
}

// details is what follows "ok: [h]": the debug message, or the whole
// result with -v (facts another task already showed only from -vvv on).
func (r *textReporter) details(hr *HostResult) string {
	res := r.unrepeated(hr)
	if hr.Task.Module == "debug" && !hr.HasItem {
		shown := map[string]any{}
		for k, v := range res {
			switch k {
			case "changed", "failed", "skipped", "_ansible_verbose_always":
			default:
				shown[k] = v
			}
		}
		return " => " + jsonText(shown, true)
	}
	if r.opts.Verbose > 0 {
		return " => " + jsonText(res, r.opts.Verbose > 1)
	}
	return ""
}

func (r *textReporter) Progress(t *Task, n int) func() {
	if !r.opts.Progress || n < 2 {
		return func() {}
	}
	var mu sync.Mutex
	done := 0
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		started := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if time.Since(started) < 2*time.Second {
					continue
				}
				mu.Lock()
				d := done
				mu.Unlock()
				r.mu.Lock()
				fmt.Fprintf(r.w, "\r\033[K[%s] %d/%d hosts done, %s", t.DisplayName(), d, n, time.Since(started).Round(time.Second))
				r.progress = true
				r.mu.Unlock()
			}
		}
	}()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		done++
		if done == n {
			close(stop)
			r.mu.Lock()
			r.clearProgress()
			r.mu.Unlock()
		}
	}
}

// RecapLine is a host's line of PLAY RECAP, exactly as Ansible prints it
// (without colour).
func RecapLine(host string, s *Stats) string {
	return fmt.Sprintf("%-26s : %s %s %s %s %s %s %s", host,
		fmt.Sprintf("%s=%-4d", "ok", s.OK),
		fmt.Sprintf("%s=%-4d", "changed", s.Changed),
		fmt.Sprintf("%s=%-4d", "unreachable", s.Unreachable),
		fmt.Sprintf("%s=%-4d", "failed", s.Failed),
		fmt.Sprintf("%s=%-4d", "skipped", s.Skipped),
		fmt.Sprintf("%s=%-4d", "rescued", s.Rescued),
		fmt.Sprintf("%s=%-4d", "ignored", s.Ignored))
}

// Recap prints PLAY RECAP (with each host's total time when timings are
// shown), the slowest tasks, and how long the run took.
func (r *textReporter) Recap(sum *Summary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearProgress()
	r.tm.stop()
	showTimes := showTimings(r.opts.Timings, sum.Duration)
	fmt.Fprint(r.w, banner("PLAY RECAP"))
	hosts := append([]string(nil), sum.Hosts...)
	sort.Strings(hosts)
	for _, h := range hosts {
		s := sum.Stats[h]
		line := RecapLine(h, s)
		if r.opts.Color {
			c := cGreen
			switch {
			case s.Failed > 0 || s.Unreachable > 0:
				c = cRed
			case s.Changed > 0:
				c = cYellow
			}
			line = c + fmt.Sprintf("%-26s", h) + cReset + line[26:]
		}
		if showTimes {
			line += r.tm.hostTotal(h)
		}
		fmt.Fprintln(r.w, line)
	}
	if sum.Interrupted {
		fmt.Fprintln(r.w, "\n[interrupted]")
	}
	if showTimes {
		r.tm.writeSummary(r.w)
	}
	fmt.Fprintln(r.w, "\n"+runTook(sum.Duration))
}

// JSON report.

// Schemas of the --output json documents of `sshplay play` and `sshplay
// exec`. A change that removes or renames a field gets a new version;
// adding a field does not.
const (
	RunSchema  = "sshplay.run/v1"
	ExecSchema = "sshplay.exec/v1"
)

// JSONDoc is the --output json document (README: "JSON output").
type JSONDoc struct {
	// Schema names the document's shape: RunSchema or ExecSchema.
	Schema          string            `json:"schema"`
	Check           bool              `json:"check"`
	Plays           []*JSONPlay       `json:"plays"`
	Stats           map[string]*Stats `json:"stats"`
	DurationSeconds float64           `json:"duration_seconds"`
	Interrupted     bool              `json:"interrupted,omitempty"`
	// Transport is, per host reached over SSH, what its connection asked
	// of it: connections, sessions, sudo, sftp_requests, commands.
	Transport map[string]transport.Stats `json:"transport,omitempty"`
}

// JSONPlay is one play in the JSON document.
type JSONPlay struct {
	Name  string      `json:"name"`
	Hosts []string    `json:"hosts"`
	Tasks []*JSONTask `json:"tasks"`
	Notes []string    `json:"notes,omitempty"`
	play  *Play
}

// JSONTask is one task (or handler run) in the JSON document.
type JSONTask struct {
	Name    string                     `json:"name"`
	Module  string                     `json:"module,omitempty"`
	Pos     string                     `json:"pos"`
	Handler bool                       `json:"handler,omitempty"`
	Hosts   map[string]*JSONHostResult `json:"hosts"`
	task    *Task
}

// JSONHostResult is a task's outcome on a host.
type JSONHostResult struct {
	Status     string            `json:"status"`
	Changed    bool              `json:"changed"`
	Ignored    bool              `json:"ignored,omitempty"`
	WouldRun   bool              `json:"would_run,omitempty"`
	Msg        string            `json:"msg,omitempty"`
	Diff       []JSONDiff        `json:"diff,omitempty"`
	DurationMS int64             `json:"duration_ms"`
	Result     map[string]any    `json:"result,omitempty"`
	Items      []*JSONHostResult `json:"items,omitempty"`
	Item       any               `json:"item,omitempty"`
	// Plan is, under --check, what the change would do beyond its diffs
	// (the text output's "(would ...)" note), one line per entry.
	Plan []string `json:"plan,omitempty"`
}

// JSONDiff is one diff of a change.
type JSONDiff struct {
	Path    string `json:"path"`
	Unified string `json:"unified"`
}

type jsonReporter struct {
	mu  sync.Mutex
	w   io.Writer
	doc *JSONDoc
}

func newJSONReporter(w io.Writer, check bool, schema string) *jsonReporter {
	return &jsonReporter{w: w, doc: &JSONDoc{Schema: schema, Check: check, Plays: []*JSONPlay{}, Stats: map[string]*Stats{}}}
}

func (r *jsonReporter) PlayStart(p *Play, hosts []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hosts == nil {
		hosts = []string{}
	}
	if n := len(r.doc.Plays); n > 0 && r.doc.Plays[n-1].play == p {
		return // the next serial batch of the same play
	}
	r.doc.Plays = append(r.doc.Plays, &JSONPlay{Name: p.Name, Hosts: hosts, Tasks: []*JSONTask{}, play: p})
}

func (r *jsonReporter) play() *JSONPlay {
	if len(r.doc.Plays) == 0 {
		r.doc.Plays = append(r.doc.Plays, &JSONPlay{Tasks: []*JSONTask{}})
	}
	return r.doc.Plays[len(r.doc.Plays)-1]
}

func (r *jsonReporter) TaskStart(t *Task, handler bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taskStart(t, handler)
}

func (r *jsonReporter) taskStart(t *Task, handler bool) *JSONTask {
	p := r.play()
	if n := len(p.Tasks); n > 0 && p.Tasks[n-1].task == t {
		return p.Tasks[n-1]
	}
	jt := &JSONTask{Name: t.DisplayName(), Module: t.Module, Pos: t.Pos.String(), Handler: handler, Hosts: map[string]*JSONHostResult{}, task: t}
	p.Tasks = append(p.Tasks, jt)
	return jt
}

func (r *jsonReporter) find(t *Task, handler bool) *JSONTask {
	p := r.play()
	for i := len(p.Tasks) - 1; i >= 0; i-- {
		if p.Tasks[i].task == t {
			return p.Tasks[i]
		}
	}
	return r.taskStart(t, handler)
}

func toJSONResult(hr *HostResult, check bool) *JSONHostResult {
	jr := &JSONHostResult{
		Status:     hr.Status.String(),
		Changed:    hr.Status == tasks.StatusChanged,
		Ignored:    hr.Ignored,
		WouldRun:   hr.WouldRun,
		Msg:        maskString(hr.Msg, hr.Secrets),
		DurationMS: hr.Duration.Milliseconds(),
	}
	if hr.NoLog {
		jr.Msg = NoLogMessage
	}
	if res, ok := jsonSafe(hr.shownResult()).(map[string]any); ok {
		jr.Result = res
	}
	if !hr.NoLog && !hr.NoDiff {
		for _, d := range hr.Diffs {
			jr.Diff = append(jr.Diff, JSONDiff{Path: d.Path, Unified: maskString(d.Unified, hr.Secrets)})
		}
	}
	if hr.HasItem && !hr.NoLog {
		// Under no_log the item is dropped: it is often the secret itself.
		jr.Item = jsonSafe(maskValue(hr.Item, hr.Secrets))
	}
	if check && hr.Status == tasks.StatusChanged && !hr.NoLog {
		jr.Plan = planLines(hr)
	}
	return jr
}

// planLines is a check run's plan note for a result, split into lines,
// secrets masked; nil when the change has none.
func planLines(hr *HostResult) []string {
	var out []string
	for _, l := range strings.Split(maskString(hr.Summary, hr.Secrets), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (r *jsonReporter) HostResult(hr *HostResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	jt := r.find(hr.Task, hr.Handler)
	jr := toJSONResult(hr, r.doc.Check)
	if hr.HasItem {
		agg, ok := jt.Hosts[hr.Host]
		if !ok {
			agg = &JSONHostResult{Status: "ok"}
			jt.Hosts[hr.Host] = agg
		}
		jr.Result = nil
		agg.Items = append(agg.Items, jr)
		return
	}
	if agg, ok := jt.Hosts[hr.Host]; ok && hr.LoopSummary {
		jr.Items = agg.Items
	}
	jt.Hosts[hr.Host] = jr
}

func (r *jsonReporter) LoopDone(hr *HostResult) { r.HostResult(hr) }

func (r *jsonReporter) Note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.play()
	p.Notes = append(p.Notes, msg)
}

func (r *jsonReporter) NoMoreHosts() { r.Note("NO MORE HOSTS LEFT") }

func (r *jsonReporter) Progress(*Task, int) func() { return func() {} }

func (r *jsonReporter) Recap(sum *Summary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.doc.Stats = sum.Stats
	r.doc.DurationSeconds = sum.Duration.Seconds()
	r.doc.Interrupted = sum.Interrupted
	r.doc.Transport = sum.Transport
	enc := json.NewEncoder(r.w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r.doc)
}
