package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/topology"
)

type statusOptions struct {
	Host    string        // --host: default this machine's hostname, when it is a host of the topology
	Timeout time.Duration // --timeout: bound of each network probe
	Journal string        // --journal: this host's failover journal

	json   bool
	stdout io.Writer
	load   func() (*topology.Topology, error)
}

func newCmdStatus(g *globals, runF func(context.Context, *statusOptions) error) *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Where each VIP runs, is it really there, each cluster's leader and HAProxy health",
		Long: "Asks Pacemaker (crm_mon) where each group's VIP runs, checks through netlink that this host " +
			"holds the address exactly when Pacemaker says so, connects to VIP:port of every cluster, asks " +
			"Consul for each cluster's Patroni members and leader, and reads each cluster's HAProxy stats " +
			"behind the VIP, and shows each VIP's last moves from this host's failover journal. Every problem is listed with its reason. Exit 0 healthy, 3 degraded, " +
			"2 bad topology or usage, 1 when status itself could not run.",
		Args: cobra.NoArgs, // a usage error through strictArgs
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.json, opts.stdout, opts.load = g.jsonOutput(), g.Stdout, g.loadTopology
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "host of the topology to check as (default: this machine's hostname, if it is one)")
	cmd.Flags().StringVar(&opts.Journal, "journal", journal.DefaultPath, "this host's failover journal, read for each VIP's last moves")
	positiveDurationVar(cmd.Flags(), &opts.Timeout, "timeout", status.DefaultTimeout, "bound of each network probe (TCP, Consul, HAProxy stats)")
	return cmd
}

func statusRun(ctx context.Context, opts *statusOptions) error {
	t, err := opts.load()
	if err != nil {
		return err
	}
	host, err := resolveHost(t, opts.Host, hostIfMember)
	if err != nil {
		return err
	}
	r, err := status.Check(ctx, t, status.Options{Host: host, Timeout: opts.Timeout, Journal: opts.Journal})
	if err != nil {
		return err
	}
	if opts.json {
		err = status.WriteJSON(opts.stdout, r)
	} else {
		err = status.WriteText(opts.stdout, r)
	}
	if err != nil {
		return err
	}
	// Without Consul the clusters' leaders and members are unknown: status cannot tell whether
	// the database layer is healthy, so it says so (exit 1) after the report of what it did see.
	if slices.ContainsFunc(r.Problems, func(p status.Problem) bool { return p.Code == status.CodeConsulUnreachable }) {
		return fmt.Errorf("status: Consul at %s cannot be asked: the clusters' leaders and members are unknown (the report above has the rest)", r.ConsulAddress)
	}
	if !r.Healthy {
		return fmt.Errorf("%w: %d problems", errDegraded, len(r.Problems))
	}
	return nil
}
