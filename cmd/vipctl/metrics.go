package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vipctl/vipctl/journal"
)

// metricsProgram is the exporter `vipctl metrics` runs. It is a binary of its own
// (cmd/vipctl-metrics): Prometheus's client library, with its package init, must not be linked
// into vipctl, which is also the OCF agent Pacemaker runs every few seconds (deps_test.go).
const metricsProgram = "vipctl-metrics"

// metricsStopWait is how long vipctl-metrics may take to stop after SIGTERM before it is killed.
const metricsStopWait = 10 * time.Second

// ErrNoMetricsProgram is matched when vipctl-metrics is neither beside vipctl nor on PATH.
var ErrNoMetricsProgram = errors.New(metricsProgram + " not found")

type metricsOptions struct {
	File     string   // -f, passed on
	Listen   string   // --listen ADDR
	Textfile string   // --textfile PATH
	Args     []string // the command line of vipctl-metrics: -f and every flag given

	stdin          io.Reader
	stdout, stderr io.Writer
	executable     func() (string, error) // where this vipctl is (os.Executable)
	lookPath       func(string) (string, error)
}

func newCmdMetrics(g *globals, runF func(context.Context, *metricsOptions) error) *cobra.Command {
	opts := &metricsOptions{}
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "metrics (--listen ADDR | --textfile PATH)",
		Short: "Prometheus metrics of the VIPs as this host sees them (runs vipctl-metrics)",
		Long: "Runs " + metricsProgram + ", found beside this vipctl or else on PATH, with these flags. It exports " +
			"per host group: which host holds the VIP (crm_mon), whether this host holds the address (netlink), " +
			"the VIP's moves and the agents' operation durations (this host's failover journal) and this host's " +
			"HAProxy backends. --listen serves GET /metrics until SIGINT or SIGTERM; --textfile writes one sample " +
			"atomically for node_exporter's textfile collector and exits. docs/metrics.md lists every metric.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case opts.Listen == "" && opts.Textfile == "":
				return usageErrorf("one of --listen ADDR or --textfile PATH is needed")
			case opts.Listen != "" && opts.Textfile != "":
				return usageErrorf("--listen and --textfile exclude each other")
			}
			opts.File = g.File
			opts.Args = []string{"--file", g.File}
			cmd.Flags().Visit(func(f *pflag.Flag) { // the flags given, as given
				opts.Args = append(opts.Args, "--"+f.Name+"="+f.Value.String())
			})
			opts.stdin, opts.stdout, opts.stderr = g.Stdin, g.Stdout, g.Stderr
			opts.executable, opts.lookPath = os.Executable, exec.LookPath
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return metricsRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Listen, "listen", "", "serve GET /metrics on ADDR (host:port, e.g. :9475)")
	fs.StringVar(&opts.Textfile, "textfile", "", "write the metrics once to PATH (*.prom), atomically, and exit")
	fs.String("host", "", "host of the topology this machine is (default: its hostname, if it is one)")
	fs.String("journal", journal.DefaultPath, "this host's failover journal")
	fs.String("haproxy-address", "", "address of this host where HAProxy's stats listeners are read (default 127.0.0.1)")
	positiveDurationVar(fs, &timeout, "timeout", 0, "bound of each HAProxy stats read and of netlink (default 2s)")
	fs.Lookup("timeout").DefValue = "" // vipctl-metrics' own default applies unless given
	return cmd
}

// metricsRun runs vipctl-metrics with opts.Args, its streams this process's, and returns its
// exit code as vipctl's. SIGINT and SIGTERM (the end of ctx) reach it as SIGTERM.
func metricsRun(ctx context.Context, opts *metricsOptions) error {
	path, err := findMetricsProgram(opts.executable, opts.lookPath)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, opts.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.stdin, opts.stdout, opts.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = metricsStopWait
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return exitStatus(ee.ExitCode()) // it said why on stderr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// findMetricsProgram returns vipctl-metrics beside this vipctl, else on PATH.
func findMetricsProgram(executable func() (string, error), lookPath func(string) (string, error)) (string, error) {
	beside := "(where vipctl runs from is unknown)"
	if self, err := executable(); err == nil {
		beside = filepath.Join(filepath.Dir(self), metricsProgram)
		if st, err := os.Stat(beside); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return beside, nil
		}
	}
	if p, err := lookPath(metricsProgram); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: not at %s, not on PATH (%s); make build puts it beside bin/vipctl", ErrNoMetricsProgram, beside, os.Getenv("PATH"))
}
