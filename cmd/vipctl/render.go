package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/stack"
	"github.com/vipctl/vipctl/topology"
)

// renderOptions are the inputs of `vipctl render`.
type renderOptions struct {
	Load   func() (*topology.Topology, error)
	Dir    string
	Stdout io.Writer
}

func newCmdRender(g *globals, runF func(context.Context, *renderOptions) error) *cobra.Command {
	opts := &renderOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "render -d DIR",
		Short: "Write the whole bundle (CIB, corosync.conf, Nomad jobs, HAProxy, backup, compose) into DIR",
		Long: "Render every artefact of the topology into DIR: cib.xml, corosync/corosync.conf,\n" +
			"nomad/<job>.nomad and .json, haproxy/<cluster>.cfg, backup/<cluster>/* and compose/*.\n" +
			"Everything is rendered before anything is written; a bad topology writes nothing (exit 2).\n" +
			"The bundle is replaced whole or not at all; files in DIR that the bundle does not name are kept.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Dir == "" {
				return usageErrorf("render: -d DIR is required")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return renderRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Dir, "dir", "d", "", "directory to write the bundle into (created if missing)")
	return cmd
}

func renderRun(ctx context.Context, opts *renderOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	files, err := renderBundle(t)
	if err != nil {
		return err
	}
	if err := bundle.Write(ctx, opts.Dir, files); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Stdout, "%s: wrote %d files into %s\n", t.File, len(files), opts.Dir)
	return err
}

// renderBundle renders every file of the bundle into memory, in the bundle's order. Renderers
// do no I/O: a topology that loads but that one of them refuses is a bad topology (exit 2).
func renderBundle(t *topology.Topology) ([]bundle.File, error) {
	cibXML, err := cib.RenderXML(t)
	if err != nil {
		return nil, badTopology(t, err)
	}
	conf, err := corosync.Render(t)
	if err != nil {
		return nil, badTopology(t, err)
	}
	rest, err := stack.Files(t)
	if err != nil {
		return nil, badTopology(t, err)
	}
	files := []bundle.File{
		{Path: "cib.xml", Mode: 0o644, Data: cibXML},
		{Path: "corosync/corosync.conf", Mode: 0o644, Data: conf},
	}
	return append(files, rest...), nil
}

// badTopology marks a renderer's refusal as a topology error naming the file.
func badTopology(t *topology.Topology, err error) error {
	if errors.Is(err, topology.ErrInvalid) {
		return err
	}
	return fmt.Errorf("%s: %w: %w", t.File, topology.ErrInvalid, err)
}
