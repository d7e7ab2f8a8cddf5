package main

import (
	"context"
	"io"

	"github.com/hashicorp/nomad/api"
	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
)

// nomadRenderOptions are the inputs of `vipctl nomad render`.
type nomadRenderOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	JSON   bool
}

func newCmdNomadRender(g *globals, runF func(context.Context, *nomadRenderOptions) error) *cobra.Command {
	opts := &nomadRenderOptions{Load: g.loadTopology, Stdout: g.Stdout}
	return &cobra.Command{
		Use:   "render",
		Short: "Print every job as HCL (or, with -o json, as a JSON array of Nomad API register requests)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return nomadRenderRun(cmd.Context(), opts)
		},
	}
}

// nomadRenderRun renders every job before printing any.
func nomadRenderRun(_ context.Context, opts *nomadRenderOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	jobs, err := nomad.Jobs(t)
	if err != nil {
		return badTopology(t, err)
	}
	if opts.JSON {
		reqs := make([]api.JobRegisterRequest, 0, len(jobs))
		for _, j := range jobs {
			c, err := nomad.CanonicalJob(j)
			if err != nil {
				return err
			}
			reqs = append(reqs, api.JobRegisterRequest{Job: c})
		}
		return writeJSON(opts.Stdout, reqs)
	}
	var out []byte
	for i, j := range jobs {
		b, err := nomad.JobHCL(j)
		if err != nil {
			return badTopology(t, err)
		}
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, b...)
	}
	_, err = opts.Stdout.Write(out)
	return err
}
