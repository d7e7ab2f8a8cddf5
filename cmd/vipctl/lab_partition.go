package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
	"github.com/vipctl/vipctl/topology"
)

type labPartitionOptions struct {
	g    *globals
	Sets [][]string // the sets of hosts that stay connected within themselves
}

func newCmdLabPartition(g *globals, runF func(context.Context, *labPartitionOptions) error) *cobra.Command {
	opts := &labPartitionOptions{g: g}
	return &cobra.Command{
		Use:   "partition HOSTS HOSTS...",
		Short: "Cut the lab's switch between sets of hosts (each a comma-separated list), e.g. lab-1,lab-2 lab-3",
		Args:  usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Sets = nil
			for _, a := range args {
				opts.Sets = append(opts.Sets, strings.Split(a, ","))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labPartitionRun(cmd.Context(), opts)
		},
	}
}

func labPartitionRun(ctx context.Context, opts *labPartitionOptions) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	l, err := lab.Open(lab.DefaultDir, opts.g.Logger)
	if err != nil {
		return err
	}
	if err := l.Partition(ctx, opts.Sets); err != nil {
		if errors.Is(err, topology.ErrUnknownHost) {
			return usageErrorf("%w", err)
		}
		return err
	}
	return nil
}
