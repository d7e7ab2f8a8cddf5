package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/journal"
)

// alertArgs reports whether the process runs as the Pacemaker alert agent: installed as
// "alert" (journal.AlertPath), or as `vipctl alert` with nothing after it. Like the OCF agent,
// it then skips the command tree.
func alertArgs(args []string) bool {
	return len(args) > 0 && filepath.Base(args[0]) == "alert" || len(args) == 2 && args[1] == "alert"
}

// runAlert runs the alert agent once and returns its exit code.
func runAlert(stderr io.Writer) int {
	host, _ := os.Hostname()
	a := &journal.Alert{
		Getenv:   os.Getenv,
		Hostname: host,
		Stderr:   stderr,
		Placer:   journal.CrmPlacer{Keep: isVIPResource},
	}
	return a.Run(context.Background())
}

type alertInstallOptions struct {
	Dest    string
	Journal string
	Source  string // the executable to install; default this one
	Stderr  io.Writer
}

func newCmdAlert(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "The Pacemaker alert agent that writes the failover journal",
		Long: "Run by Pacemaker (the CIB's alert " + cib.AlertID + " points at " + journal.AlertPath +
			"), it appends the event described by the CRM_alert_* variables to the journal (JSON lines, " +
			journal.DefaultPath + " unless the alert's recipient names another file). After a node joins or " +
			"leaves it also records where each VIP runs. `vipctl alert install` installs it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// `vipctl alert` is dispatched by main before the command tree is built;
			// only a global flag in front of "alert" gets here.
			return usageErrorf("run the alert agent as `vipctl alert` with nothing before or after it")
		},
	}
	cmd.AddCommand(newCmdAlertInstall(g))
	return cmd
}

func newCmdAlertInstall(g *globals) *cobra.Command {
	opts := &alertInstallOptions{Stderr: g.Stderr}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install this binary as the alert agent " + journal.AlertPath + " and create the journal's directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return alertInstallRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dest, "dest", journal.AlertPath, "path of the installed alert agent")
	cmd.Flags().StringVar(&opts.Journal, "journal", journal.DefaultPath, "the journal; its directory is created for user hacluster")
	return cmd
}

func alertInstallRun(_ context.Context, opts *alertInstallOptions) error {
	src, err := installSource(opts.Source, opts.Dest, "alert")
	if err != nil {
		return err
	}
	if err := journal.Install(src, opts.Dest, opts.Journal); err != nil {
		return err
	}
	fmt.Fprintf(opts.Stderr, "installed %s; journal directory %s\n", opts.Dest, filepath.Dir(opts.Journal))
	return nil
}
