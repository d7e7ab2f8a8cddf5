package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/move"
	"github.com/vipctl/vipctl/topology"
)

type vipMoveOptions struct {
	Group    string
	To       string        // --to: "" moves away from the current holder
	Lifetime time.Duration // --lifetime: 0 keeps the constraint until vip unmove
	placement
}

// placement is what the commands that move VIPs share: --timeout, the output, the topology and
// (in tests) the tools.
type placement struct {
	Timeout time.Duration // --timeout: bound of the wait

	json   bool
	stdout io.Writer
	stderr io.Writer
	load   func() (*topology.Topology, error)
	move   move.Options // tests: the tools and the answer check
}

// from fills the shared options from the globals.
func (p *placement) from(g *globals) {
	p.json, p.stdout, p.stderr, p.load = g.jsonOutput(), g.Stdout, g.Stderr, g.loadTopology
}

// addTimeout defines --timeout.
func (p *placement) addTimeout(cmd *cobra.Command, what string) {
	positiveDurationVar(cmd.Flags(), &p.Timeout, "timeout", move.DefaultTimeout, "how long to wait for "+what)
}

// prepare loads the topology and returns the options of the move package (--timeout is
// positive: its flag refuses anything else).
func (p *placement) prepare() (*topology.Topology, move.Options, error) {
	t, err := p.load()
	if err != nil {
		return nil, move.Options{}, err
	}
	mo := p.move
	mo.Timeout = p.Timeout
	mo.Progress = func(s string) { fmt.Fprintln(p.stderr, s) }
	return t, mo, nil
}

func newCmdVipMove(g *globals, runF func(context.Context, *vipMoveOptions) error) *cobra.Command {
	opts := &vipMoveOptions{}
	cmd := &cobra.Command{
		Use:   "move GROUP",
		Short: "Move a group's VIP (to --to HOST, or away from its holder) and wait until it answers there",
		Long: "Sets Pacemaker's own move constraint on the group's VIP (crm_resource --move to the named " +
			"host, or --ban from the current holder without --to), with --lifetime as Pacemaker's " +
			"lifetime of the constraint, and waits until the VIP runs on the new host and its address " +
			"answers there (netlink on that host, else an ARP/neighbour probe whose MAC must be the " +
			"host's). A move replaces the group's earlier move; `vipctl vip unmove` removes it. " +
			"Exit 1 when Pacemaker did not get there within --timeout.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Group = args[0]
			opts.from(g)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return vipMoveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "host of the group to move the VIP to (default: away from the current holder)")
	positiveDurationVar(cmd.Flags(), &opts.Lifetime, "lifetime", 0, "how long Pacemaker keeps the move constraint, e.g. 30m (default: until vip unmove)")
	opts.addTimeout(cmd, "the VIP to answer on the new host")
	return cmd
}

func vipMoveRun(ctx context.Context, opts *vipMoveOptions) error {
	t, mo, err := opts.prepare()
	if err != nil {
		return err
	}
	res, err := move.Move(ctx, t, opts.Group, opts.To, opts.Lifetime, mo)
	if err != nil {
		return err
	}
	if opts.json {
		return writeJSON(opts.stdout, res)
	}
	var b strings.Builder
	if res.Already {
		fmt.Fprintf(&b, "group %s: VIP %s already runs on %s: stays there (answers: %s)\n", res.Group, res.VIP, res.To, res.Answered)
	} else {
		fmt.Fprintf(&b, "group %s: VIP %s moved %s -> %s in %.1f s (answers: %s)\n", res.Group, res.VIP,
			orNone(strings.Join(res.From, ",")), res.To, time.Duration(res.Elapsed).Seconds(), res.Answered)
	}
	if res.Expires != nil {
		fmt.Fprintf(&b, "constraint %s: Pacemaker removes it at %s (lifetime %v)\n", res.Constraint,
			res.Expires.Format(time.RFC3339), time.Duration(res.Lifetime))
	} else {
		fmt.Fprintf(&b, "constraint %s: stays until `vipctl vip unmove %s`\n", res.Constraint, res.Group)
	}
	_, err = io.WriteString(opts.stdout, b.String())
	return err
}
