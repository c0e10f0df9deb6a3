package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newLabCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "lab", RunE: func(*cobra.Command, []string) error { return errors.New("lab: not built yet") }}
}
