package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

func newCmdLab(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "A local lab: the topology's hosts in namespaces with real Corosync and Pacemaker (root)",
	}
	cmd.AddCommand(
		newCmdLabUp(g, nil),
		newCmdLabDown(g, nil),
		newCmdLabStatus(g, nil),
		newCmdLabExec(g, nil),
		newCmdLabFail(g, nil),
		newCmdLabPartition(g, nil),
		newCmdLabHeal(g, nil),
		newCmdLabListen(g, nil),
		newCmdLabProbe(g, nil),
		newCmdLabBMC(g, nil),
		newCmdLabFence(g),
	)
	return cmd
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

// writeLabReport prints a lab report as -o asks.
func writeLabReport(g *globals, r lab.Report) error {
	if g.jsonOutput() {
		return writeJSON(g.Stdout, r)
	}
	return lab.WriteText(g.Stdout, r)
}
