package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labStatusOptions struct {
	g *globals
}

func newCmdLabStatus(g *globals, runF func(context.Context, *labStatusOptions) error) *cobra.Command {
	opts := &labStatusOptions{g: g}
	return &cobra.Command{
		Use:   "status",
		Short: "Hosts, their processes and links, the cluster as each sees it, and who holds each VIP",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labStatusRun(cmd.Context(), opts)
		},
	}
}

func labStatusRun(ctx context.Context, opts *labStatusOptions) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	l, err := lab.Open(lab.DefaultDir, opts.g.Logger)
	if err != nil {
		return err
	}
	r, err := l.Status(ctx)
	if err != nil {
		return err
	}
	return writeLabReport(opts.g, r)
}
