package playbooks

// The with_<lookup> loops and loop_control's index_var, extended and
// pause. Each with_ keyword is Ansible's lookup of that name run over the
// keyword's value; the lookups run on the control machine. Results are
// pinned against ansible-core 2.14 in testdata/loops (see loops_test.go).

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/playbooks/template"
)

// LoopOptions are loop_control's keys besides loop_var and label.
type LoopOptions struct {
	IndexVar string
	Extended bool
	Pause    time.Duration
}

// lookupLoops are the with_ keywords run through a lookup of ours.
var lookupLoops = map[string]func(v any, dir string) ([]any, error){
	"with_dict":        withDict,
	"with_together":    withTogether,
	"with_nested":      withNested,
	"with_sequence":    withSequence,
	"with_fileglob":    withFileglob,
	"with_first_found": withFirstFound,
}

// loopKeywords are every keyword that gives a task its loop.
var loopKeywords = []string{"loop", "with_items", "with_list", "with_dict", "with_together", "with_nested",
	"with_sequence", "with_fileglob", "with_first_found"}

// lookupLoop reads a with_<lookup> keyword: its value, templated at run
// time, is the lookup's terms.
func (p *parser) lookupLoop(t *Task, n *yaml.Node, from string) {
	t.HasLoop = true
	t.Loop = p.value(n, from)
}

// moreLoopControl reads index_var, extended and pause; false for any
// other key.
func (p *parser) moreLoopControl(t *Task, k, v *yaml.Node) bool {
	switch k.Value {
	case "index_var":
		t.LoopMore.IndexVar = p.str(v, "index_var")
		if !reIdent.MatchString(t.LoopMore.IndexVar) {
			p.fail(v, "index_var: %q is not a valid variable name", t.LoopMore.IndexVar)
		}
	case "extended":
		t.LoopMore.Extended = p.boolean(v, "extended")
	case "pause":
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || f < 0 {
			p.fail(v, "pause: want a number of seconds, got %q", v.Value)
		}
		t.LoopMore.Pause = time.Duration(f * float64(time.Second))
	default:
		return false
	}
	return true
}

// loopControlKeys are loop_control's keys, for "did you mean".
var loopControlKeys = []string{"loop_var", "label", "index_var", "extended", "pause"}

func unknownLoopControl(k string) string { return suggest.Hint(k, loopControlKeys) }

// loopVars are the variables of item i besides the loop variable:
// ansible_loop (every field of loop_control.extended) and index_var.
func loopVars(t *Task, items []any, i int) map[string]any {
	loop := map[string]any{
		"index": i + 1, "index0": i, "revindex": len(items) - i, "revindex0": len(items) - i - 1,
		"first": i == 0, "last": i == len(items)-1, "length": len(items), "allitems": items,
	}
	if i > 0 {
		loop["previtem"] = items[i-1]
	}
	if i+1 < len(items) {
		loop["nextitem"] = items[i+1]
	}
	vars := map[string]any{t.LoopVar: template.Literal{V: items[i]}, "ansible_loop": template.Literal{V: loop}}
	if t.LoopMore.IndexVar != "" {
		vars[t.LoopMore.IndexVar] = i
	}
	return vars
}

// loopResultVars are what an item's registered result carries besides
// its module's result, as in Ansible.
func loopResultVars(t *Task, items []any, i int) map[string]any {
	out := map[string]any{t.LoopVar: items[i], "ansible_loop_var": t.LoopVar}
	if t.LoopMore.IndexVar != "" {
		out[t.LoopMore.IndexVar] = i
		out["ansible_index_var"] = t.LoopMore.IndexVar
	}
	if t.LoopMore.Extended {
		out["ansible_loop"] = loopVars(t, items, i)["ansible_loop"].(template.Literal).V
	}
	return out
}

// withDict is with_dict: a mapping's {key, value} pairs (in key order;
// Ansible keeps the order written).
func withDict(v any, _ string) ([]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("with_dict expects a dict, got %T", v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = map[string]any{"key": k, "value": m[k]}
	}
	return out, nil
}

// lists is the terms of with_together and with_nested: a list of lists.
func lists(kind string, v any) ([][]any, error) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return nil, fmt.Errorf("%s requires at least one element in the nested list", kind)
	}
	out := make([][]any, len(l))
	for i, e := range l {
		sub, ok := e.([]any)
		if !ok {
			sub = []any{e}
		}
		out[i] = sub
	}
	return out, nil
}

// withTogether zips lists, padding the shorter ones with null.
func withTogether(v any, _ string) ([]any, error) {
	ls, err := lists("with_together", v)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, l := range ls {
		n = max(n, len(l))
	}
	out := make([]any, n)
	for i := range out {
		row := make([]any, len(ls))
		for j, l := range ls {
			if i < len(l) {
				row[j] = l[i]
			}
		}
		out[i] = row
	}
	return out, nil
}

// withNested is the cartesian product of the lists, first list outermost.
func withNested(v any, _ string) ([]any, error) {
	ls, err := lists("with_nested", v)
	if err != nil {
		return nil, err
	}
	rows := [][]any{{}}
	for _, l := range ls {
		var next [][]any
		for _, r := range rows {
			for _, e := range l {
				next = append(next, append(append([]any{}, r...), e))
			}
		}
		rows = next
	}
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out, nil
}

