package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

// newCmdLabBMC runs the lab's BMC (lab.ServeBMC); lab up starts it and lab down ends it.
func newCmdLabBMC(g *globals, runF func(context.Context, string) error) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "_bmc --dir DIR",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErrorf("_bmc: --dir is needed")
			}
			if runF != nil {
				return runF(cmd.Context(), dir)
			}
			log := slog.New(slog.NewTextHandler(g.Stderr, nil))
			return lab.ServeBMC(cmd.Context(), dir, log)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the lab's state directory")
	return cmd
}

// newCmdLabFence is the lab's fence agent (lab.FenceAgent), which each lab host runs as
// /usr/sbin/fence_vipctl_lab. Its arguments are the fence-agents convention's, so they are
// not vipctl flags: only --dir DIR, first, is its own.
func newCmdLabFence(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "_fence --dir DIR [-o ACTION -n HOST]",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || args[0] != "--dir" || args[1] == "" {
				return usageErrorf("_fence: --dir DIR comes first")
			}
			if code := lab.FenceAgent(cmd.Context(), args[1], args[2:], g.Stdin, g.Stdout, g.Stderr); code != 0 {
				return exitStatus(code)
			}
			return nil
		},
	}
}
