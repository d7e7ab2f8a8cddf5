package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of this file): replace with the real command.
func newCmdOcf(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "ocf",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("ocf: not built yet")
		},
	}
}
