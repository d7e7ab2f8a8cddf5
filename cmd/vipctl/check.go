package main

import "github.com/spf13/cobra"

func newCmdCheck(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Preflight checks of this host",
	}
	cmd.AddCommand(newCmdCheckNIC(g, nil))
	return cmd
}
