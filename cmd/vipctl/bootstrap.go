package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/bootstrap"
	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/topology"
)

// bootstrapOptions are the inputs of `vipctl bootstrap`.
type bootstrapOptions struct {
	Host    string
	Authkey string
	DryRun  bool
	Submit  bool
	Backup  string
	Wait    time.Duration
	// CIBBackupDir keeps a copy of each CIB the cib step replaces.
	CIBBackupDir string

	load   func() (*topology.Topology, error)
	logger *slog.Logger
	stdout io.Writer
	json   bool
	tweak  func(*bootstrap.Options) // tests: a temp root, a fake NIC check
}

func newCmdBootstrap(g *globals, runF func(context.Context, *bootstrapOptions) error) *cobra.Command {
	opts := &bootstrapOptions{}
	cmd := &cobra.Command{
		Use:   "bootstrap [--host H] [--authkey F] [--dry-run] [--submit]",
		Short: "Make this host a working member of the topology's cluster",
		Long: "Checks and, where needed, changes this host step by step: Corosync and Pacemaker installed,\n" +
			"the interface for the group's VIP, the corosync authkey (--authkey, or the one installed;\n" +
			"never generated, never replaced), corosync.conf, the ocf:vipctl:vip agent, Corosync and\n" +
			"Pacemaker running, this host online with quorum, the CIB applied, its group's VIP started on\n" +
			"one host, the backup files, and with --submit the Nomad jobs. A step already done is left\n" +
			"alone (\"ok\"): run it again at will.\n" +
			"--dry-run says what each step would change and changes nothing.\n\n" +
			"Exit 0 when the host is a working member (or, with --dry-run, when every check could run);\n" +
			"1 at the first step that fails (later steps are not run); 2 for bad usage or topology\n" +
			"(nothing done). See docs/bootstrap.md.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("bootstrap takes no arguments, got %q", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.load, opts.logger, opts.stdout, opts.json = g.loadTopology, g.Logger, g.Stdout, g.jsonOutput()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return bootstrapRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Host, "host", "", "host of the topology this machine is (default: its hostname)")
	f.StringVar(&opts.Authkey, "authkey", "", "file with the cluster's corosync key, installed as "+bootstrap.AuthkeyPath)
	f.BoolVar(&opts.DryRun, "dry-run", false, "say what each step would change, change nothing")
	f.BoolVar(&opts.Submit, "submit", false, "also register the Nomad jobs (NOMAD_ADDR, NOMAD_TOKEN)")
	f.StringVar(&opts.Backup, "backup", string(bootstrap.BackupCron), "what schedules the backups: cron (install pgsql_backup.sh and the cron entry) or nomad (the backup job)")
	f.StringVar(&opts.CIBBackupDir, "cib-backup-dir", cib.DefaultBackupDir, "where to keep a copy of each CIB the cib step replaces")
	positiveDurationVar(f, &opts.Wait, "wait", bootstrap.DefaultWait, "how long to wait for this host to be online with quorum, and again for its VIP to start")
	return cmd
}

func bootstrapRun(ctx context.Context, opts *bootstrapOptions) error {
	t, err := opts.load()
	if err != nil {
		return err
	}
	host, err := resolveHost(t, opts.Host, hostRequired)
	if err != nil {
		return err
	}
	bo := bootstrap.Options{
		Host:    host,
		Authkey: opts.Authkey,
		DryRun:  opts.DryRun,
		Submit:  opts.Submit,
		Backup:  bootstrap.BackupMode(opts.Backup),
		Wait:    opts.Wait,

		CIBBackupDir: opts.CIBBackupDir,
		Logger:       opts.logger,
	}
	if !opts.json {
		bo.Progress = func(r bootstrap.Result) { _ = bootstrap.WriteStep(opts.stdout, r) }
	}
	if opts.tweak != nil {
		opts.tweak(&bo)
	}
	plan, err := bootstrap.New(t, bo)
	if err != nil {
		if errors.Is(err, bootstrap.ErrUsage) {
			return &usageError{err}
		}
		return err
	}
	report, err := plan.Run(ctx)
	var werr error
	if opts.json {
		werr = writeJSON(opts.stdout, report)
	} else {
		werr = bootstrap.WriteSummary(opts.stdout, report, err != nil)
	}
	if err == nil {
		err = werr
	}
	return err
}
