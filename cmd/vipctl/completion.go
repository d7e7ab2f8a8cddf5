package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

type completionOptions struct {
	Shell  string
	Root   *cobra.Command // the tree to complete
	Stdout io.Writer
}

func newCmdCompletion(g *globals, runF func(context.Context, *completionOptions) error) *cobra.Command {
	opts := &completionOptions{Stdout: g.Stdout}
	return &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "Print a shell completion script",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell, opts.Root = args[0], cmd.Root()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return completionRun(cmd.Context(), opts)
		},
	}
}

func completionRun(_ context.Context, opts *completionOptions) error {
	switch opts.Shell {
	case "bash":
		return opts.Root.GenBashCompletionV2(opts.Stdout, true)
	case "zsh":
		return opts.Root.GenZshCompletion(opts.Stdout)
	case "fish":
		return opts.Root.GenFishCompletion(opts.Stdout, true)
	case "powershell":
		return opts.Root.GenPowerShellCompletionWithDesc(opts.Stdout)
	}
	return usageErrorf("unknown shell %q", opts.Shell)
}
