package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/topology"
)

// cibRenderOptions are the inputs of `vipctl cib render` and `vipctl cib verify`.
type cibRenderOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	Tools  cib.Tools
}

func newCmdCibRender(g *globals, runF func(context.Context, *cibRenderOptions) error) *cobra.Command {
	opts := &cibRenderOptions{Load: g.loadTopology, Stdout: g.Stdout}
	return &cobra.Command{
		Use:   "render",
		Short: "Print the full CIB document of the topology",
		Long: "Print the CIB that the topology asks for: a full <cib> document with the configuration\n" +
			"and an empty status, as `crm_verify --xml-file` and `crm_simulate --xml-file` take it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cibRenderRun(cmd.Context(), opts)
		},
	}
}

// cibRenderRun renders the whole document before writing any of it: nothing reaches stdout
// unless the topology loads and renders.
func cibRenderRun(_ context.Context, opts *cibRenderOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	b, err := cib.RenderXML(t)
	if err != nil {
		return err
	}
	_, err = opts.Stdout.Write(b)
	return err
}
