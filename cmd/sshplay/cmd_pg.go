package main

// cmd_pg.go wires `sshplay pg status`: flags, host selection, the checks
// every command makes before dialing (validateTargets), the table and the
// exit code. The inspection itself (fan-out, trust anchor, per-host status)
// lives in package pg; this file never connects to a host itself.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/transport"
)

// newPGCommand is `sshplay pg`: PostgreSQL helpers (status).
func newPGCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pg",
		Short: "PostgreSQL TLS helpers",
		Example: "  sshplay pg status -i inventory.ini     # exit 0 ok, 2 not ok, 4 unreachable\n" +
			"  sshplay pg status 'db0*' -i inventory.ini --root pki/root.crt",
	}
	cmd.AddCommand(newPGStatusCommand(g))
	return cmd
}

type pgStatusOptions struct {
	Hosts   string
	CADir   string
	Root    string
	OSUser  string
	Timeout int
	Output  string
}

// pgStatusPattern is the host pattern pg status inspects without one: the
// group postgres-tls runs on by default.
const pgStatusPattern = "dbservers"

func (o *pgStatusOptions) AddFlags(f *pflag.FlagSet) {
	// --hosts is the former way to give the pattern: hidden, and cobra
	// prints a deprecation notice when it is used.
	f.StringVar(&o.Hosts, "hosts", "", "host pattern to inspect (use the PATTERN argument)")
	_ = f.MarkDeprecated("hosts", "give the pattern as the argument: sshplay pg status PATTERN")
	f.StringVar(&o.CADir, "ca-dir", "", "CA directory whose root.crt clients trust (default: tls_ca_dir when the inventory sets one for every host, else pki/ beside the first -i source)")
	f.StringVar(&o.Root, "root", "", "root certificate file to verify against (overrides --ca-dir)")
	f.StringVar(&o.OSUser, "os-user", "postgres", "cluster OS user psql runs as on the host (sudo)")
	f.IntVar(&o.Timeout, "pg-timeout", 10, "PostgreSQL connect timeout in seconds")
	f.StringVar(&o.Output, "output", outputText, outputHelp+" (json: one sshplay.pg-status/v1 document; same exit codes)")
}