// terms is a with_ value as a list of terms (a single term is listed).
func terms(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

// searchDirs are where a relative file of a with_fileglob or
// with_first_found is looked for: files/ next to the playbook, then the
// playbook's own directory, as Ansible's search path without roles.
func searchDirs(dir, sub string) []string {
	return []string{filepath.Join(dir, "files", sub), filepath.Join(dir, sub)}
}

// withFileglob lists the files (not directories) matching each pattern,
// as absolute paths; a pattern matching nothing adds nothing.
func withFileglob(v any, dir string) ([]any, error) {
	var out []any
	for _, term := range terms(v) {
		pat := fmt.Sprint(term)
		dirs := []string{filepath.Dir(pat)}
		if !filepath.IsAbs(pat) {
			dirs = searchDirs(dir, filepath.Dir(pat))
		}
		for _, d := range dirs {
			matches, err := filepath.Glob(filepath.Join(d, filepath.Base(pat)))
			if err != nil {
				return nil, fmt.Errorf("with_fileglob %q: %w", pat, err)
			}
			found := false
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && !st.IsDir() {
					out, found = append(out, m), true
				}
			}
			if found {
				break
			}
		}
	}
	return out, nil
}

// withFirstFound is the first existing file among the terms: names, or
// mappings of files, paths and skip (a string of names separated by , ;
// or : is split, as Ansible does). None found is an error unless skip.
func withFirstFound(v any, dir string) ([]any, error) {
	var candidates []string
	skip := false
	for _, term := range terms(v) {
		m, ok := term.(map[string]any)
		if !ok {
			candidates = append(candidates, fmt.Sprint(term))
			continue
		}
		files, paths := splitNames(m["files"]), splitNames(m["paths"])
		if b, ok := m["skip"].(bool); ok && b {
			skip = true
		}
		if len(paths) == 0 {
			candidates = append(candidates, files...)
		}
		for _, p := range paths {
			for _, f := range files {
				candidates = append(candidates, filepath.Join(p, f))
			}
		}
	}
	for _, c := range candidates {
		dirs := []string{""}
		if !filepath.IsAbs(c) {
			dirs = searchDirs(dir, "")
		}
		for _, d := range dirs {
			p := filepath.Join(d, c)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return []any{p}, nil
			}
		}
	}
	if skip {
		return []any{}, nil
	}
	return nil, fmt.Errorf("no file was found when using first_found (tried %s)", strings.Join(candidates, ", "))
}

var reNameSep = regexp.MustCompile(`[,;:]`)

func splitNames(v any) []string {
	var out []string
	for _, e := range terms(v) {
		for _, s := range reNameSep.Split(fmt.Sprint(e), -1) {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// sequence is one with_sequence term.
type sequence struct {
	start, end, stride, count int
	hasEnd, hasCount          bool
	format                    string
}

var reSeqShort = regexp.MustCompile(`^(?:(0[xo]?[0-9a-fA-F]+|[0-9]+)-)?(0[xo]?[0-9a-fA-F]+|[0-9]+)(?:/(-?[0-9]+))?(?::(.+))?$`)

// parseSequence reads "start=1 end=5 stride=2 format=x%02d" or the short
// form "[start-]end[/stride][:format]"; numbers as Python's int(x, 0).
func parseSequence(term string) (sequence, error) {
	s := sequence{start: 1, stride: 1, format: "%d"}
	num := func(k, v string) (int, error) {
		n, err := strconv.ParseInt(v, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("with_sequence: can't parse %s=%s as integer", k, v)
		}
		return int(n), nil
	}
	set := map[string]*int{"start": &s.start, "end": &s.end, "stride": &s.stride, "count": &s.count}
	if m := reSeqShort.FindStringSubmatch(strings.TrimSpace(term)); m != nil {
		pairs := [][2]string{{"start", m[1]}, {"end", m[2]}, {"stride", m[3]}, {"format", m[4]}}
		term = ""
		for _, kv := range pairs {
			if kv[1] != "" {
				term += kv[0] + "=" + kv[1] + " "
			}
		}
	}
	for _, f := range strings.Fields(term) {
		k, v, ok := strings.Cut(f, "=")
		if k == "format" && ok {
			s.format = v
			continue
		}
		p, known := set[k]
		if !ok || !known {
			return s, fmt.Errorf("with_sequence: unrecognized argument %q", f)
		}
		n, err := num(k, v)
		if err != nil {
			return s, err
		}
		*p = n
		s.hasEnd, s.hasCount = s.hasEnd || k == "end", s.hasCount || k == "count"
	}
	return s, nil
}

// items are the sequence's values, formatted, checked as Ansible does.
func (s sequence) items() ([]any, error) {
	switch {
	case s.hasEnd && s.hasCount:
		return nil, fmt.Errorf("with_sequence: can't specify both count and end")
	case s.hasCount && s.count == 0:
		return []any{}, nil
	case s.hasCount:
		s.end = s.start + (s.count-1)*s.stride
	case !s.hasEnd:
		return nil, fmt.Errorf("with_sequence: must specify count or end")
	}
	switch {
	case s.stride == 0:
		return []any{}, nil
	case s.stride > 0 && s.end < s.start:
		return nil, fmt.Errorf("with_sequence: to count backwards make stride negative")
	case s.stride < 0 && s.end > s.start:
		return nil, fmt.Errorf("with_sequence: to count forward don't make stride negative")
	}
	format := strings.ReplaceAll(s.format, "%s", "%d")
	var out []any
	for i := s.start; (s.stride > 0 && i <= s.end) || (s.stride < 0 && i >= s.end); i += s.stride {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out, nil
}

func withSequence(v any, _ string) ([]any, error) {
	var out []any
	for _, term := range terms(v) {
		s, err := parseSequence(fmt.Sprint(term))
		if err != nil {
			return nil, err
		}
		items, err := s.items()
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}
