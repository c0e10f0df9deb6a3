package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newPlayCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "play", RunE: func(*cobra.Command, []string) error { return errors.New("play: not built yet") }}
}
