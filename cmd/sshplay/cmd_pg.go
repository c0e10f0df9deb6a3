package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newPGCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "pg", RunE: func(*cobra.Command, []string) error { return errors.New("pg: not built yet") }}
}
