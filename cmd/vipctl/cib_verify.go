package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
)

func newCmdCibVerify(g *globals, runF func(context.Context, *cibRenderOptions) error) *cobra.Command {
	opts := &cibRenderOptions{Load: g.loadTopology, Stdout: g.Stdout}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Render the CIB and check it with crm_verify",
		Long: "Render the CIB and run `crm_verify --xml-file` on it. Exit 0 when Pacemaker accepts it\n" +
			"without a word; exit 1, with what crm_verify said, otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cibVerifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Tools.CrmVerify, "crm-verify", "crm_verify", "crm_verify to run")
	positiveDurationVar(cmd.Flags(), &opts.Tools.Timeout, "timeout", cib.DefaultToolTimeout, "time limit of crm_verify")
	return cmd
}

func cibVerifyRun(ctx context.Context, opts *cibRenderOptions) error {
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
