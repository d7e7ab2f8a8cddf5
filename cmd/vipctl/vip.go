package main

import "github.com/spf13/cobra"

func newCmdVip(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vip",
		Short: "Move a host group's VIP and take the move back",
	}
	cmd.AddCommand(newCmdVipMove(g, nil), newCmdVipUnmove(g, nil))
	return cmd
}
