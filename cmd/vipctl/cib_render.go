package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/topology"
)

// cibRenderOptions are the inputs of `vipctl cib render` and `vipctl cib verify`.
type cibRenderOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	Tools  cib.Tools
}

func newCmdCibRender(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "render",
		Short: "Print the full CIB document of the topology",
		Long: "Print the CIB that the topology asks for: a full <cib> document with the configuration\n" +
			"and an empty status, as `crm_verify --xml-file` and `crm_simulate --xml-file` take it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cibRenderRun(cmd.Context(), cibRenderOptions{Load: g.loadTopology, Stdout: g.Stdout})
		},
	}
}

// cibRenderRun renders the whole document before writing any of it: nothing reaches stdout
// unless the topology loads and renders.
func cibRenderRun(_ context.Context, opts cibRenderOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	b, err := cib.RenderXML(t)
	if err != nil {
		return err
	}
	_, err = opts.Stdout.Write(b)
	return err
}

func newCmdCibVerify(g *globals) *cobra.Command {
	opts := cibRenderOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Render the CIB and check it with crm_verify",
		Long: "Render the CIB and run `crm_verify --xml-file` on it. Exit 0 when Pacemaker accepts it\n" +
			"without a word; exit 1, with what crm_verify said, otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cibVerifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Tools.CrmVerify, "crm-verify", "crm_verify", "crm_verify to run")
	positiveDurationVar(cmd.Flags(), &opts.Tools.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of crm_verify")
	return cmd
}

func cibVerifyRun(ctx context.Context, opts cibRenderOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	doc, err := cib.Render(t)
	if err != nil {
		return err
	}
	if err := opts.Tools.Verify(ctx, doc); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Stdout, "%s: crm_verify accepts the CIB\n", t.File)
	return err
}

// cibSimulateOptions are the inputs of `vipctl cib simulate`.
type cibSimulateOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	JSON   bool
	Fail   []string
	Tools  cib.Tools
}

func newCmdCibSimulate(g *globals) *cobra.Command {
	opts := cibSimulateOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "simulate [--fail HOST]...",
		Short: "Show where each VIP runs with all hosts up, and after the named hosts fail",
		Long: "Play the rendered CIB through crm_simulate: bring every host up and show where each VIP\n" +
			"starts, then fail the hosts named by --fail (quorum counted from the votes left) and show\n" +
			"where each VIP runs afterwards.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			return cibSimulateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Fail, "fail", nil, "a host to fail (repeatable)")
	cmd.Flags().StringVar(&opts.Tools.CrmSimulate, "crm-simulate", "crm_simulate", "crm_simulate to run")
	positiveDurationVar(cmd.Flags(), &opts.Tools.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of each crm_simulate run")
	return cmd
}

func cibSimulateRun(ctx context.Context, opts cibSimulateOptions) error {
	t, err := opts.Load()
	if err != nil {
		return err
	}
	sim, err := opts.Tools.Simulate(ctx, t, opts.Fail)
	if errors.Is(err, cib.ErrUnknownHost) {
		return usageErrorf("--fail: %w", err)
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sim)
	}
	return writeSimulation(opts.Stdout, sim)
}

// writeSimulation prints a simulation for people: one line per VIP, before and after.
func writeSimulation(w io.Writer, sim *cib.Simulation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "All %s up (quorum):\n", nHosts(len(sim.Hosts)))
	for _, p := range sim.Up {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Resource, p.VIP, describe(p, ""))
	}
	if len(sim.Failed) > 0 {
		left := len(sim.Hosts) - len(sim.Failed)
		q := "quorum kept"
		if !sim.Quorate {
			q = "quorum LOST"
		}
		fmt.Fprintf(tw, "After %s failed (%d of %s left, %s):\n", strings.Join(sim.Failed, ", "), left, nHosts(len(sim.Hosts)), q)
		for i, p := range sim.After {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Resource, p.VIP, describe(p, sim.Up[i].Node))
		}
	}
	return tw.Flush()
}

func describe(p cib.Placement, before string) string {
	switch p.State {
	case cib.StateStarted:
		if before != "" && before != p.Node {
			return fmt.Sprintf("started on %s (moved from %s)", p.Node, before)
		}
		return "started on " + p.Node
	case cib.StateStranded:
		return fmt.Sprintf("STRANDED on failed %s (survivors cannot fence or recover it)", p.Node)
	default:
		return "STOPPED"
	}
}

func nHosts(n int) string {
	if n == 1 {
		return "1 host"
	}
	return fmt.Sprintf("%d hosts", n)
}
