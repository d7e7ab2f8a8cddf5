package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/topology"
)

// cibSimulateOptions are the inputs of `vipctl cib simulate`.
type cibSimulateOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	JSON   bool
	Fail   []string
	Tools  cib.Tools
}

func newCmdCibSimulate(g *globals, runF func(context.Context, *cibSimulateOptions) error) *cobra.Command {
	opts := &cibSimulateOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "simulate [--fail HOST]...",
		Short: "Show where each VIP runs with all hosts up, and after the named hosts fail",
		Long: "Play the rendered CIB through crm_simulate: bring every host up and show where each VIP\n" +
			"starts, then fail the hosts named by --fail (quorum counted from the votes left) and show\n" +
			"where each VIP runs afterwards.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cibSimulateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Fail, "fail", nil, "a host to fail (repeatable)")
	cmd.Flags().StringVar(&opts.Tools.CrmSimulate, "crm-simulate", "crm_simulate", "crm_simulate to run")
	positiveDurationVar(cmd.Flags(), &opts.Tools.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of each crm_simulate run")
	return cmd
}

func cibSimulateRun(ctx context.Context, opts *cibSimulateOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	sim, err := opts.Tools.Simulate(ctx, t, opts.Fail)
	if errors.Is(err, topology.ErrUnknownHost) {
		return usageErrorf("--fail: %w", err)
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.Stdout, sim)
	}
	return cib.WriteSimulation(opts.Stdout, sim)
}
