package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
)

func newCmdCibDiff(g *globals, runF func(context.Context, *cibLiveOptions) error) *cobra.Command {
	opts := &cibLiveOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what `cib apply` would change in the live CIB",
		Long: "Read the live CIB with cibadmin and show what `vipctl cib apply` would change in it:\n" +
			"each property, default, resource and constraint of vipctl's that would be added, changed\n" +
			"or removed, with the old and new values. A value someone set by hand on a property vipctl\n" +
			"owns shows up as a change back to the topology's value.\n\n" +
			"Exit 0 whether or not there are changes (-o json says \"changed\": true|false); exit 1 when\n" +
			"the CIB cannot be read, or apply would refuse it (another cluster, unknown nodes).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			opts.Live.Logger = g.Logger
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cibDiffRun(cmd.Context(), opts)
		},
	}
	positiveDurationVar(cmd.Flags(), &opts.Live.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of each cibadmin or crm_diff run")
	return cmd
}

// cibDiffReport is the JSON form of `vipctl cib diff`.
type cibDiffReport struct {
	Cluster string       `json:"cluster"`
	Version string       `json:"version"` // of the live CIB: admin_epoch.epoch.num_updates
	Changed bool         `json:"changed"`
	Changes []cib.Change `json:"changes"`
}

func cibDiffRun(ctx context.Context, opts *cibLiveOptions) error {
	t, desired, live, err := cibLoadLive(opts)
	if err != nil {
		return err
	}
	plan, err := live.Plan(ctx, t, desired)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.Stdout, cibDiffReport{
			Cluster: t.Corosync.ClusterName,
			Version: plan.Version.String(),
			Changed: !plan.Unchanged(),
			Changes: cibChangeList(plan.Changes),
		})
	}
	if err := cib.WriteChanges(opts.Stdout, plan.Changes); err != nil {
		return err
	}
	if plan.Unchanged() {
		_, err = fmt.Fprintf(opts.Stdout, "no changes: the live CIB %s of cluster %s already is as %s asks\n",
			plan.Version, t.Corosync.ClusterName, t.File)
		return err
	}
	_, err = fmt.Fprintf(opts.Stdout, "%s to the live CIB %s of cluster %s\n",
		cib.CountChanges(plan.Changes), plan.Version, t.Corosync.ClusterName)
	return err
}
