package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/move"
)

type hostDrainOptions struct {
	Host  string
	Force bool // --force: drain even when it leaves a group with no host
	placement
}

func newCmdHostDrain(g *globals, runF func(context.Context, *hostDrainOptions) error) *cobra.Command {
	opts := &hostDrainOptions{}
	cmd := &cobra.Command{
		Use:   "drain HOST",
		Short: "Put a host in standby and wait until its group's VIP answers on another host",
		Long: "Puts the host in Pacemaker standby (the node attribute standby=on, which survives a " +
			"restart) and waits until its group's VIP runs on another host of the group and answers " +
			"there. Refuses with exit 1, naming the groups, when no other host of a group is online " +
			"and out of standby; --force drains anyway (the VIP then stops).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Host = args[0]
			opts.from(g)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return hostDrainRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "drain even when a group is left with no host to run on")
	opts.addTimeout(cmd, "the VIPs to answer elsewhere")
	return cmd
}

func hostDrainRun(ctx context.Context, opts *hostDrainOptions) error {
	t, mo, err := opts.prepare()
	if err != nil {
		return err
	}
	res, err := move.Drain(ctx, t, opts.Host, opts.Force, mo)
	if err != nil {
		return err
	}
	return writeDrain(opts.stdout, opts.json, res, "drained")
}

// writeDrain reports a drain or undrain.
func writeDrain(w io.Writer, asJSON bool, res move.DrainResult, verb string) error {
	if asJSON {
		return writeJSON(w, res)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "host %s: %s (standby %v)", res.Host, verb, res.Standby)
	if res.Forced {
		b.WriteString(", forced")
	}
	b.WriteString("\n")
	for _, m := range res.Groups {
		fmt.Fprintf(&b, "  group %s: VIP %s runs on %s", m.Group, m.VIP, orNone(m.To))
		if m.Answered != "" {
			fmt.Fprintf(&b, " (answers: %s, after %.1f s)", m.Answered, time.Duration(m.Elapsed).Seconds())
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
