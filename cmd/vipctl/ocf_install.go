package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/vip"
)

type ocfInstallOptions struct {
	Dest   string // where the agent goes
	Source string // the executable to install; default this one
	Stderr io.Writer
}

func newCmdOcfInstall(g *globals, runF func(context.Context, *ocfInstallOptions) error) *cobra.Command {
	opts := &ocfInstallOptions{Stderr: g.Stderr}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install this binary as the OCF agents " + vip.AgentPath + " and " + vip.HealthAgentName + " beside it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ocfInstallRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dest, "dest", vip.AgentPath, "path of the installed agent")
	return cmd
}

// installSource checks that dest is named name (the agents recognise themselves by their name)
// and returns the executable to install: src, else this one.
func installSource(src, dest, name string) (string, error) {
	if filepath.Base(dest) != name {
		return "", usageErrorf("--dest must end in /%s (the agent recognises itself by that name), not %q", name, dest)
	}
	if src != "" {
		return src, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this executable: %w", err)
	}
	return exe, nil
}

// ocfInstallRun copies the executable to opts.Dest atomically with mode 0755 and makes sure user
// nobody can reach it (ocf-tester and Pacemaker run meta-data unprivileged).
func ocfInstallRun(_ context.Context, opts *ocfInstallOptions) error {
	src, err := installSource(opts.Source, opts.Dest, "vip")
	if err != nil {
		return err
	}
	health := filepath.Join(filepath.Dir(opts.Dest), vip.HealthAgentName)
	for _, dest := range []string{opts.Dest, health} {
		if err := vip.Install(src, dest); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "installed %s\n", dest)
	}
	return nil
}
