package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/printable"
	"github.com/vipctl/vipctl/move"
	"github.com/vipctl/vipctl/topology"
)

// Exit codes of vipctl (the OCF agent uses the OCF codes instead).
const (
	exitOK       = 0
	exitFailure  = 1 // a tool or host said no
	exitUsage    = 2 // bad usage or bad topology: nothing applied, nothing written
	exitDegraded = 3 // status found the system degraded
)

// defaultTopologyFile is used when neither -f nor $VIPCTL_FILE names one.
const defaultTopologyFile = "/etc/vipctl/vipctl.hcl"

// globals holds what every command shares: the global flags and the process's streams.
type globals struct {
	File   string // -f/--file
	Output string // -o/--output: text or json

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger

	// ctx is the command's context (ended by SIGINT and SIGTERM), set before any command
	// runs, so that reading the topology ends on those signals too.
	ctx context.Context
}

// fenceMetadataTimeout bounds one `fence_X -o metadata` run of the loader (about 0.2 s here).
const fenceMetadataTimeout = 10 * time.Second

// loadTopology loads the topology named by -f, printing its warnings to stderr. The fence
// agents installed on this host say which of their parameters are secrets.
func (g *globals) loadTopology() (*topology.Topology, error) {
	ctx := g.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	agents := pcmk.FenceAgents{Runner: pcmk.Local{Timeout: fenceMetadataTimeout}}
	t, err := topology.LoadContext(ctx, g.File, topology.Options{FenceAgents: agents})
	if err != nil {
		return nil, err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(g.Stderr, "warning: %s\n", printable.Line(w))
	}
	return t, nil
}

// jsonOutput reports whether -o json was chosen.
func (g *globals) jsonOutput() bool { return g.Output == "json" }

// usageError marks a bad command line: exit 2 and the usage text.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitStatus is an exit code passed through from a command run inside a lab host.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// errDegraded is returned by commands that found the system degraded (exit 3).
var errDegraded = errors.New("degraded")

// exitCode maps an error to vipctl's exit code. This is the only place that does.
func exitCode(err error) int {
	var ue *usageError
	var es exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &es):
		return int(es) // lab exec passes the command's own exit code through
	case errors.As(err, &ue), errors.Is(err, topology.ErrInvalid), errors.Is(err, move.ErrUsage):
		return exitUsage
	case errors.Is(err, errDegraded):
		return exitDegraded
	default:
		return exitFailure
	}
}

// run is the whole program: it builds the command tree, runs it and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g := &globals{
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	root := newRootCmd(g)
	root.SetArgs(args[1:])
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var es exitStatus
	if err != nil && !errors.Is(err, errDegraded) && !errors.As(err, &es) {
		fmt.Fprintf(stderr, "vipctl: %s\n", printable.Lines(err.Error()))
	}
	return exitCode(err)
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "vipctl",
		Short:         "Render, apply and check a Pacemaker VIP + Patroni/HAProxy stack from one file",
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			g.ctx = cmd.Context()
			if g.File == "" {
				g.File = defaultTopologyFile
			}
			if g.Output != "text" && g.Output != "json" {
				return usageErrorf("--output must be text or json, not %q", g.Output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&g.File, "file", "f", os.Getenv("VIPCTL_FILE"),
		"topology file (default $VIPCTL_FILE, else "+defaultTopologyFile+")")
	root.PersistentFlags().StringVarP(&g.Output, "output", "o", "text", "output format: text or json")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintln(cmd.ErrOrStderr(), cmd.UsageString())
		return &usageError{err}
	})

	root.AddCommand(
		newCmdRender(g, nil),
		newCmdCib(g),
		newCmdCheck(g),
		newCmdOcf(g),
		newCmdNomad(g),
		newCmdLab(g),
		newCmdBootstrap(g, nil),
		newCmdStatus(g, nil),
		newCmdVip(g),
		newCmdHost(g),
		newCmdEvents(g),
		newCmdAlert(g),
		newCmdMetrics(g, nil),
		newCmdVersion(g, nil),
		newCmdCompletion(g, nil),
	)
	strictArgs(root) // every wrong positional argument is a usage error (exit 2)
	return root
}
