package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/move"
)

type hostUndrainOptions struct {
	Host string
	placement
}

func newCmdHostUndrain(g *globals, runF func(context.Context, *hostUndrainOptions) error) *cobra.Command {
	opts := &hostUndrainOptions{}
	cmd := &cobra.Command{
		Use:   "undrain HOST",
		Short: "Take a host out of standby and wait until Pacemaker shows it so",
		Long: "Sets the host's standby node attribute to off and waits until crm_mon shows the host out " +
			"of standby. VIPs stay where they run (resource-stickiness): none moves back by itself.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Host = args[0]
			opts.from(g)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return hostUndrainRun(cmd.Context(), opts)
		},
	}
	opts.addTimeout(cmd, "the host to leave standby")
	return cmd
}

func hostUndrainRun(ctx context.Context, opts *hostUndrainOptions) error {
	t, mo, err := opts.prepare()
	if err != nil {
		return err
	}
	res, err := move.Undrain(ctx, t, opts.Host, mo)
	if err != nil {
		return err
	}
	return writeDrain(opts.stdout, opts.json, res, "back in service")
}
