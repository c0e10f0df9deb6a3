package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newCACommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "ca", RunE: func(*cobra.Command, []string) error { return errors.New("ca: not built yet") }}
}
