package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labListenOptions struct {
	Name  string   // what to answer every connection with
	Ports []string // the ports to listen on
}

// newCmdLabListen is the lab's stand-in for HAProxy, run inside each host.
func newCmdLabListen(_ *globals, runF func(context.Context, *labListenOptions) error) *cobra.Command {
	opts := &labListenOptions{}
	cmd := &cobra.Command{
		Use:    "_listen --name HOST PORT...",
		Hidden: true,
		Args:   usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, ports []string) error {
			opts.Ports = ports
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labListenRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "what to answer every connection with")
	return cmd
}

func labListenRun(ctx context.Context, opts *labListenOptions) error {
	return lab.Listen(ctx, opts.Name, opts.Ports)
}