func newPGStatusCommand(g *globals) *cobra.Command {
	var opts pgStatusOptions
	cmd := &cobra.Command{
		Use:   "status [PATTERN]",
		Short: "Show TLS state and prove verify-full on every host (read-only; exit 0 ok, 2 not ok, 4 unreachable)",
		Long: "Show TLS state and prove verify-full on every host (read-only; exit 0 ok, 2 not ok, 4 unreachable).\n" +
			"Inspect the hosts matching PATTERN (default: the group " + pgStatusPattern + ", where postgres-tls runs),\n" +
			"narrowed by -l and --shard, as exec and play select hosts.",
		Example: "  sshplay pg status -i inventory.ini     # dbservers; exit 0 ok, 2 not ok, 4 unreachable\n" +
			"  sshplay pg status 'db0*' -i inventory.ini --ca-dir /etc/sshplay/pki\n" +
			"  sshplay pg status -i inventory.ini -l '!db03' --shard 2/4 --output json",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("pg status: one host pattern, got %q", strings.Join(args, " "))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && opts.Hosts != "" && args[0] != opts.Hosts {
				return usageError{fmt.Errorf("pg status: pattern %q and --hosts %q: give the pattern once", args[0], opts.Hosts)}
			}
			if len(args) == 1 {
				opts.Hosts = args[0]
			}
			if opts.Hosts == "" {
				opts.Hosts = pgStatusPattern
			}
			return runPGStatus(cmd.Context(), g, opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runPGStatus(ctx context.Context, g *globals, opts pgStatusOptions) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	targets, trust, err := pgStatusTargets(ctx, g, opts)
	if err != nil {
		return err
	}
	pool := transport.NewPool(g.poolOptions())
	defer pool.Close()
	results, err := pg.StatusAll(ctx, targets, pool.Conn, pg.StatusAllOptions{
		Forks:   g.Forks,
		Trust:   trust,
		OSUser:  opts.OSUser,
		Timeout: time.Duration(opts.Timeout) * time.Second,
	})
	if results != nil {
		if opts.Output == outputJSON {
			if werr := writeJSON(g.Stdout, newPGStatusDoc(results)); werr != nil {
				return fmt.Errorf("pg status: %w", werr)
			}
		} else {
			printPGStatus(g.Stdout, results)
		}
	}
	return pgStatusExit(err)
}

// pgStatusTargets selects the hosts pg status inspects (PATTERN, -l,
// --shard: globals.limitHosts) and the trust anchor, refusing before
// anything is dialed what would make a host's row meaningless.
func pgStatusTargets(ctx context.Context, g *globals, opts pgStatusOptions) ([]pg.StatusHost, pg.TrustOverride, error) {
	var none pg.TrustOverride
	if len(g.Inventories) == 0 {
		return nil, none, usageError{errors.New("pg status: no inventory given (use -i)")}
	}
	inv, err := inventory.LoadContext(ctx, g.Inventories)
	if err != nil {
		return nil, none, fmt.Errorf("inventory: %w", err)
	}
	hosts, err := inv.Match(opts.Hosts)
	if err != nil {
		return nil, none, err
	}
	if hosts, err = g.limitHosts(inv, hosts); err != nil {
		return nil, none, err
	}
	// Bad connection settings are bad input (exit 5) before anything is
	// dialed, as for exec and play; pg status has no template engine, so a
	// templated variable it reads is refused rather than used literally.
	if err := validateTargets(inv, hosts, g); err != nil {
		return nil, none, err
	}
	targets := make([]pg.StatusHost, len(hosts))
	for i, h := range hosts {
		vars := inv.HostVars(h.Name)
		if name := pgTemplatedVar(vars); name != "" {
			return nil, none, usageError{fmt.Errorf("pg status: host %s: %s holds a template (%s); pg status renders no templates: give it a literal value, or run the playbook", h.Name, name, pg.VarString(vars, name))}
		}
		targets[i] = pg.StatusHost{Name: h.Name, Vars: vars}
	}
	trust, err := pgStatusTrust(inv, hosts, opts)
	return targets, trust, err
}

// pgStatusTrust is the trust anchor pg status verifies against: --root,
// else the CA directory of the one rule (caDirFor) over the hosts whose
// certificates sshplay's CA signs. Hosts in external CA mode keep their own
// anchor (tls_csr_dir/root.crt) unless --ca-dir or --root says otherwise.
func pgStatusTrust(inv *inventory.Inventory, hosts []*inventory.Host, opts pgStatusOptions) (pg.TrustOverride, error) {
	if opts.Root != "" {
		return pg.TrustOverride{RootFile: opts.Root}, nil
	}
	var internal []*inventory.Host
	for _, h := range hosts {
		if !pg.ExternalCA(pg.VarLookup(inv.HostVars(h.Name))) {
			internal = append(internal, h)
		}
	}
	dir, err := caDirFor(opts.CADir, inv, internal)
	if err != nil {
		return pg.TrustOverride{}, usageError{fmt.Errorf("pg status: %w", err)}
	}
	if opts.CADir == "" && len(internal) < len(hosts) {
		dir = "" // mixed fleet: each host's own anchor (the same dir for internal ones)
	}
	return pg.TrustOverride{CADir: dir}, nil
}

// pgTemplatedVar names the first variable pg status reads (a connection
// variable or one of pg.StatusVars) that holds a template, "" when none.
func pgTemplatedVar(vars map[string]any) string {
	var names []string
	for k := range vars {
		if strings.HasPrefix(k, "ansible_") || strings.HasPrefix(k, "sshplay_") || slices.Contains(pg.StatusVars, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if s, ok := vars[k].(string); ok && (strings.Contains(s, "{{") || strings.Contains(s, "{%")) {
			return k
		}
	}
	return ""
}

// pgStatusExit turns pg.StatusAll's outcome into the error main maps to an
// exit code once the table is printed: a *hostsError (2 when some reachable
// host is not ok, whether or not others are unreachable; 4 when the hosts
// not ok are all unreachable).
func pgStatusExit(err error) error {
	var se *pg.StatusError
	if errors.As(err, &se) {
		return &hostsError{Failed: se.NotOK, Unreachable: se.Unreachable}
	}
	return err
}

// printPGStatus writes the table, one row per host inspected.
func printPGStatus(w io.Writer, results []*pg.HostStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSSL\tENFORCED\tCERT SUBJECT [SANS]\tISSUER\tDAYS LEFT\tVERIFY-FULL")
	for _, s := range results {
		if s != nil {
			fmt.Fprintln(tw, strings.Join(s.Row(), "\t"))
		}
	}
	tw.Flush()
}
