package main

// sshplay lab: local lab hosts (real OpenSSH sshd + PostgreSQL 15 on
// 127.0.0.X) for the demo, tests and benchmarks. Wiring only: the work is
// in package lab.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/lab"
)

// defaultLabDir is outside /root so that the postgres and sshplay users can
// traverse it.
const defaultLabDir = "/var/tmp/sshplay-lab"

// labOptions are the flags shared by every `sshplay lab` sub-command.
type labOptions struct {
	Dir string
}

func (o *labOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Dir, "dir", defaultLabDir, "lab directory: state, keys, known_hosts, pgpass, inventory")
}

func newLabCommand(g *globals) *cobra.Command {
	var o labOptions
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run local lab hosts: real sshd + PostgreSQL 15 on 127.0.0.X (needs root)",
		Args:  cobra.NoArgs,
	}
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		&cobra.Command{
			Use:   "up N",
			Short: "Create and start N hosts db01..dbNN (starts what is stopped, adds hosts if N grew)",
			Args: func(_ *cobra.Command, args []string) error {
				if len(args) != 1 {
					return usageError{fmt.Errorf("lab up: want the number of hosts, e.g. `sshplay lab up 3`")}
				}
				if _, err := strconv.Atoi(args[0]); err != nil {
					return usageError{fmt.Errorf("lab up: number of hosts %q: not a number", args[0])}
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				n, _ := strconv.Atoi(args[0])
				return runLabUp(cmd.Context(), g.Stdout, g.Stderr, o, n)
			},
		},
		&cobra.Command{
			Use:   "down",
			Short: "Stop every host of the lab and release its addresses (files stay)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runLabDown(cmd.Context(), g.Stdout, o)
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "Show whether each host's sshd and postgres run, and whether ssl is on",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runLabStatus(cmd.Context(), g.Stdout, o)
			},
		},
		&cobra.Command{
			Use:   "reset",
			Short: "Restore every host's pristine PostgreSQL configuration (removes certificates) and restart it",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runLabReset(cmd.Context(), g.Stdout, o)
			},
		},
	)
	return cmd
}

func runLabUp(ctx context.Context, stdout, stderr io.Writer, o labOptions, n int) error {
	start := time.Now()
	l, err := lab.Up(ctx, lab.Config{Dir: o.Dir, N: n, Stderr: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lab: %d hosts up in %s (%s)\n", len(l.Hosts), l.Dir, time.Since(start).Round(10*time.Millisecond))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, h := range l.Hosts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", h.Name, h.Addr, h.Layout)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "inventory: %s (same in %s)\n", l.InventoryYAML(), l.InventoryINI())
	fmt.Fprintf(stdout, "next: sshplay exec -i %s dbservers -- hostname\n", l.InventoryYAML())
	fmt.Fprintf(stdout, "      ssh -i %s -o UserKnownHostsFile=%s %s@%s\n", l.KeyFile(), l.KnownHostsFile(), lab.LoginUser, l.Hosts[0].Addr)
	return nil
}

// openLab opens the lab in o.Dir; a directory without a lab is bad input.
func openLab(o labOptions) (*lab.Lab, error) {
	l, err := lab.Open(o.Dir)
	if errors.Is(err, lab.ErrNoLab) {
		return nil, usageError{err}
	}
	return l, err
}

func runLabDown(ctx context.Context, stdout io.Writer, o labOptions) error {
	l, err := openLab(o)
	if err != nil {
		return err
	}
	if err := l.Down(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lab: %d hosts stopped, addresses released; files kept in %s (`sshplay lab up %d --dir %s` brings them back)\n", len(l.Hosts), l.Dir, len(l.Hosts), l.Dir)
	return nil
}

func runLabStatus(ctx context.Context, stdout io.Writer, o labOptions) error {
	l, err := openLab(o)
	if err != nil {
		return err
	}
	st, err := l.Status(ctx)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tADDRESS\tLAYOUT\tSSHD\tPOSTGRES\tSSL")
	for _, s := range st {
		ssl := s.SSL
		if ssl == "" {
			ssl = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Host, s.Addr, s.Layout, upDown(s.SSHD), upDown(s.Postgres), ssl)
	}
	tw.Flush()
	return err
}

func upDown(running bool) string {
	if running {
		return "running"
	}
	return "stopped"
}

func runLabReset(ctx context.Context, stdout io.Writer, o labOptions) error {
	l, err := openLab(o)
	if err != nil {
		return err
	}
	if err := l.Reset(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lab: %d hosts reset to their pristine configuration (ssl off, no certificates)\n", len(l.Hosts))
	return nil
}
