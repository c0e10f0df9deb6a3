package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
)

// inventoryOptions are the flags of `sshplay inventory`.
type inventoryOptions struct {
	List        bool
	Graph       bool
	Host        string
	ShowSecrets bool
	// PlaybookDir's group_vars/ and host_vars/ count, as in ansible-inventory.
	PlaybookDir string
	Vault       vaultOptions
}

// AddFlags registers the inventory command's flags.
func (o *inventoryOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.List, "list", false, "print every group and host variable as ansible-inventory --list")
	f.BoolVar(&o.Graph, "graph", false, "print the group tree (under GROUP, default all) as ansible-inventory --graph")
	f.StringVar(&o.Host, "host", "", "print one host's merged variables as ansible-inventory --host")
	f.BoolVar(&o.ShowSecrets, "show-secrets", false, "print the values of secret variables (names containing password, passwd, passphrase, secret or token, or ending in _pass) instead of ********")
	f.StringVar(&o.PlaybookDir, "playbook-dir", ".", "read this folder's group_vars/ and host_vars/ as a playbook's, as ansible-inventory --playbook-dir (whose default is the working directory too)")
	o.Vault.AddFlags(f)
}

func newInventoryCommand(g *globals) *cobra.Command {
	var opts inventoryOptions
	cmd := &cobra.Command{
		Use:   "inventory -i INV (--list | --graph [GROUP] | --host NAME)",
		Short: "Show the inventory as ansible-inventory does",
		Example: "  sshplay inventory -i inventory.ini --graph\n" +
			"  sshplay inventory -i inventory.ini --graph dbservers\n" +
			"  sshplay inventory -i inventory.d/ --list\n" +
			"  sshplay inventory -i inventory.ini --host db01",
		Long: "Show the inventory as ansible-inventory does.\n\n" +
			"--list and --host mask, as \"********\", the value of every variable or nested\n" +
			"key whose name contains password, passwd, passphrase, secret or token, or is\n" +
			"pass or ends in _pass (ansible_password, ansible_ssh_pass, api_token; not\n" +
			"pg_passfile or compass), the same rule as playbook output; --show-secrets\n" +
			"prints them.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && !opts.Graph) {
				return usageError{errors.New("inventory: only --graph takes an argument (GROUP)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInventory(cmd.Context(), g, opts, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runInventory(ctx context.Context, g *globals, opts inventoryOptions, args []string) error {
	if len(g.Inventories) == 0 {
		return usageError{errors.New("inventory: no inventory given (use -i)")}
	}
	n := 0
	for _, set := range []bool{opts.List, opts.Graph, opts.Host != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageError{errors.New("inventory: give exactly one of --list, --graph or --host")}
	}
	ctx, err := opts.Vault.inventoryContext(ctx, g)
	if err != nil {
		return err
	}
	inv, err := inventory.LoadContext(ctx, g.Inventories)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if err := inv.AddPlaybookDir(ctx, opts.PlaybookDir); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	switch {
	case opts.List:
		return inv.ListJSON(g.Stdout, opts.ShowSecrets)
	case opts.Graph:
		group := ""
		if len(args) == 1 {
			group = args[0]
		}
		return inv.Graph(g.Stdout, group)
	}
	return inv.HostJSON(g.Stdout, opts.Host, opts.ShowSecrets)
}
