package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/topology"
)

// cibLiveOptions are the inputs of `vipctl cib diff` and `vipctl cib apply`.
type cibLiveOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	JSON   bool
	DryRun bool           // apply only
	Live   cib.LiveConfig // how the live CIB is reached, and where backups go
}

func newCmdCibDiff(g *globals) *cobra.Command {
	opts := cibLiveOptions{Load: g.loadTopology, Stdout: g.Stdout}
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
			return cibDiffRun(cmd.Context(), opts)
		},
	}
	positiveDurationVar(cmd.Flags(), &opts.Live.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of each cibadmin or crm_diff run")
	return cmd
}

func newCmdCibApply(g *globals) *cobra.Command {
	opts := cibLiveOptions{Load: g.loadTopology, Stdout: g.Stdout}
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
			return cibApplyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show the changes, write nothing")
	cmd.Flags().StringVar(&opts.Live.BackupDir, "backup-dir", cib.DefaultBackupDir, "where to keep a copy of each CIB that apply replaces")
	positiveDurationVar(cmd.Flags(), &opts.Live.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of each cibadmin or crm_diff run")
	return cmd
}

// cibLoadLive loads the topology and renders its CIB: a bad topology stops (exit 2) before
// any tool runs.
func cibLoadLive(opts cibLiveOptions) (*topology.Topology, *etree.Document, *cib.Live, error) {
	t, err := opts.Load()
	if err != nil {
		return nil, nil, nil, err
	}
	desired, err := cib.Render(t)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, desired, cib.NewLive(opts.Live), nil
}

// cibDiffReport is the JSON form of `vipctl cib diff`.
type cibDiffReport struct {
	Cluster string       `json:"cluster"`
	Version string       `json:"version"` // of the live CIB: admin_epoch.epoch.num_updates
	Changed bool         `json:"changed"`
	Changes []cib.Change `json:"changes"`
}

func cibDiffRun(ctx context.Context, opts cibLiveOptions) error {
	t, desired, live, err := cibLoadLive(opts)
	if err != nil {
		return err
	}
	plan, err := live.Plan(ctx, t, desired)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cibWriteJSON(opts.Stdout, cibDiffReport{
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
		cibCountChanges(plan.Changes), plan.Version, t.Corosync.ClusterName)
	return err
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

func cibApplyRun(ctx context.Context, opts cibLiveOptions) error {
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
		return cibWriteJSON(opts.Stdout, cibApplyReport{
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
			cibCountChanges(res.Changes), res.Before, t.Corosync.ClusterName)
		return err
	}
	if res.Attempts > 1 {
		fmt.Fprintf(w, "the CIB changed while vipctl wrote it: merged again onto the new CIB (%d attempts)\n", res.Attempts)
	}
	fmt.Fprintf(w, "applied %s: CIB of cluster %s went from %s to %s\n",
		cibCountChanges(res.Changes), t.Corosync.ClusterName, res.Before, res.After)
	_, err = fmt.Fprintf(w, "backup of the replaced CIB: %s\n", res.Backup)
	return err
}

// cibCountChanges says how many changes of each kind there are: "3 changes (2 added, 1 changed)".
func cibCountChanges(cs []cib.Change) string {
	n := map[cib.Op]int{}
	for _, c := range cs {
		n[c.Op]++
	}
	s := fmt.Sprintf("%d change", len(cs))
	if len(cs) != 1 {
		s += "s"
	}
	sep := " ("
	for _, op := range []cib.Op{cib.OpAdd, cib.OpChange, cib.OpRemove} {
		if n[op] > 0 {
			s += fmt.Sprintf("%s%d %s", sep, n[op], op)
			sep = ", "
		}
	}
	if sep != " (" {
		s += ")"
	}
	return s
}

// cibChangeList makes an empty list print as [] in JSON.
func cibChangeList(cs []cib.Change) []cib.Change {
	if cs == nil {
		return []cib.Change{}
	}
	return cs
}

func cibWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
