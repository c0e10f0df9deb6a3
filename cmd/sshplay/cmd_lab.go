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
	"strings"
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
		Example: "  sshplay lab up 5\n" +
			"  sshplay lab status\n" +
			"  sshplay lab reset\n" +
			"  sshplay lab down",
		Args: cobra.NoArgs,
	}
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newLabUpCommand(g, &o),
		&cobra.Command{
			Use:   "down",
			Short: "Stop every host of the lab and release its addresses (files stay)",
			Example: "  sshplay lab down\n" +
				"  sshplay lab down --dir /var/tmp/mylab",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runLabDown(cmd.Context(), g.Stdout, o)
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "Show whether each host's sshd and postgres run, and whether ssl is on",
			Example: "  sshplay lab status\n" +
				"  sshplay lab status --dir /var/tmp/mylab",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runLabStatus(cmd.Context(), g.Stdout, o)
			},
		},
		&cobra.Command{
			Use:   "reset",
			Short: "Restore every host's pristine PostgreSQL configuration (removes certificates) and restart it",
			Example: "  sshplay lab reset\n" +
				"  sshplay lab reset --dir /var/tmp/mylab",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runLabReset(cmd.Context(), g.Stdout, o)
			},
		},
	)
	return cmd
}

// labUpOptions are the flags of `sshplay lab up`.
type labUpOptions struct {
	Standbys    []string
	ClientCerts []string
}

func (o *labUpOptions) AddFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.Standbys, "standby", nil, "make STANDBY a streaming standby of PRIMARY once the hosts run: STANDBY=PRIMARY[:SSLMODE], sslmode default prefer (repeatable)")
	f.StringArrayVar(&o.ClientCerts, "client-cert", nil, "give HOST a client-certificate user ROLE (TLS on, hostssl cert): HOST=ROLE (repeatable)")
}

// config turns the flags into a lab.Config; a bad value is a *lab.ConfigError
// (exit 5), found before anything starts.
func (o *labUpOptions) config(dir string, n int, stderr io.Writer) (lab.Config, error) {
	cfg := lab.Config{Dir: dir, N: n, Stderr: stderr}
	for _, s := range o.ClientCerts {
		spec, err := lab.ParseClientCertSpec(s)
		if err != nil {
			return cfg, err
		}
		cfg.ClientCerts = append(cfg.ClientCerts, spec)
	}
	for _, s := range o.Standbys {
		spec, err := lab.ParseStandbySpec(s)
		if err != nil {
			return cfg, err
		}
		cfg.Standbys = append(cfg.Standbys, spec)
	}
	return cfg, nil
}

func newLabUpCommand(g *globals, lo *labOptions) *cobra.Command {
	var o labUpOptions
	cmd := &cobra.Command{
		Use:   "up N",
		Short: "Create and start N hosts db01..dbNN (starts what is stopped, adds hosts if N grew)",
		Example: "  sshplay lab up 5\n" +
			"  sshplay lab up 4 --standby db02=db01:disable --client-cert db03=alice   # a production-like estate\n" +
			"  sshplay lab up 3 --dir /var/tmp/mylab",
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
			cfg, err := o.config(lo.Dir, n, g.Stderr)
			if err != nil {
				return err
			}
			return runLabUp(cmd.Context(), g.Stdout, cfg)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runLabUp(ctx context.Context, stdout io.Writer, cfg lab.Config) error {
	start := time.Now()
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lab: %d hosts up in %s (%s)\n", len(l.Hosts), l.Dir, time.Since(start).Round(10*time.Millisecond))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, h := range l.Hosts {
		role := ""
		if h.Primary != "" {
			role = fmt.Sprintf("standby of %s (sslmode=%s)", h.Primary, h.PrimarySSLMode)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Name, h.Addr, h.Layout, role)
	}
	tw.Flush()
	for _, c := range cfg.ClientCerts {
		cc := l.ClientCertFiles(c.Role)
		fmt.Fprintf(stdout, "client certificate user %s on %s: sslcert=%s sslkey=%s (CA %s)\n", c.Role, c.Host, cc.CertFile, cc.KeyFile, cc.CAFile)
	}
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
	fmt.Fprintln(tw, "HOST\tADDRESS\tLAYOUT\tSSHD\tPOSTGRES\tSSL\tREPLICATION")
	for _, s := range st {
		ssl := s.SSL
		if ssl == "" {
			ssl = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Host, s.Addr, s.Layout, upDown(s.SSHD), upDown(s.Postgres), ssl, replication(s))
	}
	tw.Flush()
	return err
}

// replication says how a host takes part in streaming replication:
// "standby of db01 (sslmode=disable, streaming)", "primary of db02, db03"
// or "-".
func replication(s lab.HostStatus) string {
	switch {
	case s.Primary != "":
		state := s.WALReceiver
		if state == "" {
			state = "not running"
		}
		return fmt.Sprintf("standby of %s (sslmode=%s, %s)", s.Primary, s.PrimarySSLMode, state)
	case len(s.Standbys) > 0:
		return "primary of " + strings.Join(s.Standbys, ", ")
	}
	return "-"
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
	fmt.Fprintf(stdout, "lab: %d hosts reset to their pristine configuration (ssl off, no certificates, no standbys)\n", len(l.Hosts))
	return nil
}
