package playbooks

// The play loop: a play's hosts in batches (serial); each batch connected,
// then run through pre_tasks, tasks and post_tasks, with the notified
// handlers flushed after each section; and when a play, and with it the
// run, stops (any_errors_fatal, max_fail_percentage, a batch whose every
// host is down). Also the play's hosts pattern and its vars_files.

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/sshplay/sshplay/playbooks/template"
)

// playRun is the state of one play.
type playRun struct {
	pb        *Playbook
	play      *Play
	hosts     []string // all hosts of the play (ansible_play_hosts)
	batch     []*hostState
	abort     bool // any_errors_fatal, max_fail_percentage, end_play
	fatal     bool // abort by any_errors_fatal or max_fail_percentage: handlers run only when forced
	endBatch  bool
	varsFiles map[string]any
	// rolesRun are the roles (Role.once) that have run on each host.
	rolesRun map[string]map[string]bool
	mu       sync.Mutex
}

// roleOnce is the hosts on which the role once names has not run yet in
// the play; when runs is true (a task of it is selected by the tags),
// they are marked as having run it, as Ansible marks a role run on a host.
func (pr *playRun) roleOnce(once string, hosts []*hostState, runs bool) []*hostState {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.rolesRun == nil {
		pr.rolesRun = map[string]map[string]bool{}
	}
	ran := pr.rolesRun[once]
	if ran == nil {
		ran = map[string]bool{}
		pr.rolesRun[once] = ran
	}
	var out []*hostState
	for _, h := range hosts {
		if !ran[h.name] {
			out = append(out, h)
			if runs {
				ran[h.name] = true
			}
		}
	}
	return out
}

// runPlay runs one play; false means the run must stop (a fatal error or
// a max_fail_percentage breach).
func (r *runner) runPlay(ctx context.Context, pb *Playbook, play *Play) bool {
	pattern, _ := r.playPattern(play) // rendered without error in Run
	names, _ := r.playHosts(pattern)
	hosts, live := r.liveHosts(names)
	r.rep.PlayStart(play, live)
	if len(hosts) == 0 {
		r.rep.Note("skipping: no hosts matched")
		return true
	}
	pr := &playRun{pb: pb, play: play, hosts: live}
	vf, err := r.loadVarsFiles(pb, play)
	if err != nil {
		for _, h := range hosts {
			r.hostFailed(h, nil, err)
		}
		return false
	}
	pr.varsFiles = vf
	for i, batch := range batches(hosts, play.Serial) {
		if ctx.Err() != nil || pr.abort {
			break
		}
		if i > 0 {
			r.rep.PlayStart(play, live) // Ansible repeats PLAY per batch
		}
		pr.batch = batch
		pr.endBatch = false
		r.connect(ctx, batch)
		r.gatherFacts(ctx, pr)
		for _, sec := range [][]*Task{play.PreTasks, play.Tasks, play.PostTasks} {
			if len(sec) == 0 {
				continue
			}
			r.runSection(ctx, pr, sec)
			if !pr.fatal || r.opts.ForceHandlers || pr.play.ForceHandlers {
				r.flushHandlers(ctx, pr)
			}
			if pr.abort || pr.endBatch {
				break
			}
		}
		if r.breached(pr) || allDown(batch) {
			// As in Ansible, a batch whose every host failed (or was
			// unreachable) ends the play and the run.
			pr.abort = true
		}
	}
	if pr.abort && !pr.endedByMeta() {
		r.rep.NoMoreHosts()
		return false
	}
	return true
}

// liveHosts are the hosts of names that have not failed and are not
// unreachable (failed hosts stay out of later plays, as in Ansible), with
// their names.
func (r *runner) liveHosts(names []string) (hosts []*hostState, live []string) {
	for _, n := range names {
		h := r.host(n)
		if h.isUnreach() || h.isFailed() {
			continue
		}
		h.setEnded(false)
		hosts = append(hosts, h)
		live = append(live, n)
	}
	return hosts, live
}

// stopped reports whether the play or the batch has been stopped.
func (pr *playRun) stopped() bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.abort || pr.endBatch
}

// endedByMeta reports whether the play stopped with every host of the batch
// still up: meta ended it, and the run goes on with the next play.
func (pr *playRun) endedByMeta() bool {
	for _, h := range pr.batch {
		if h.isFailed() || h.isUnreach() {
			return false
		}
	}
	return true
}

// allDown reports whether every host of a batch failed or is unreachable.
func allDown(batch []*hostState) bool {
	for _, h := range batch {
		if !h.isFailed() && !h.isUnreach() {
			return false
		}
	}
	return len(batch) > 0
}

// breached reports whether max_fail_percentage is exceeded in the batch.
func (r *runner) breached(pr *playRun) bool {
	if pr.play.MaxFailPercentage == nil || len(pr.batch) == 0 {
		return false
	}
	failed := 0
	for _, h := range pr.batch {
		if h.isFailed() || h.isUnreach() {
			failed++
		}
	}
	return float64(failed)*100/float64(len(pr.batch)) > *pr.play.MaxFailPercentage
}

// batches splits hosts by serial: "2", "50%", and a list whose last entry
// repeats.
func batches(hosts []*hostState, serial []string) [][]*hostState {
	if len(serial) == 0 {
		return [][]*hostState{hosts}
	}
	var out [][]*hostState
	i := 0
	for idx := 0; i < len(hosts); idx++ {
		s := serial[min(idx, len(serial)-1)]
		n := 0
		if strings.HasSuffix(s, "%") {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			n = int(math.Floor(f * float64(len(hosts)) / 100))
		} else {
			n, _ = strconv.Atoi(s)
		}
		n = max(n, 1)
		end := min(i+n, len(hosts))
		out = append(out, hosts[i:end])
		i = end
	}
	return out
}

// playPattern is the play's host pattern (see Play.Pattern).
func (r *runner) playPattern(play *Play) (string, error) {
	return play.Pattern(r.opts.ExtraVars)
}

// Pattern renders a play's hosts: as Ansible does, with the play's own
// vars and the extra vars (host variables do not exist yet), so
// `hosts: "{{ pg_hosts | default('dbservers') }}"` with `-e pg_hosts=db01`
// works. It is the one rule for the run, --list-hosts and the checks
// `sshplay play` makes before connecting. A template error is bad input.
func (p *Play) Pattern(extra map[string]any) (string, error) {
	if !template.IsTemplate(p.Hosts) {
		return p.Hosts, nil
	}
	v, err := template.New().Scope(mergeMaps(p.Vars, extra, map[string]any{"omit": template.Omit})).Render(p.Hosts)
	if err != nil {
		return "", &ParseError{File: p.Pos.File, Line: p.Pos.Line, Col: p.Pos.Col, Msg: fmt.Sprintf("hosts: %v", err)}
	}
	return strings.TrimSpace(v), nil
}

// loadVarsFiles reads the play's vars_files, their names rendered with the
// play's vars and the extra vars; later files win.
func (r *runner) loadVarsFiles(pb *Playbook, play *Play) (map[string]any, error) {
	out := map[string]any{}
	scope := r.tpl.Scope(mergeMaps(r.opts.ExtraVars, play.Vars))
	for _, f := range play.VarsFiles {
		name, err := scope.Render(f)
		if err != nil {
			return nil, fmt.Errorf("%s: vars_files %q: %w", play.Pos, f, err)
		}
		data, err := pb.readFile(name)
		if err != nil {
			return nil, fmt.Errorf("%s: vars_files: %w", play.Pos, err)
		}
		m, err := r.decodeVars(name, data)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}
