package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/beevik/etree"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// Errors at the package's edge. Callers match them with errors.Is.
var (
	// ErrUsage marks a request that cannot be planned (unknown host, unusable --authkey file,
	// a topology that does not render): nothing was run or written.
	ErrUsage = errors.New("bootstrap: cannot plan")
	// ErrNoAuthkey: no key at /etc/corosync/authkey and none given with --authkey.
	ErrNoAuthkey = errors.New("no corosync authkey")
	// ErrAuthkeyMismatch: /etc/corosync/authkey exists with another key than --authkey.
	ErrAuthkeyMismatch = errors.New("the installed corosync authkey differs from --authkey")
	// ErrMissingTool: a binary the cluster needs is not installed.
	ErrMissingTool = errors.New("missing tool")
	// ErrNICNotReady: the host's interface cannot carry its group's VIP.
	ErrNICNotReady = errors.New("the interface cannot carry the VIP")
	// ErrOtherCluster: Corosync runs another cluster with other members; bootstrap leaves it alone.
	ErrOtherCluster = errors.New("this host is a member of another cluster")
	// ErrNotMember: the host did not become online in a quorate partition in time.
	ErrNotMember = errors.New("not online in a quorate partition")
	// ErrVIPNotStarted: the host group's VIP did not come up on exactly one host in time.
	ErrVIPNotStarted = errors.New("the VIP is not started")
	// ErrStepFailed wraps the error of the first failed step (see StepError).
	ErrStepFailed = errors.New("bootstrap step failed")
)

// Paths on the host, relative to Options.Root.
const (
	CorosyncConfPath = "/etc/corosync/corosync.conf"
	AuthkeyPath      = corosync.KeyFile
	// LocalCIBDir is where Pacemaker keeps its CIB on disk.
	LocalCIBDir = "/var/lib/pacemaker/cib"
	// IPaddr2Path is the resource-agents package's ocf:heartbeat:IPaddr2.
	IPaddr2Path = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
)

// Authkey sizes libknet accepts (corosync-keygen writes 256 bytes).
const (
	minAuthkey = 128
	maxAuthkey = 4096
)

// DefaultWait bounds the wait for this host to be online in a quorate partition.
const DefaultWait = 5 * time.Minute

// BackupMode chooses what schedules a cluster's backups: exactly one of the two must.
type BackupMode string

const (
	// BackupCron installs pgsql_backup.sh and the cron entry on the host (the seed's way).
	BackupCron BackupMode = "cron"
	// BackupNomad leaves scheduling to the Nomad job backup-<cluster>; vipctl's cron entry is removed.
	BackupNomad BackupMode = "nomad"
)

// Options say what to bootstrap and how.
type Options struct {
	Host    string     // topology host to become; "" = this machine's hostname
	Authkey string     // file holding the cluster's corosync key; "" = use the installed one
	DryRun  bool       // check every step, change nothing
	Submit  bool       // also register the Nomad jobs
	Backup  BackupMode // "" = BackupCron
	Wait    time.Duration
	// Executable is the vipctl binary installed as the OCF agent; "" = this process's executable.
	Executable string
	// CIBBackupDir keeps a copy of each CIB the cib step replaces; "" = cib.DefaultBackupDir.
	CIBBackupDir string
	// Root prefixes every file path bootstrap reads or writes ("" = /). Commands are unaffected.
	Root string
	// Logger receives progress details; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called with each step's result as soon as it is known.
	Progress func(Result)
	// CheckNIC runs the NIC preflight; nil = vip.CheckNIC on this host's network namespace.
	CheckNIC func(ctx context.Context, vip netip.Prefix, nic string) (vip.NICCheck, error)
	// Nomad makes the client jobs are registered with (--submit); nil = api.DefaultConfig (NOMAD_*).
	Nomad func() (*api.Client, error)

	run  runner     // nil = pcmk.Local (pcmk.DefaultTimeout per command)
	cib  cibApplier // nil = cib.NewLive
	jobs jobClient  // nil = the client Nomad makes
	now  func() time.Time
	poll time.Duration // interval of the quorum and VIP waits
}

// cibApplier is the part of *cib.Live bootstrap uses.
type cibApplier interface {
	Apply(ctx context.Context, t *topology.Topology, desired *etree.Document, opts cib.ApplyOptions) (*cib.ApplyResult, error)
}

