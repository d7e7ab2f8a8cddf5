package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/nomad/api"
	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
)

func newCmdNomad(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nomad",
		Short: "Render or submit the Nomad jobs (Patroni, HAProxy, backup) alone",
	}
	cmd.AddCommand(newCmdNomadRender(g), newCmdNomadSubmit(g))
	return cmd
}

// nomadRenderOptions are the inputs of `vipctl nomad render`.
type nomadRenderOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	JSON   bool
}

func newCmdNomadRender(g *globals) *cobra.Command {
	opts := nomadRenderOptions{Load: g.loadTopology, Stdout: g.Stdout}
	return &cobra.Command{
		Use:   "render",
		Short: "Print every job as HCL (or, with -o json, as a JSON array of Nomad API register requests)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			return nomadRenderRun(cmd.Context(), opts)
		},
	}
}

// nomadRenderRun renders every job before printing any.
func nomadRenderRun(_ context.Context, opts nomadRenderOptions) error {
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
		enc := json.NewEncoder(opts.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(reqs)
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

func newCmdNomadSubmit(g *globals) *cobra.Command {
	opts := nomadSubmitOptions{
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
			return nomadSubmitRun(cmd.Context(), opts)
		},
	}
}

func nomadSubmitRun(ctx context.Context, opts nomadSubmitOptions) error {
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
	if opts.JSON {
		if done == nil {
			done = []nomad.Submitted{}
		}
		if encErr := json.NewEncoder(opts.Stdout).Encode(done); encErr != nil && err == nil {
			err = encErr
		}
		return err
	}
	for _, s := range done {
		line := "registered " + s.Job
		if s.EvalID != "" {
			line += " (evaluation " + s.EvalID + ")"
		}
		if s.Warnings != "" {
			line += "; nomad warns: " + s.Warnings
		}
		if _, werr := fmt.Fprintln(opts.Stdout, line); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
