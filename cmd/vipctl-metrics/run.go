package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/printable"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/metrics"
	"github.com/vipctl/vipctl/topology"
)

// Exit codes, as vipctl's: 1 runtime failure, 2 bad usage or bad topology.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// defaultTopologyFile is used when neither -f nor $VIPCTL_FILE names one (as vipctl).
const defaultTopologyFile = "/etc/vipctl/vipctl.hcl"

// options are the command line of vipctl-metrics.
type options struct {
	File     string
	Listen   string
	Textfile string
	Host     string
	Metrics  metrics.Options
}

// errUsage marks a bad command line (exit 2).
var errUsage = errors.New("usage")

func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

const usageText = `Usage: vipctl-metrics (--listen ADDR | --textfile PATH) [-f FILE] [--host HOST] [flags]

Exports the topology's VIP layer as this host sees it, for Prometheus: where each group's VIP
runs (crm_mon), whether this host holds the address (netlink), the VIPs' moves and agent
durations (this host's failover journal) and this host's HAProxy backends. --listen serves
GET /metrics until SIGINT or SIGTERM; --textfile writes one sample atomically for
node_exporter's textfile collector and exits. docs/metrics.md lists every metric.

Flags:
`

// parseFlags reads the command line into options.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	fs := pflag.NewFlagSet("vipctl-metrics", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	def := os.Getenv("VIPCTL_FILE")
	if def == "" {
		def = defaultTopologyFile
	}
	var haproxy string
	fs.StringVarP(&opts.File, "file", "f", def, "topology file (default $VIPCTL_FILE, else "+defaultTopologyFile+")")
	fs.StringVar(&opts.Listen, "listen", "", "serve GET /metrics on ADDR (host:port)")
	fs.StringVar(&opts.Textfile, "textfile", "", "write the metrics once to PATH (*.prom), atomically, and exit")
	fs.StringVar(&opts.Host, "host", "", "host of the topology this machine is (default: its hostname, if it is one)")
	fs.StringVar(&opts.Metrics.Journal, "journal", journal.DefaultPath, "this host's failover journal")
	fs.DurationVar(&opts.Metrics.Timeout, "timeout", metrics.DefaultTimeout, "bound of each HAProxy stats read and of netlink")
	fs.StringVar(&haproxy, "haproxy-address", metrics.DefaultHAProxyAddress.String(), "address of this host where HAProxy's stats listeners are read")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		return nil, usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("no arguments are taken, not %q", fs.Args())
	}
	switch {
	case opts.Listen == "" && opts.Textfile == "":
		return nil, usageErrorf("one of --listen ADDR or --textfile PATH is needed")
	case opts.Listen != "" && opts.Textfile != "":
		return nil, usageErrorf("--listen and --textfile exclude each other")
	}
	if opts.Listen != "" {
		if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
			return nil, usageErrorf("--listen %q: %v (want host:port, e.g. :9475)", opts.Listen, err)
		}
	}
	if opts.Textfile != "" && !strings.HasSuffix(opts.Textfile, ".prom") {
		return nil, usageErrorf("--textfile %q must end in .prom: node_exporter's textfile collector reads only those", opts.Textfile)
	}
	if opts.Metrics.Timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, not %v", opts.Metrics.Timeout)
	}
	a, err := netip.ParseAddr(haproxy)
	if err != nil {
		return nil, usageErrorf("--haproxy-address: %v", err)
	}
	opts.Metrics.HAProxyAddress = a
	return opts, nil
}

// run is the whole program; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(args[1:], stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err == nil {
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		err = metricsRun(ctx, opts, log)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "vipctl-metrics: %s\n", printable.Lines(err.Error()))
	if errors.Is(err, errUsage) || errors.Is(err, topology.ErrInvalid) {
		return exitUsage
	}
	return exitFailure
}

func metricsRun(ctx context.Context, opts *options, log *slog.Logger) error {
	// As vipctl: the fence agents installed here say which of their parameters are secrets.
	agents := pcmk.FenceAgents{Runner: pcmk.Local{Timeout: 10 * time.Second}}
	t, err := topology.LoadContext(ctx, opts.File, topology.Options{FenceAgents: agents})
	if err != nil {
		return err
	}
	for _, w := range t.Warnings {
		log.Warn("topology", "warning", printable.Line(w))
	}
	host, err := thisHost(t, opts.Host)
	if err != nil {
		return err
	}
	opts.Metrics.Host, opts.Metrics.Logger = host, log
	if host == "" {
		log.Warn("this machine is no host of the topology: no address or HAProxy metrics", "file", t.File)
	}
	c := metrics.New(ctx, t, opts.Metrics)
	if opts.Textfile != "" {
		return metrics.WriteTextfile(opts.Textfile, metrics.Registry(c))
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	log.Info("serving", "url", "http://"+l.Addr().String()+metrics.Path, "host", host)
	start := time.Now()
	err = metrics.Serve(ctx, l, c, log)
	log.Info("stopped", "after", time.Since(start).Round(time.Millisecond))
	return err
}

// thisHost is --host, which must be a host of t, or else this machine's hostname when it is one.
func thisHost(t *topology.Topology, flag string) (string, error) {
	if flag != "" {
		if _, ok := t.Host(flag); !ok {
			return "", usageErrorf("--host %q is not a host of %s", flag, t.File)
		}
		return flag, nil
	}
	name, err := os.Hostname()
	if _, ok := t.Host(name); err != nil || !ok {
		return "", nil
	}
	return name, nil
}
