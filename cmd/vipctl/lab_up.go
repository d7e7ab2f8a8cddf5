package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labUpOptions struct {
	g            *globals
	TopologyFile string // "" runs the lab's own topology
	Bare         bool
	Fresh        bool
	Stack        bool
	Vipctl       string
}

func newCmdLabUp(g *globals, runF func(context.Context, *labUpOptions) error) *cobra.Command {
	opts := &labUpOptions{g: g}
	cmd := &cobra.Command{
		Use:   "up [--bare|--fresh|--stack] [-f TOPOLOGY]",
		Short: "Build the lab, start every host and apply the CIB; prints where each VIP runs",
		Long: `Builds one network namespace per topology host (its address on a link to a shared
bridge), a client namespace on the same bridge, and runs Corosync and Pacemaker in each host's
own mount, UTS and pid namespaces. Without -f (and without $VIPCTL_FILE) the lab writes and runs
its own topology: three hosts lab-1..lab-3 in 192.0.2.0/24 sharing VIP 192.0.2.100.
It returns once the cluster is quorate, the vipctl agent installed and the CIB applied
(--bare stops after quorum). --fresh makes the hosts as new machines with the packages
installed and nothing else: no daemon runs, no corosync.conf, no key (the lab's key is in
/run/vipctl-lab/authkey), no CIB; each host has its own /etc/corosync, /etc/cron.d, /root and
/var/lib, and a systemctl that starts corosync and pacemaker, so vipctl bootstrap run inside
the hosts makes the cluster. --stack also runs the PostgreSQL stack of the rendered bundle on
every host: a Consul server agent, a Patroni + PostgreSQL 15 member of each cluster and one
HAProxy per cluster, and returns once a client reaches each primary through VIP:port.
Addresses exist only inside the lab's namespaces.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("file") || os.Getenv("VIPCTL_FILE") != "" {
				opts.TopologyFile = g.File
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("lab up: %w", err)
			}
			opts.Vipctl = exe
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labUpRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Bare, "bare", false, "stop once the cluster is quorate: no agent install, no CIB")
	cmd.Flags().BoolVar(&opts.Stack, "stack", false, "also run Consul, Patroni + PostgreSQL and HAProxy of the rendered bundle")
	cmd.Flags().BoolVar(&opts.Fresh, "fresh", false, "hosts as new machines: nothing running, no corosync.conf, no key, no CIB (vipctl bootstrap makes the cluster)")
	cmd.MarkFlagsMutuallyExclusive("bare", "fresh", "stack")
	return cmd
}

func labUpRun(ctx context.Context, opts *labUpOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Options{
		TopologyFile: opts.TopologyFile,
		Vipctl:       opts.Vipctl,
		Bare:         opts.Bare,
		Fresh:        opts.Fresh,
		Stack:        opts.Stack,
		Logger:       progressLogger(opts.g),
	})
	if err != nil {
		return err
	}
	for _, w := range l.Topology().Warnings {
		fmt.Fprintf(opts.g.Stderr, "warning: %s\n", w)
	}
	r, err := l.Status(ctx)
	if err != nil {
		return err
	}
	return writeLabReport(opts.g, r)
}
