package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/move"
)

type vipUnmoveOptions struct {
	Group string
	placement
}

func newCmdVipUnmove(g *globals, runF func(context.Context, *vipUnmoveOptions) error) *cobra.Command {
	opts := &vipUnmoveOptions{}
	cmd := &cobra.Command{
		Use:   "unmove GROUP",
		Short: "Remove the move constraints of a group's VIP (it stays where it runs)",
		Long: "Removes the constraints `vipctl vip move` (crm_resource --move/--ban) set on the group's " +
			"VIP. The VIP stays where it runs: resource-stickiness keeps it there.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Group = args[0]
			opts.from(g)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return vipUnmoveRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func vipUnmoveRun(ctx context.Context, opts *vipUnmoveOptions) error {
	opts.Timeout = move.DefaultTimeout // unmove waits for nothing
	t, mo, err := opts.prepare()
	if err != nil {
		return err
	}
	res, err := move.Unmove(ctx, t, opts.Group, mo)
	if err != nil {
		return err
	}
	if opts.json {
		return writeJSON(opts.stdout, res)
	}
	cleared := "no move constraint was set"
	if len(res.Cleared) > 0 {
		cleared = "removed " + strings.Join(res.Cleared, ", ")
	}
	_, err = fmt.Fprintf(opts.stdout, "group %s: %s; the VIP runs on %s\n", res.Group, cleared, orNone(strings.Join(res.RunsOn, ", ")))
	return err
}
