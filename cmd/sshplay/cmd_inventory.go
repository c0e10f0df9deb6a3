package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newInventoryCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "inventory", RunE: func(*cobra.Command, []string) error { return errors.New("inventory: not built yet") }}
}
