package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
)

func newCmdCibApply(g *globals, runF func(context.Context, *cibLiveOptions) error) *cobra.Command {
	opts := &cibLiveOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "apply [--dry-run]",
		Short: "Bring vipctl's part of the live CIB to the topology, in one atomic change",
		Long: "Read the live CIB, merge the rendered CIB into it and write the difference in one atomic\n" +
			"change that Pacemaker applies only onto the CIB that was read; when someone changed the CIB\n" +
			"in between, read and merge again (a few times), never overwrite. Only vipctl's resources,\n" +
			"constraints, properties and defaults change; whatever else is in the CIB stays.\n" +
			"Before writing, a copy of the CIB is kept in --backup-dir. Nothing is written when nothing\n" +
			"changes. Refused (exit 1, nothing written) when the live cluster-name is not the topology's\n" +
			"corosync.cluster_name, or the CIB has nodes the topology does not know.\n\n" +
			"Exit 0 when the CIB is as the topology asks (changed or already so); 1 when refused or failed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = g.jsonOutput()
			opts.Live.Logger = g.Logger
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cibApplyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show the changes, write nothing")
	cmd.Flags().StringVar(&opts.Live.BackupDir, "backup-dir", cib.DefaultBackupDir, "where to keep a copy of each CIB that apply replaces")
	positiveDurationVar(cmd.Flags(), &opts.Live.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of each cibadmin or crm_diff run")
	return cmd
}

// cibApplyReport is the JSON form of `vipctl cib apply`.
type cibApplyReport struct {
	Result   string       `json:"result"` // applied, unchanged or dry-run
	Cluster  string       `json:"cluster"`
	Before   string       `json:"before"` // CIB version the changes were made from
	After    string       `json:"after"`  // CIB version after the write (= before when not written)
	Backup   string       `json:"backup,omitempty"`
	Attempts int          `json:"attempts"`
	Changes  []cib.Change `json:"changes"`
}

func cibApplyRun(ctx context.Context, opts *cibLiveOptions) error {
	t, desired, live, err := cibLoadLive(opts)
	if err != nil {
		return err
	}
	res, err := live.Apply(ctx, t, desired, cib.ApplyOptions{DryRun: opts.DryRun})
	if err != nil {
		return err
	}
	result := "applied"
	switch {
	case res.Unchanged():
		result = "unchanged"
	case res.DryRun:
		result = "dry-run"
	}
	if opts.JSON {
		return writeJSON(opts.Stdout, cibApplyReport{
			Result:   result,
			Cluster:  t.Corosync.ClusterName,
			Before:   res.Before.String(),
			After:    res.After.String(),
			Backup:   res.Backup,
			Attempts: res.Attempts,
			Changes:  cibChangeList(res.Changes),
		})
	}
	if err := cib.WriteChanges(opts.Stdout, res.Changes); err != nil {
		return err
	}
	w := opts.Stdout
	switch result {
	case "unchanged":
		_, err = fmt.Fprintf(w, "unchanged: the live CIB %s of cluster %s already is as %s asks; nothing written\n",
			res.Before, t.Corosync.ClusterName, t.File)
		return err
	case "dry-run":
		_, err = fmt.Fprintf(w, "dry run: apply would make %s to the live CIB %s of cluster %s; nothing written\n",
			cib.CountChanges(res.Changes), res.Before, t.Corosync.ClusterName)
		return err
	}
	if res.Attempts > 1 {
		fmt.Fprintf(w, "the CIB changed while vipctl wrote it: merged again onto the new CIB (%d attempts)\n", res.Attempts)
	}
	fmt.Fprintf(w, "applied %s: CIB of cluster %s went from %s to %s\n",
		cib.CountChanges(res.Changes), t.Corosync.ClusterName, res.Before, res.After)
	_, err = fmt.Fprintf(w, "backup of the replaced CIB: %s\n", res.Backup)
	return err
}
