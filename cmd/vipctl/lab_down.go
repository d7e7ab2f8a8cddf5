package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labDownOptions struct {
	g *globals
}

func newCmdLabDown(g *globals, runF func(context.Context, *labDownOptions) error) *cobra.Command {
	opts := &labDownOptions{g: g}
	return &cobra.Command{
		Use:   "down",
		Short: "Remove every namespace, process and mount of the lab (safe to run twice)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labDownRun(cmd.Context(), opts)
		},
	}
}

func labDownRun(ctx context.Context, opts *labDownOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return lab.Down(ctx, lab.DefaultDir, opts.g.Logger)
}
