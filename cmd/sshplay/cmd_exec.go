package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newExecCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "exec", RunE: func(*cobra.Command, []string) error { return errors.New("exec: not built yet") }}
}
