package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

type checkNICOptions struct {
	Host string // --host: default the machine's hostname

	json   bool
	stdout io.Writer
	load   func() (*topology.Topology, error)
	netns  string // tests: the network namespace to check instead of the process's own
}

func newCmdCheckNIC(g *globals, runF func(context.Context, *checkNICOptions) error) *cobra.Command {
	opts := &checkNICOptions{}
	cmd := &cobra.Command{
		Use:   "nic",
		Short: "Check that this host's interface can carry its group's VIP",
		Long: "Looks at the interface that would carry the VIP of this host's group (its configured nic, " +
			"else route lookup): link state, MTU, an address in the VIP's subnet, whether the VIP is on this " +
			"host already, and whether another host answers for it (an ARP probe or neighbour solicitation of " +
			"at most 300 ms). Exit 0 ready, 1 not ready, 2 bad topology.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.json, opts.stdout, opts.load = g.jsonOutput(), g.Stdout, g.loadTopology
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkNICRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "host of the topology to check as (default: this machine's hostname)")
	return cmd
}

// errNotReady is returned when the host cannot carry its VIP (exit 1).
var errNotReady = errors.New("not ready")

func checkNICRun(ctx context.Context, opts *checkNICOptions) error {
	t, err := opts.load()
	if err != nil {
		return err
	}
	host, err := resolveHost(t, opts.Host, hostRequired)
	if err != nil {
		return err
	}
	group, ok := t.GroupOf(host)
	if !ok {
		return usageErrorf("host %q is in no host_group of %s", host, t.File)
	}
	h, err := vip.OpenHost(opts.netns)
	if err != nil {
		return err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	c, err := vip.CheckNIC(ctx, h, group.VIP.Prefix, t.NICFor(host))
	if err != nil {
		return err
	}
	r := vip.NICReport{Host: host, Group: group.Name, Ready: c.Ready(), NICCheck: c}
	if opts.json {
		err = writeJSON(opts.stdout, r)
	} else {
		err = vip.WriteNICText(opts.stdout, r)
	}
	if err != nil {
		return err
	}
	if !r.Ready {
		return fmt.Errorf("%w: %s", errNotReady, strings.Join(c.Problems, "; "))
	}
	return nil
}