var _ cibApplier = (*cib.Live)(nil)

// jobClient plans and registers Nomad jobs; *api.Jobs is one.
type jobClient interface {
	Plan(job *api.Job, diff bool, q *api.WriteOptions) (*api.JobPlanResponse, *api.WriteMeta, error)
	Register(job *api.Job, q *api.WriteOptions) (*api.JobRegisterResponse, *api.WriteMeta, error)
}

var _ jobClient = (*api.Jobs)(nil)

// Status is the outcome of one step.
type Status string

// Step outcomes.
const (
	StatusOK          Status = "ok"           // already as wanted: nothing done
	StatusChanged     Status = "changed"      // it was not, and now is
	StatusWouldChange Status = "would-change" // dry run: it is not, and nothing was done
	StatusFailed      Status = "failed"       // the step failed: no later step ran
	StatusNotRun      Status = "not-run"      // an earlier step failed
)

// Result is what happened in one step.
type Result struct {
	Step   string `json:"step"`             // short name, e.g. "corosync.conf"
	What   string `json:"what"`             // what the step makes true
	Status Status `json:"status"`           // ok, changed, would-change, failed, not-run
	Detail string `json:"detail,omitempty"` // what changed, would change, or why it failed
	Err    error  `json:"-"`
}

// Report is the whole run.
type Report struct {
	Host    string   `json:"host"`
	Cluster string   `json:"cluster"`
	DryRun  bool     `json:"dry_run"`
	Member  bool     `json:"member"`           // the host ended up a working member (false in a dry run)
	Failed  string   `json:"failed,omitempty"` // name of the step that failed
	Steps   []Result `json:"steps"`
}

// StepError is the error of a failed step.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() []error {
	return []error{ErrStepFailed, e.Err}
}

// step is one entry of the plan: decide looks only at what was found on the host (observed
// once, before any step) and the desired state the plan holds, and returns the step's action.
type step struct {
	name, what string
	decide     func(o *hostState) action
}

// action is what one step does.
type action struct {
	err  error  // the step fails: nothing is done
	todo string // "" when the step is done already, else what do changes
	// do makes the change and says what it did; nil for a check-only step.
	do func(ctx context.Context) (string, error)
	// wait marks a step that only waits for the cluster: success is "ok", not "changed".
	wait bool
}

// Plan is the ordered steps that make one host a member.
type Plan struct {
	Host         topology.Host
	Group        *topology.HostGroup // nil: the host serves no VIP
	opts         Options
	topo         *topology.Topology
	steps        []step
	authkey      []byte // the --authkey file's key
	corosyncConf []byte
	cibDoc       *etree.Document
	backups      []backupFile
	jobs         []*api.Job
}

// Steps lists the step names of the plan in order.
func (p *Plan) Steps() []string {
	names := make([]string, len(p.steps))
	for i, s := range p.steps {
		names[i] = s.name
	}
	return names
}

