package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

// exitStatus is an exit code passed through from a command run inside a lab host.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageArgs makes a wrong number of arguments a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func newCmdLab(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "A local lab: the topology's hosts in namespaces with real Corosync and Pacemaker (root)",
	}
	cmd.AddCommand(
		newCmdLabUp(g, nil),
		newCmdLabDown(g),
		newCmdLabStatus(g),
		newCmdLabExec(g),
		newCmdLabFail(g),
		newCmdLabPartition(g),
		newCmdLabHeal(g),
		newCmdLabListen(g),
		newCmdLabProbe(g),
	)
	return cmd
}

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
	return printLabReport(opts.g, r)
}

// progressLogger reports the steps of the lab's long-running commands on stderr
// (level=INFO msg=... without timestamps).
func progressLogger(g *globals) *slog.Logger {
	return slog.New(slog.NewTextHandler(g.Stderr, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func newCmdLabDown(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove every namespace, process and mount of the lab (safe to run twice)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			return lab.Down(ctx, lab.DefaultDir, g.Logger)
		},
	}
}

func newCmdLabStatus(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Hosts, their processes and links, the cluster as each sees it, and who holds each VIP",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			l, err := lab.Open(lab.DefaultDir, g.Logger)
			if err != nil {
				return err
			}
			r, err := l.Status(ctx)
			if err != nil {
				return err
			}
			return printLabReport(g, r)
		},
	}
}

func printLabReport(g *globals, r lab.Report) error {
	if g.jsonOutput() {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	w := g.Stdout
	fmt.Fprintf(w, "%-12s %-18s %-9s %-5s %s\n", "HOST", "ADDRESS", "PROCS", "LINK", "CLUSTER (as this host sees it)")
	for _, h := range r.Hosts {
		procs := fmt.Sprint(h.Processes)
		if h.PowerOff {
			procs = "off"
		}
		link := "down"
		if h.LinkUp {
			link = "up"
		}
		view := h.Error
		if h.PowerOff {
			view = "powered off"
		}
		if h.Cluster != nil {
			q := "no quorum"
			if h.Cluster.Quorate {
				q = "quorate"
			}
			view = fmt.Sprintf("%s, DC %s, online %s", q, orNone(h.Cluster.DC), strings.Join(h.Cluster.Online, ","))
		}
		fmt.Fprintf(w, "%-12s %-18s %-9s %-5s %s\n", h.Name, h.Address, procs, link, view)
	}
	fmt.Fprintln(w)
	if len(r.Partition) > 0 {
		var sets []string
		for _, set := range r.Partition {
			sets = append(sets, strings.Join(set, ","))
		}
		fmt.Fprintf(w, "partitioned: %s\n", strings.Join(sets, " | "))
	}
	for _, v := range r.VIPs {
		fmt.Fprintf(w, "VIP %s (group %s): held by %s; Pacemaker says %s\n",
			v.VIP, v.Group, orNone(strings.Join(v.Holders, ", ")), orNone(strings.Join(v.Pacemaker, ", ")))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func newCmdLabExec(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "exec HOST -- COMMAND [ARG...]",
		Short: "Run a command inside a lab host's namespaces; its exit code is vipctl's",
		Args:  usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return usageErrorf("lab exec: write HOST -- COMMAND")
			}
			l, err := lab.Open(lab.DefaultDir, g.Logger)
			if err != nil {
				return err
			}
			code, err := l.Exec(cmd.Context(), args[0], args[1:], g.Stdin, g.Stdout, g.Stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitStatus(code)
			}
			return nil
		},
	}
}

type labFailOptions struct {
	g         *globals
	Host      string
	HolderOf  string // fail the host holding this group's VIP instead of a named one
	LinkOnly  bool
	NoMeasure bool
}

func newCmdLabFail(g *globals) *cobra.Command {
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
	how := "powered off"
	if opts.LinkOnly {
		how = "link down"
	}
	var fs []lab.Failover
	if opts.NoMeasure {
		err = l.Fail(ctx, opts.Host, opts.LinkOnly)
	} else {
		fs, err = l.FailMeasured(ctx, opts.Host, opts.LinkOnly)
	}
	if errors.Is(err, lab.ErrUnknownHost) {
		return usageErrorf("%w", err)
	}
	if err != nil {
		return err
	}
	if opts.g.jsonOutput() {
		return json.NewEncoder(opts.g.Stdout).Encode(fs)
	}
	fmt.Fprintf(opts.g.Stdout, "%s: %s\n", opts.Host, how)
	for _, f := range fs {
		fmt.Fprintf(opts.g.Stdout, "VIP %s (group %s) moved %s -> %s: the client's outage was %.2f s\n",
			f.Address, f.Group, f.From, f.To, f.Outage.Seconds())
	}
	if len(fs) == 0 && !opts.NoMeasure {
		fmt.Fprintf(opts.g.Stdout, "%s held no VIP\n", opts.Host)
	}
	return nil
}

func newCmdLabPartition(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "partition HOSTS HOSTS...",
		Short: "Cut the lab's switch between sets of hosts (each a comma-separated list), e.g. lab-1,lab-2 lab-3",
		Args:  usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			l, err := lab.Open(lab.DefaultDir, g.Logger)
			if err != nil {
				return err
			}
			var sets [][]string
			for _, a := range args {
				sets = append(sets, strings.Split(a, ","))
			}
			if err := l.Partition(ctx, sets); err != nil {
				if errors.Is(err, lab.ErrUnknownHost) {
					return usageErrorf("%w", err)
				}
				return err
			}
			return nil
		},
	}
}

func newCmdLabHeal(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "heal",
		Short: "Undo every failure: switch whole, links up, powered-off hosts started; waits for the whole cluster",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			l, err := lab.Open(lab.DefaultDir, progressLogger(g))
			if err != nil {
				return err
			}
			return l.Heal(ctx)
		},
	}
}

// newCmdLabListen is the lab's stand-in for HAProxy, run inside each host.
func newCmdLabListen(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:    "_listen --name HOST PORT...",
		Hidden: true,
		Args:   usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, ports []string) error {
			return lab.Listen(cmd.Context(), name, ports)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "what to answer every connection with")
	return cmd
}

// newCmdLabProbe connects to ADDR:PORT every interval and prints each change of outcome.
func newCmdLabProbe(g *globals) *cobra.Command {
	var opts lab.ProbeOptions
	cmd := &cobra.Command{
		Use:    "_probe ADDR:PORT",
		Hidden: true,
		Args:   usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := net.SplitHostPort(args[0]); err != nil {
				return usageErrorf("_probe: %w", err)
			}
			opts.Address = args[0]
			return lab.Probe(cmd.Context(), opts, g.Stdout)
		},
	}
	positiveDurationVar(cmd.Flags(), &opts.Interval, "interval", 20*time.Millisecond, "time between connection attempts")
	positiveDurationVar(cmd.Flags(), &opts.Timeout, "timeout", 200*time.Millisecond, "connect and read timeout of one attempt")
	cmd.Flags().DurationVar(&opts.For, "for", 0, "stop after this long (0: until interrupted)")
	cmd.Flags().BoolVar(&opts.UntilOK, "until-ok", false, "stop after the first successful connection")
	return cmd
}
