package main

// cmd_report.go wires `sshplay report merge`: the JSON documents of the
// shards of one run (`--shard K/N --output json`) read back and told as
// one run: one PLAY RECAP, one document, one exit code. It never connects
// to a host.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/playbooks"
	"github.com/sshplay/sshplay/transport"
)

// Schemas of the documents `sshplay play` and `sshplay exec` write with
// --output json.
const (
	runSchema  = "sshplay.run/v1"
	execSchema = "sshplay.exec/v1"
)

// newReportCommand is `sshplay report`: work on saved run documents.
func newReportCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Work on saved --output json documents (merge the shards of a run)",
		Example: "  sshplay report merge shard-*.json          # one PLAY RECAP, the run's exit code\n" +
			"  sshplay report merge --output json a.json b.json > run.json",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newReportMergeCommand(g))
	return cmd
}

// reportMergeOptions are the flags of `sshplay report merge`.
type reportMergeOptions struct {
	Output string
	// In is what "-" reads (the command's stdin).
	In io.Reader
}

func (o *reportMergeOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Output, "output", outputText, outputHelp+" (json: one merged document of the same schema)")
}

func newReportMergeCommand(g *globals) *cobra.Command {
	var o reportMergeOptions
	cmd := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Merge the JSON documents of a sharded run into one recap (exit 0 ok, 2 a host failed, 4 unreachable)",
		Long: "Read the --output json documents of the shards of one `sshplay play` or `sshplay exec` run\n" +
			"(--shard K/N) and report them as one run: a PLAY RECAP over every host, or with --output json\n" +
			"one merged document. The exit code is the run's: 2 when a host failed, 4 when hosts were only\n" +
			"unreachable, 99 when a part was interrupted, 0 otherwise. Documents of different kinds (play\n" +
			"and exec), check and real runs, or a host present in two documents are refused (exit 5).\n" +
			"FILE - reads standard input.",
		Example: "  sshplay report merge shard-*.json\n" +
			"  sshplay report merge --output json - < parts.json   # documents one after the other",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("report merge: give at least one document (FILE, or - for stdin)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In = cmd.InOrStdin()
			return runReportMerge(g, o, args)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// runDoc is one document read back: its schema (given, or inferred for a
// document written before the field existed), the run, and its file.
type runDoc struct {
	File   string
	Schema string
	Doc    *playbooks.JSONDoc
}

// mergedDoc is the merged document: the schema first, then the run's
// fields (a schema field of JSONDoc itself is shadowed by this one).
type mergedDoc struct {
	Schema string `json:"schema"`
	*playbooks.JSONDoc
}

func runReportMerge(g *globals, o reportMergeOptions, files []string) error {
	if err := checkOutput(o.Output); err != nil {
		return err
	}
	docs, err := readRunDocs(o.In, files)
	if err != nil {
		return err
	}
	merged, err := mergeRunDocs(docs)
	if err != nil {
		return err
	}
	if o.Output == outputJSON {
		if err := writeJSON(g.Stdout, merged); err != nil {
			return fmt.Errorf("report merge: %w", err)
		}
	} else {
		printMergedRecap(g.Stdout, merged.JSONDoc)
	}
	return mergedOutcome(merged.JSONDoc)
}

// readRunDocs reads every document named in files ("-": in, once). A file
// that is not a play or exec document is bad input naming the file.
func readRunDocs(in io.Reader, files []string) ([]runDoc, error) {
	var docs []runDoc
	stdin := false
	for _, f := range files {
		var data []byte
		var err error
		if f == "-" {
			if stdin {
				return nil, usageError{errors.New("report merge: - (stdin) given twice")}
			}
			stdin = true
			data, err = io.ReadAll(in)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("report merge: %w", err)}
		}
		ds, err := decodeRunDocs(f, data)
		if err != nil {
			return nil, err
		}
		docs = append(docs, ds...)
	}
	return docs, nil
}

// decodeRunDocs decodes the documents of one input: one, or several one
// after the other (the logs of the pods of a Kubernetes Job, concatenated);
// the second and later are named FILE#2, FILE#3 in errors.
func decodeRunDocs(file string, data []byte) ([]runDoc, error) {
	name := file
	if file == "-" {
		name = "stdin"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []runDoc
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) && n > 1 {
			return docs, nil
		}
		label := name
		if n > 1 {
			label = fmt.Sprintf("%s#%d", name, n)
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: not a JSON document: %w", label, err)}
		}
		d, err := decodeRunDoc(label, raw)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
}

// decodeRunDoc decodes one play or exec document, named name in errors: schema sshplay.run/v1 or
// sshplay.exec/v1, or none (documents written before the field), inferred
// from the ad-hoc play exec writes.
func decodeRunDoc(name string, data []byte) (runDoc, error) {
	var probe struct {
		Schema string          `json:"schema"`
		Stats  json.RawMessage `json:"stats"`
		Plays  json.RawMessage `json:"plays"`
	}
	var doc playbooks.JSONDoc
	if err := json.Unmarshal(data, &probe); err != nil {
		return runDoc{}, usageError{fmt.Errorf("%s: not a JSON document: %w", name, err)}
	}
	switch {
	case probe.Schema != "" && probe.Schema != runSchema && probe.Schema != execSchema:
		return runDoc{}, usageError{fmt.Errorf("%s: schema %q: want %s or %s (sshplay play or exec --output json)", name, probe.Schema, runSchema, execSchema)}
	case probe.Stats == nil || probe.Plays == nil:
		return runDoc{}, usageError{fmt.Errorf("%s: not a sshplay play or exec --output json document (no stats or plays)", name)}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return runDoc{}, usageError{fmt.Errorf("%s: %w", name, err)}
	}
	if doc.Stats == nil {
		doc.Stats = map[string]*playbooks.Stats{}
	}
	schema := probe.Schema
	if schema == "" {
		schema = inferSchema(&doc)
	}
	return runDoc{File: name, Schema: schema, Doc: &doc}, nil
}

// inferSchema tells an exec document (its one play is playbooks.Adhoc's,
// whose task sits at "adhoc") from a play document, for documents without
// a schema field; "" when there is no task to tell by.
func inferSchema(doc *playbooks.JSONDoc) string {
	for _, p := range doc.Plays {
		for _, t := range p.Tasks {
			if strings.HasPrefix(t.Pos, "adhoc:") {
				return execSchema
			}
			return runSchema
		}
	}
	return ""
}

// mergedOutcome is the merged run's exit, as for one run (hostsOutcome):
// nil when every host ended well, else the *hostsError main maps to 2, 4
// or 99.
func mergedOutcome(doc *playbooks.JSONDoc) error {
	e := &hostsError{Interrupted: doc.Interrupted}
	for _, st := range doc.Stats {
		if st == nil {
			continue
		}
		if st.Failed > 0 {
			e.Failed++
		}
		if st.Unreachable > 0 {
			e.Unreachable++
		}
	}
	if e.Failed == 0 && e.Unreachable == 0 && !e.Interrupted {
		return nil
	}
	return e
}

// printMergedRecap prints the PLAY RECAP of the merged run, as the engine
// prints one (playbooks.RecapLine, hosts sorted), then how long the longest
// part took: the parts ran side by side.
func printMergedRecap(w io.Writer, doc *playbooks.JSONDoc) {
	fmt.Fprintf(w, "\nPLAY RECAP %s\n", strings.Repeat("*", 79-len("PLAY RECAP")))
	hosts := make([]string, 0, len(doc.Stats))
	for h := range doc.Stats {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		st := doc.Stats[h]
		if st == nil {
			st = &playbooks.Stats{}
		}
		fmt.Fprintln(w, playbooks.RecapLine(h, st))
	}
	if doc.Interrupted {
		fmt.Fprintln(w, "\n[interrupted]")
	}
	fmt.Fprintf(w, "\n%d hosts; the longest part took %.2fs\n", len(hosts), doc.DurationSeconds)
}

// mergeRunDocs merges the parts of one run. It refuses (exit 5) parts of
// different kinds (play and exec), check and real runs mixed, and a host
// in two parts (a shard given twice, or parts of different runs). Plays
// and tasks are matched by name and position and their hosts joined; the
// duration is the longest part's; interrupted if any part was.
func mergeRunDocs(docs []runDoc) (*mergedDoc, error) {
	out := &mergedDoc{JSONDoc: &playbooks.JSONDoc{Plays: []*playbooks.JSONPlay{}, Stats: map[string]*playbooks.Stats{}}}
	owner := map[string]string{} // host -> file
	var first runDoc
	for i, d := range docs {
		if i == 0 {
			first = d
			out.Check = d.Doc.Check
		}
		if err := compatible(first, d, &out.Schema); err != nil {
			return nil, err
		}
		for h, st := range d.Doc.Stats {
			if f, ok := owner[h]; ok {
				return nil, usageError{fmt.Errorf("report merge: host %s is in %s and in %s: each host must be in one part", h, f, d.File)}
			}
			owner[h] = d.File
			out.Stats[h] = st
		}
		for h, ts := range d.Doc.Transport {
			if out.Transport == nil {
				out.Transport = map[string]transport.Stats{}
			}
			out.Transport[h] = ts
		}
		out.DurationSeconds = max(out.DurationSeconds, d.Doc.DurationSeconds)
		out.Interrupted = out.Interrupted || d.Doc.Interrupted
		mergePlays(out.JSONDoc, d.Doc)
	}
	if out.Schema == "" {
		out.Schema = runSchema
	}
	return out, nil
}

// compatible checks part d against the first part: same check mode, and
// the same schema when both are known (schema collects the known one).
func compatible(first, d runDoc, schema *string) error {
	if d.Doc.Check != first.Doc.Check {
		return usageError{fmt.Errorf("report merge: %s is a %s and %s a %s: merge the parts of one run", first.File, runKind(first.Doc.Check), d.File, runKind(d.Doc.Check))}
	}
	switch {
	case d.Schema == "":
	case *schema == "":
		*schema = d.Schema
	case d.Schema != *schema:
		return usageError{fmt.Errorf("report merge: %s is %s and %s is %s: merge documents of one kind", first.File, *schema, d.File, d.Schema)}
	}
	return nil
}

func runKind(check bool) string {
	if check {
		return "check run (--check)"
	}
	return "real run"
}

// mergePlays joins the plays of part into doc: a play is the same when its
// name and its rank among the plays of that name match, a task when its
// position, name and handler flag do; otherwise it is appended (a shard
// whose hosts skipped a play has none of its tasks).
func mergePlays(doc, part *playbooks.JSONDoc) {
	seen := map[string]int{}
	for _, p := range part.Plays {
		key := fmt.Sprintf("%s\x00%d", p.Name, seen[p.Name])
		seen[p.Name]++
		mp := findPlay(doc, key)
		if mp == nil {
			mp = &playbooks.JSONPlay{Name: p.Name, Hosts: []string{}, Tasks: []*playbooks.JSONTask{}}
			doc.Plays = append(doc.Plays, mp)
		}
		mp.Hosts = append(mp.Hosts, p.Hosts...)
		for _, n := range p.Notes {
			if !slices.Contains(mp.Notes, n) {
				mp.Notes = append(mp.Notes, n)
			}
		}
		for _, t := range p.Tasks {
			mt := findTask(mp, t)
			if mt == nil {
				mt = &playbooks.JSONTask{Name: t.Name, Module: t.Module, Pos: t.Pos, Handler: t.Handler, Hosts: map[string]*playbooks.JSONHostResult{}}
				mp.Tasks = append(mp.Tasks, mt)
			}
			for h, r := range t.Hosts {
				mt.Hosts[h] = r
			}
		}
	}
}

// findPlay is the merged play with key (name, rank), nil when none.
func findPlay(doc *playbooks.JSONDoc, key string) *playbooks.JSONPlay {
	seen := map[string]int{}
	for _, p := range doc.Plays {
		k := fmt.Sprintf("%s\x00%d", p.Name, seen[p.Name])
		seen[p.Name]++
		if k == key {
			return p
		}
	}
	return nil
}

// findTask is the task of play p that is t (same position, name and
// handler flag), nil when none.
func findTask(p *playbooks.JSONPlay, t *playbooks.JSONTask) *playbooks.JSONTask {
	for _, mt := range p.Tasks {
		if mt.Pos == t.Pos && mt.Name == t.Name && mt.Handler == t.Handler {
			return mt
		}
	}
	return nil
}
