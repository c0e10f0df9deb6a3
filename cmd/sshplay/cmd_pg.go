package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/transport"
)

// newPGCommand is `sshplay pg`: PostgreSQL helpers (status).
func newPGCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pg",
		Short: "PostgreSQL TLS helpers",
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
}

func (o *pgStatusOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Hosts, "hosts", "dbservers", "host pattern to inspect")
	f.StringVar(&o.CADir, "ca-dir", "", "CA directory whose root.crt clients trust (default: tls_ca_dir, else pki/ next to the inventory)")
	f.StringVar(&o.Root, "root", "", "root certificate file to verify against (overrides --ca-dir)")
	f.StringVar(&o.OSUser, "os-user", "postgres", "cluster OS user psql runs as on the host (sudo)")
	f.IntVar(&o.Timeout, "pg-timeout", 10, "PostgreSQL connect timeout in seconds")
}

func newPGStatusCommand(g *globals) *cobra.Command {
	var opts pgStatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show TLS state and prove verify-full on every host (read-only; exit 0 ok, 2 not ok, 4 unreachable)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPGStatus(cmd.Context(), g, opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// rootFor returns the trust anchor for a host: --root, --ca-dir, or the
// playbook's variables (tls_ca_mode external: tls_csr_dir/root.crt; else
// tls_ca_dir/root.crt, default pki/ next to the first inventory).
func rootFor(opts pgStatusOptions, vars map[string]any) ([]byte, error) {
	if opts.Root != "" {
		return os.ReadFile(opts.Root)
	}
	dir := opts.CADir
	if dir == "" {
		// The first -i source's directory, the same for every host (as
		// the playbook's default tls_ca_dir).
		invDir := pg.VarString(vars, "sshplay_inventory_dir")
		if invDir == "" {
			invDir = pg.VarString(vars, "inventory_dir")
		}
		if invDir == "" {
			invDir = "."
		}
		if strings.EqualFold(pg.VarString(vars, "tls_ca_mode"), "external") {
			dir = pg.VarString(vars, "tls_csr_dir")
			if dir == "" {
				dir = filepath.Join(invDir, "csr")
			}
		} else {
			dir = pg.VarString(vars, "tls_ca_dir")
			if dir == "" {
				dir = filepath.Join(invDir, "pki")
			}
		}
	}
	return pki.ReadRoot(dir)
}

func runPGStatus(ctx context.Context, g *globals, opts pgStatusOptions) error {
	if len(g.Inventories) == 0 {
		return usageError{errors.New("pg status: no inventory given (use -i)")}
	}
	inv, err := inventory.Load(g.Inventories)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	hosts, err := inv.Match(opts.Hosts)
	if err != nil {
		return err
	}
	if g.Limit != "" {
		if hosts, err = inv.Limit(hosts, g.Limit); err != nil {
			return err
		}
	}
	pool := transport.NewPool(g.poolOptions())
	defer pool.Close()

	results := make([]*pg.HostStatus, len(hosts))
	sem := make(chan struct{}, g.Forks)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = hostStatus(ctx, pool, opts, inv, h.Name)
		}()
	}
	wg.Wait()
	code := printPGStatus(g.Stdout, results)
	if code != 0 {
		return exitStatusError{code}
	}
	return nil
}

func hostStatus(ctx context.Context, pool *transport.Pool, opts pgStatusOptions, inv *inventory.Inventory, name string) *pg.HostStatus {
	vars := inv.HostVars(name)
	conn, err := pool.Conn(ctx, name, vars)
	if err != nil {
		var u *transport.UnreachableError
		return &pg.HostStatus{Host: name, Unreachable: errors.As(err, &u), Err: err.Error()}
	}
	root, rootErr := rootFor(opts, vars)
	so := pg.StatusOptionsFromVars(name, vars, root, time.Duration(opts.Timeout)*time.Second)
	osUser := opts.OSUser
	if u := pg.VarString(vars, "pg_os_user"); u != "" {
		osUser = u
	}
	s := pg.Status(ctx, conn.Become(transport.Become{Enabled: true, User: osUser}), name, so)
	if rootErr != nil && s.Err == "" {
		for _, v := range s.Verify {
			v.Error = "no CA root: " + rootErr.Error()
		}
	}
	return s
}

// printPGStatus writes the table and returns the exit code: 0 all ok, 2
// some reachable host not ok (whether or not others are unreachable, as
// ansible-playbook), 4 only when the hosts not ok are all unreachable.
func printPGStatus(w io.Writer, results []*pg.HostStatus) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSSL\tENFORCED\tCERT SUBJECT [SANS]\tISSUER\tDAYS LEFT\tVERIFY-FULL")
	failed, unreachable := false, false
	for _, s := range results {
		fmt.Fprintln(tw, strings.Join(s.Row(), "\t"))
		switch {
		case s.Unreachable:
			unreachable = true
		case !s.OK():
			failed = true
		}
	}
	tw.Flush()
	switch {
	case failed:
		return exitHostFailed
	case unreachable:
		return exitUnreachable
	}
	return 0
}
