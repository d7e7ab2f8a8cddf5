package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
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

// nicReport is the output of `vipctl check nic`.
type nicReport struct {
	Host  string `json:"host"`
	Group string `json:"group"`
	Ready bool   `json:"ready"`
	vip.NICCheck
}

func newCmdCheck(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Preflight checks of this host",
	}
	cmd.AddCommand(newCmdCheckNIC(g))
	return cmd
}

func newCmdCheckNIC(g *globals) *cobra.Command {
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
	host := opts.Host
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}
	if _, ok := t.Host(host); !ok {
		return usageErrorf("host %q is not in %s (use --host)", host, t.File)
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
	r := nicReport{Host: host, Group: group.Name, Ready: c.Ready(), NICCheck: c}
	if opts.json {
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := writeNICTable(opts.stdout, r); err != nil {
		return err
	}
	if !r.Ready {
		return fmt.Errorf("%w: %s", errNotReady, strings.Join(c.Problems, "; "))
	}
	return nil
}

func writeNICTable(w io.Writer, r nicReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	subnet := "none"
	if r.SubnetAddr.IsValid() {
		subnet = r.SubnetAddr.String()
	}
	link := "down"
	if r.LinkUp {
		link = "up"
	}
	rows := [][2]string{
		{"host", r.Host + " (group " + r.Group + ")"},
		{"vip", r.VIP.String()},
		{"interface", or(r.NIC, "none") + " (" + r.NICSource + ")"},
		{"link", link},
		{"mtu", fmt.Sprint(r.MTU)},
		{"mac", or(r.MAC, "-")},
		{"address in subnet", subnet},
		{"vip on this host", or(strings.Join(r.PresentOn, ", "), "no")},
		{"other host answers", or(r.AnsweredBy, "no")},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	ready := "yes"
	if !r.Ready {
		ready = "NO"
	}
	fmt.Fprintf(tw, "ready\t%s\n", ready)
	for _, p := range r.Problems {
		fmt.Fprintf(tw, "problem\t%s\n", p)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	return tw.Flush()
}