// New plans the bootstrap of one host: everything that can be refused without touching the
// host is checked here (the host, the --authkey file, rendering every artefact), and such a
// refusal matches ErrUsage. Nothing runs until Run.
func New(t *topology.Topology, opts Options) (*Plan, error) {
	if opts.Host == "" {
		name, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("%w: hostname: %w", ErrUsage, err)
		}
		opts.Host = name
	}
	h, err := t.LookupHost(opts.Host)
	if err != nil { // matches topology.ErrUnknownHost: the host (--host, else the hostname)
		return nil, fmt.Errorf("%w: %w (name it with --host)", ErrUsage, err)
	}
	if opts.Backup == "" {
		opts.Backup = BackupCron
	}
	if opts.Backup != BackupCron && opts.Backup != BackupNomad {
		return nil, fmt.Errorf("%w: backup scheduler %q: want cron or nomad", ErrUsage, opts.Backup)
	}
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.run == nil {
		opts.run = pcmk.Local{}
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.poll <= 0 {
		opts.poll = time.Second
	}
	if opts.cib == nil {
		dir := opts.CIBBackupDir
		if dir == "" {
			dir = cib.DefaultBackupDir
		}
		opts.cib = cib.NewLive(cib.LiveConfig{BackupDir: rooted(opts.Root, dir), Logger: opts.Logger})
	}
	var key []byte
	if opts.Authkey != "" {
		if err := checkAuthkeyFile(opts.Authkey); err != nil {
			return nil, fmt.Errorf("%w: --authkey: %w", ErrUsage, err)
		}
		var err error
		if key, err = os.ReadFile(opts.Authkey); err != nil {
			return nil, fmt.Errorf("%w: --authkey: %w", ErrUsage, err)
		}
	}
	if opts.Executable == "" { // installed as the alert agent, and as the OCF agents where a group uses them
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%w: find this executable: %w", ErrUsage, err)
		}
		opts.Executable = exe
	}
	p := &Plan{Host: h, opts: opts, topo: t, authkey: key}
	if g, ok := t.GroupOf(h.Name); ok {
		p.Group = &g
	}
	if p.corosyncConf, err = corosync.Render(t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if p.cibDoc, err = cib.Render(t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if p.backups, err = backupFiles(t, h.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if opts.Submit {
		if p.jobs, err = submitJobs(t, opts.Backup); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}
	p.steps = p.buildSteps()
	return p, nil
}

// Run looks at the host once (files, daemons, the live cluster: read only), then goes through
// the plan in order: each step decides from what was found and the desired state, and its
// action is applied unless the step is done already or this is a dry run. It stops at the
// first failing step; the error is a *StepError (matching ErrStepFailed and the step's own
// error). The report lists every step, those after a failure as not run.
func (p *Plan) Run(ctx context.Context) (*Report, error) {
	o := p.observe(ctx)
	r := &Report{Host: p.Host.Name, Cluster: p.topo.Corosync.ClusterName, DryRun: p.opts.DryRun}
	var failed error
	for _, s := range p.steps {
		res := Result{Step: s.name, What: s.what}
		if failed != nil {
			res.Status = StatusNotRun
		} else {
			res = p.runStep(ctx, s.decide(o), res)
			if res.Status == StatusFailed {
				failed = &StepError{Step: s.name, Err: res.Err}
				r.Failed = s.name
			}
		}
		r.Steps = append(r.Steps, res)
		if p.opts.Progress != nil {
			p.opts.Progress(res)
		}
	}
	r.Member = failed == nil && !p.opts.DryRun
	return r, failed
}

func (p *Plan) runStep(ctx context.Context, a action, res Result) Result {
	fail := func(err error) Result {
		res.Status, res.Err, res.Detail = StatusFailed, err, err.Error()
		return res
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if a.err != nil {
		return fail(a.err)
	}
	if a.todo == "" {
		res.Status = StatusOK
		return res
	}
	if p.opts.DryRun || a.do == nil {
		res.Status, res.Detail = StatusWouldChange, a.todo
		return res
	}
	p.opts.Logger.Info("applying", "step", res.Step, "change", a.todo)
	done, err := a.do(ctx)
	var nd nothingDone
	if errors.As(err, &nd) { // someone else made it so meanwhile
		res.Status, res.Detail = StatusOK, string(nd)
		return res
	}
	if err != nil {
		return fail(err)
	}
	res.Status, res.Detail = StatusChanged, done
	if a.wait {
		res.Status = StatusOK
	}
	return res
}

// nothingDone is returned by an apply that found, on looking again, nothing left to do.
type nothingDone string

func (n nothingDone) Error() string { return string(n) }

// rooted puts an absolute host path under root.
func rooted(root, path string) string {
	if root == "" {
		return path
	}
	return root + path
}

func (p *Plan) path(hostPath string) string { return rooted(p.opts.Root, hostPath) }

// usesAgent reports whether a group of the topology holds its VIP with agent.
func usesAgent(t *topology.Topology, agent string) bool {
	return slices.ContainsFunc(t.Groups, func(g topology.HostGroup) bool { return g.VIP.Agent == agent })
}

// submitJobs are the jobs --submit registers: every job of the topology (nomad.Jobs, as
// `vipctl nomad submit`), without the backup jobs when cron schedules the backups.
func submitJobs(t *topology.Topology, mode BackupMode) ([]*api.Job, error) {
	all, err := nomad.Jobs(t)
	if err != nil {
		return nil, err
	}
	if mode == BackupNomad {
		return all, nil
	}
	backupJobs := map[string]bool{}
	for _, c := range t.Clusters {
		backupJobs[c.BackupJobName()] = true
	}
	var jobs []*api.Job
	for _, j := range all {
		if j.ID == nil || !backupJobs[*j.ID] {
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}
