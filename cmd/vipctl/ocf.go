package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/vip"
)

// agentArgs reports whether the process runs as an OCF agent — installed as "vip" or "health",
// or as `vipctl ocf ACTION` (the VIP agent) or `vipctl ocf health ACTION` — and returns the
// agent's name, the action and its arguments. The agent path then skips the command tree
// entirely.
func agentArgs(args []string) (string, []string, bool) {
	switch {
	case len(args) > 0 && filepath.Base(args[0]) == "vip":
		return "vip", args[1:], true
	case len(args) > 0 && filepath.Base(args[0]) == vip.HealthAgentName:
		return vip.HealthAgentName, args[1:], true
	case len(args) > 3 && args[1] == "ocf" && args[2] == vip.HealthAgentName && !strings.HasPrefix(args[3], "-"):
		return vip.HealthAgentName, args[3:], true
	case len(args) > 2 && args[1] == "ocf" && args[2] != "install" && args[2] != "help" && args[2] != vip.HealthAgentName && !strings.HasPrefix(args[2], "-"):
		return "vip", args[2:], true
	}
	return "", nil, false
}

// runAgent runs one OCF action and returns its OCF exit code. It installs no signal handler:
// Pacemaker ends an action that overruns its timeout with SIGKILL (to its process group), every
// action bounds itself by OCF_RESKEY_CRM_meta_timeout, and a handler would cost each run a thread
// (about 0.5 ms of CPU per monitor here).
func runAgent(name string, args []string, stdout, stderr io.Writer) int {
	if name == vip.HealthAgentName {
		h := &vip.HealthAgent{Getenv: os.Getenv, Stdout: stdout, Stderr: stderr}
		return h.Run(context.Background(), args)
	}
	a := &vip.Agent{Getenv: os.Getenv, Stdout: stdout, Stderr: stderr}
	return a.Run(context.Background(), args)
}

func newCmdOcf(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ocf ACTION",
		Short: "The ocf:vipctl:vip resource agent (start, stop, monitor, validate-all, meta-data)",
		Long: "Runs an action of the ocf:vipctl:vip OCF resource agent with its parameters from " +
			"OCF_RESKEY_* variables and exits with the OCF exit code. Installed as " + vip.AgentPath +
			" (see `vipctl ocf install`) the same binary is the agent Pacemaker runs.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("ocf needs an action: start, stop, monitor, validate-all, meta-data or install")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// `vipctl ocf ACTION` is dispatched by main before the command tree is built;
			// only a global flag in front of "ocf" gets here.
			return usageErrorf("run the agent as `vipctl ocf %s` with nothing before ocf", args[0])
		},
	}
	cmd.AddCommand(newCmdOcfInstall(g, nil))
	return cmd
}
