package main

import "github.com/spf13/cobra"

func newCmdCib(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cib",
		Short: "Render, verify, simulate, diff and apply the Pacemaker CIB",
	}
	cmd.AddCommand(
		newCmdCibRender(g),
		newCmdCibVerify(g),
		newCmdCibSimulate(g),
		newCmdCibDiff(g),
		newCmdCibApply(g),
	)
	return cmd
}
