package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hashicorp/nomad/api"
	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
)

// nomadSubmitOptions are the inputs of `vipctl nomad submit`.
type nomadSubmitOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	Stderr io.Writer
	JSON   bool
	// Client makes the Nomad API client; the default reads NOMAD_ADDR, NOMAD_TOKEN and the
	// other NOMAD_* variables (api.DefaultConfig).
	Client func() (*api.Client, error)
}

func newCmdNomadSubmit(g *globals, runF func(context.Context, *nomadSubmitOptions) error) *cobra.Command {
	opts := &nomadSubmitOptions{
		Load:   g.loadTopology,
		Stdout: g.Stdout,
		Stderr: g.Stderr,
		Client: func() (*api.Client, error) { return api.NewClient(api.DefaultConfig()) },
	}
	return &cobra.Command{
		Use:   "submit",
		Short: "Register every job through the Nomad HTTP API (NOMAD_ADDR, NOMAD_TOKEN)",
		Long: "Register the Patroni, HAProxy and backup jobs of every cluster with Nomad, in that order,\n" +
			"through PUT /v1/jobs. The address and token come from NOMAD_ADDR and NOMAD_TOKEN (and the\n" +
			"other NOMAD_* variables of the Nomad CLI); the token is never printed. Stops at the first\n" +
			"job Nomad refuses (exit 1). Before anything is sent, the agent's version is checked against\n" +
			"the topology's nomad.version: an older Nomad would drop what it does not know (exit 1).\n" +
			"The passwords must be in Nomad Variables first: see docs/nomad.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return nomadSubmitRun(cmd.Context(), opts)
		},
	}
}

func nomadSubmitRun(ctx context.Context, opts *nomadSubmitOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	jobs, err := nomad.Jobs(t)
	if err != nil {
		return badTopology(t, err)
	}
	client, err := opts.Client()
	if err != nil {
		return fmt.Errorf("nomad client: %w", err)
	}
	have, haveText, err := nomad.AgentVersion(ctx, client.Raw())
	if err != nil {
		return err
	}
	note, err := nomad.CheckVersion(t.Nomad.Version, have, haveText)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(opts.Stderr, "warning: "+note)
	}
	done, err := nomad.Submit(ctx, jobs, client.Jobs())
	var werr error
	if opts.JSON {
		if done == nil {
			done = []nomad.Submitted{}
		}
		werr = writeJSON(opts.Stdout, done)
	} else {
		werr = nomad.WriteSubmitted(opts.Stdout, done)
	}
	if err == nil {
		err = werr
	}
	return err
}
