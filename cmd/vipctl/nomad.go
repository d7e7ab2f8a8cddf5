package main

import "github.com/spf13/cobra"

func newCmdNomad(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nomad",
		Short: "Render or submit the Nomad jobs (Patroni, HAProxy, backup) alone",
	}
	cmd.AddCommand(newCmdNomadRender(g, nil), newCmdNomadSubmit(g, nil))
	return cmd
}
