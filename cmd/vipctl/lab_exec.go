package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/lab"
)

type labExecOptions struct {
	g       *globals
	Host    string
	Command []string
}

func newCmdLabExec(g *globals, runF func(context.Context, *labExecOptions) error) *cobra.Command {
	opts := &labExecOptions{g: g}
	return &cobra.Command{
		Use:   "exec HOST -- COMMAND [ARG...]",
		Short: "Run a command inside a lab host's namespaces; its exit code is vipctl's",
		Args:  usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return usageErrorf("lab exec: write HOST -- COMMAND")
			}
			opts.Host, opts.Command = args[0], args[1:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labExecRun(cmd.Context(), opts)
		},
	}
}

func labExecRun(ctx context.Context, opts *labExecOptions) error {
	g := opts.g
	l, err := lab.Open(lab.DefaultDir, g.Logger)
	if err != nil {
		return err
	}
	code, err := l.Exec(ctx, opts.Host, opts.Command, g.Stdin, g.Stdout, g.Stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}
