package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of this file): replace with the real command.
func newCmdNomad(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "nomad",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("nomad: not built yet")
		},
	}
}
