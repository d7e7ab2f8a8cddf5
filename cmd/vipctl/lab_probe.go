package main

import (
	"context"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labProbeOptions struct {
	g     *globals
	Probe lab.ProbeOptions
}

// newCmdLabProbe connects to ADDR:PORT every interval and prints each change of outcome.
func newCmdLabProbe(g *globals, runF func(context.Context, *labProbeOptions) error) *cobra.Command {
	opts := &labProbeOptions{g: g}
	cmd := &cobra.Command{
		Use:    "_probe ADDR:PORT",
		Hidden: true,
		Args:   usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := net.SplitHostPort(args[0]); err != nil {
				return usageErrorf("_probe: %w", err)
			}
			opts.Probe.Address = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labProbeRun(cmd.Context(), opts)
		},
	}
	positiveDurationVar(cmd.Flags(), &opts.Probe.Interval, "interval", 20*time.Millisecond, "time between connection attempts")
	positiveDurationVar(cmd.Flags(), &opts.Probe.Timeout, "timeout", 200*time.Millisecond, "connect and read timeout of one attempt")
	nonNegativeDurationVar(cmd.Flags(), &opts.Probe.For, "for", 0, "stop after this long (0: until interrupted)")
	cmd.Flags().BoolVar(&opts.Probe.UntilOK, "until-ok", false, "stop after the first successful connection")
	return cmd
}

func labProbeRun(ctx context.Context, opts *labProbeOptions) error {
	return lab.Probe(ctx, opts.Probe, opts.g.Stdout)
}
