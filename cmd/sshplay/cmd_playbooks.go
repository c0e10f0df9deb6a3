package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/internal/suggest"
	"github.com/sshplay/sshplay/playbooks"
)

// Schemas of the playbooks documents; versioned as those of output.go.
const (
	playbookSchema     = "sshplay.playbook/v1"
	playbookListSchema = "sshplay.playbooks/v1"
)

// playbookDoc is `sshplay playbooks show NAME --output json`: the
// playbook's header comment, read by playbooks.ParseDoc.
type playbookDoc struct {
	Schema      string           `json:"schema"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Usage       string           `json:"usage"` // command lines, one per line
	Variables   []playbookDocVar `json:"variables"`
	// Notes are the Variables section's other paragraphs ("Hosts: ...").
	Notes []string `json:"notes"`
}

// playbookDocVar is one documented variable, as the header writes it.
type playbookDocVar struct {
	Name        string `json:"name"`
	Default     string `json:"default"`
	Description string `json:"description"`
}

// playbookListDoc is `sshplay playbooks list --output json`.
type playbookListDoc struct {
	Schema    string            `json:"schema"`
	Playbooks []playbookListRow `json:"playbooks"`
}

// playbookListRow is one shipped playbook.
type playbookListRow struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// newPlaybooksCommand is `sshplay playbooks`: what ships inside the binary.
func newPlaybooksCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "playbooks",
		Short: "List the playbooks shipped inside sshplay and show their variables",
		Example: "  sshplay playbooks list\n" +
			"  sshplay playbooks show postgres-tls",
		// An unknown sub-command is bad input (exit 5), as at the root.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			var names []string
			for _, c := range cmd.Commands() {
				names = append(names, c.Name())
			}
			return usageError{fmt.Errorf("unknown command %q for %q%s", args[0], cmd.CommandPath(), suggest.Hint(args[0], names))}
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPlaybooksListCommand(g), newPlaybooksShowCommand(g))
	return cmd
}

// playbooksListOptions are the flags of `sshplay playbooks list`.
type playbooksListOptions struct {
	Output string
}

// AddFlags registers the list command's flags.
func (o *playbooksListOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Output, "output", outputText, outputHelp+" (json: one "+playbookListSchema+" document)")
}

func newPlaybooksListCommand(g *globals) *cobra.Command {
	var opts playbooksListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the shipped playbooks with what each does",
		Example: "  sshplay playbooks list\n" +
			"  sshplay playbooks list --output json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlaybooksList(g.Stdout, opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runPlaybooksList(w io.Writer, opts playbooksListOptions) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	doc := playbookListDoc{Schema: playbookListSchema, Playbooks: []playbookListRow{}}
	for _, name := range playbooks.EmbeddedNames() {
		d, err := playbooks.EmbeddedDoc(name)
		if err != nil {
			return fmt.Errorf("playbooks list: %w", err)
		}
		doc.Playbooks = append(doc.Playbooks, playbookListRow{Name: d.Name, Description: d.Description})
	}
	if opts.Output == outputJSON {
		return writeJSON(w, doc)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION")
	for _, p := range doc.Playbooks {
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Description)
	}
	return tw.Flush()
}

// playbooksShowOptions are the flags of `sshplay playbooks show`.
type playbooksShowOptions struct {
	Output string
	Source bool
}

// AddFlags registers the show command's flags.
func (o *playbooksShowOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Output, "output", outputText, outputHelp+" (json: one "+playbookSchema+" document)")
	f.BoolVar(&o.Source, "source", false, "print the whole playbook (YAML) instead, e.g. to start a copy of your own")
}

func newPlaybooksShowCommand(g *globals) *cobra.Command {
	var opts playbooksShowOptions
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a shipped playbook's variables and their defaults (or its YAML)",
		Long: "Show what a shipped playbook's header comment documents: what it does, how to\n" +
			"run it, and every variable it reads with its default. Set them in the\n" +
			"inventory (group_vars, host_vars) or with -e on `sshplay play`.",
		Example: "  sshplay playbooks show postgres-tls\n" +
			"  sshplay playbooks show postgres-tls --output json\n" +
			"  sshplay playbooks show postgres-tls --source > my-tls.yml",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("playbooks show: give one playbook name (shipped: %s)", strings.Join(playbooks.EmbeddedNames(), ", "))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlaybooksShow(g.Stdout, opts, args[0])
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runPlaybooksShow(w io.Writer, opts playbooksShowOptions, name string) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	if opts.Source && opts.Output == outputJSON {
		return usageError{errors.New("playbooks show: --source prints the YAML; it does not go with --output json")}
	}
	src, err := playbooks.EmbeddedSource(name)
	if errors.Is(err, fs.ErrNotExist) {
		names := playbooks.EmbeddedNames()
		return usageError{fmt.Errorf("playbooks show: no shipped playbook %q%s; shipped: %s",
			name, suggest.Hint(strings.TrimSuffix(name, ".yml"), names), strings.Join(names, ", "))}
	}
	if err != nil {
		return fmt.Errorf("playbooks show %s: %w", name, err)
	}
	if opts.Source {
		_, err := w.Write(src)
		return err
	}
	d, err := playbooks.EmbeddedDoc(name)
	if err != nil {
		return fmt.Errorf("playbooks show: %w", err)
	}
	doc := newPlaybookDoc(d)
	if opts.Output == outputJSON {
		return writeJSON(w, doc)
	}
	return printPlaybookDoc(w, doc)
}

// newPlaybookDoc builds the JSON view of d; variables is never null.
func newPlaybookDoc(d playbooks.Doc) playbookDoc {
	doc := playbookDoc{Schema: playbookSchema, Name: d.Name, Description: d.Description,
		Usage: strings.Join(d.Usage, "\n"), Variables: []playbookDocVar{}, Notes: nonNil(d.Notes)}
	for _, v := range d.Variables {
		doc.Variables = append(doc.Variables, playbookDocVar(v))
	}
	return doc
}

// Where printPlaybookDoc wraps a variable's description, and a note.
const (
	docWidth  = 52
	noteWidth = 78
)

// printPlaybookDoc prints doc as text: the description, the usage lines,
// the notes, then one table row per variable, long descriptions wrapped in their
// column.
func printPlaybookDoc(w io.Writer, doc playbookDoc) error {
	fmt.Fprintf(w, "%s: %s\n", doc.Name, doc.Description)
	if doc.Usage != "" {
		fmt.Fprintln(w)
		for _, l := range strings.Split(doc.Usage, "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintln(w)
	for _, n := range doc.Notes {
		fmt.Fprintf(w, "%s\n\n", strings.Join(wrapWords(n, noteWidth), "\n"))
	}
	if len(doc.Variables) == 0 {
		_, err := fmt.Fprintln(w, "Variables: none.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION")
	for _, v := range doc.Variables {
		lines := wrapWords(v.Description, docWidth)
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.Default, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "\t\t%s\n", l)
		}
	}
	return tw.Flush()
}

// wrapWords splits s into lines of at most width bytes where it can (a
// longer word gets a line of its own); always at least one line.
func wrapWords(s string, width int) []string {
	lines := []string{""}
	for _, word := range strings.Fields(s) {
		last := &lines[len(lines)-1]
		switch {
		case *last == "":
			*last = word
		case len(*last)+1+len(word) <= width:
			*last += " " + word
		default:
			lines = append(lines, word)
		}
	}
	return lines
}
