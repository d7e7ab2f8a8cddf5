package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
	"github.com/vipctl/vipctl/topology"
)

type labFailOptions struct {
	g         *globals
	Host      string
	HolderOf  string // fail the host holding this group's VIP instead of a named one
	LinkOnly  bool
	NoMeasure bool
}

func newCmdLabFail(g *globals, runF func(context.Context, *labFailOptions) error) *cobra.Command {
	opts := &labFailOptions{g: g}
	cmd := &cobra.Command{
		Use:   "fail [--link] (HOST | --holder GROUP)",
		Short: "Power a host off (processes killed, addresses gone, link down), or with --link only cut its link",
		Long: `Power a host off (processes killed, addresses gone, link down), or with --link only cut its
link (the host keeps running, isolated). For each VIP the host held, a probe in the lab's client
namespace connects to VIP:port every 20 ms and the command reports, once a survivor answers,
the outage the client saw (--no-measure skips this). --holder GROUP fails whichever host
holds that group's VIP.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (opts.HolderOf != "") {
				return usageErrorf("lab fail: name a HOST or give --holder GROUP")
			}
			if len(args) == 1 {
				opts.Host = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labFailRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.HolderOf, "holder", "", "fail the host that holds this host group's VIP")
	cmd.Flags().BoolVar(&opts.LinkOnly, "link", false, "only set the host's link down; the host keeps running, isolated")
	cmd.Flags().BoolVar(&opts.NoMeasure, "no-measure", false, "fail the host and return at once")
	return cmd
}

func labFailRun(ctx context.Context, opts *labFailOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	l, err := lab.Open(lab.DefaultDir, opts.g.Logger)
	if err != nil {
		return err
	}
	if opts.HolderOf != "" {
		holders, err := l.Holders(opts.HolderOf)
		if err != nil {
			return usageErrorf("%w", err)
		}
		if len(holders) != 1 {
			return fmt.Errorf("lab fail: the VIP of %s is held by %d hosts (%s), not one", opts.HolderOf, len(holders), strings.Join(holders, ", "))
		}
		opts.Host = holders[0]
	}
	var fs []lab.Failover
	if opts.NoMeasure {
		err = l.Fail(ctx, opts.Host, opts.LinkOnly)
	} else {
		fs, err = l.FailMeasured(ctx, opts.Host, opts.LinkOnly)
	}
	if errors.Is(err, topology.ErrUnknownHost) {
		return usageErrorf("%w", err)
	}
	if err != nil {
		return err
	}
	if opts.g.jsonOutput() {
		return writeJSON(opts.g.Stdout, fs)
	}
	return lab.WriteFailText(opts.g.Stdout, opts.Host, opts.LinkOnly, !opts.NoMeasure, fs)
}
