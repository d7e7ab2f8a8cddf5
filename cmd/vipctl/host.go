package main

import "github.com/spf13/cobra"

func newCmdHost(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Drain a host (standby, its VIP moved away) and bring it back",
	}
	cmd.AddCommand(newCmdHostDrain(g, nil), newCmdHostUndrain(g, nil))
	return cmd
}
