package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labHealOptions struct {
	g *globals
}

func newCmdLabHeal(g *globals, runF func(context.Context, *labHealOptions) error) *cobra.Command {
	opts := &labHealOptions{g: g}
	return &cobra.Command{
		Use:   "heal",
		Short: "Undo every failure: switch whole, links up, powered-off hosts started; waits for the whole cluster",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labHealRun(cmd.Context(), opts)
		},
	}
}

func labHealRun(ctx context.Context, opts *labHealOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	l, err := lab.Open(lab.DefaultDir, progressLogger(opts.g))
	if err != nil {
		return err
	}
	return l.Heal(ctx)
}
