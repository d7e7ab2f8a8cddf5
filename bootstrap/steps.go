package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// requiredTools are the binaries a member runs or bootstrap calls.
var requiredTools = []string{"corosync", "corosync-cfgtool", "corosync-cmapctl", "pacemakerd", "cibadmin", "crm_mon", "crm_attribute", "crm_diff"}

// ErrConfEdited: /etc/corosync/corosync.conf is not a file vipctl wrote, and vipctl wrote one here before.
var ErrConfEdited = errors.New("corosync.conf was edited by hand")

// buildSteps lists the plan's steps in the order they run.
func (p *Plan) buildSteps() []step {
	steps := []step{
		{name: "tools", what: p.toolsWhat(), decide: p.decideTools},
	}
	if p.Group != nil {
		steps = append(steps, step{name: "nic", what: "the interface can carry VIP " + p.Group.VIP.Prefix.String() + " of group " + p.Group.Name, decide: p.decideNIC})
	}
	steps = append(steps,
		step{name: "membership", what: "this host is in no other cluster that has other members", decide: p.decideMembership},
		step{name: "authkey", what: "the cluster's key is at " + AuthkeyPath + " (0400)", decide: p.decideAuthkey},
		step{name: "corosync.conf", what: CorosyncConfPath + " is the topology's", decide: p.decideConf},
	)
	if usesAgent(p.topo, topology.AgentVipctl) {
		steps = append(steps, step{name: "agent", what: "the OCF agent ocf:vipctl:vip is installed at " + vip.AgentPath, decide: p.decideAgent(vip.AgentPath)})
	}
	if p.Group != nil && len(p.topo.ClustersOf(p.Group.Name)) > 0 {
		steps = append(steps, step{name: "health-agent", what: "the OCF agent ocf:vipctl:health is installed at " + vip.HealthAgentPath,
			decide: p.decideAgent(vip.HealthAgentPath)})
	}
	steps = append(steps, step{name: "alert", what: "the alert agent is installed at " + journal.AlertPath + " and user hacluster owns " + filepath.Dir(journal.DefaultPath), decide: p.decideAlert})
	steps = append(steps,
		step{name: "corosync", what: "Corosync runs with this configuration", decide: p.decideCorosync},
		step{name: "local-cib", what: "no CIB of another cluster waits in " + LocalCIBDir, decide: p.decideLocalCIB},
		step{name: "pacemaker", what: "Pacemaker runs", decide: p.decidePacemaker},
		step{name: "quorum", what: p.Host.Name + " is online in a quorate partition", decide: p.decideQuorum},
		step{name: "cib", what: "the live CIB holds vipctl's resources, constraints and properties", decide: p.decideCIB},
	)
	if p.Group != nil {
		steps = append(steps, step{name: "vip", what: "VIP " + p.Group.VIP.Prefix.String() + " (" + p.Group.VIPID() + ") is started on one host", decide: p.decideVIP})
	}
	for _, b := range p.backups {
		steps = append(steps, p.backupStep(b))
	}
	if p.opts.Submit {
		steps = append(steps, step{name: "nomad", what: "the Nomad jobs are registered", decide: p.decideSubmit})
	}
	return steps
}

// refuse is the action of a step that fails.
func refuse(err error) action { return action{err: err} }

func (p *Plan) decideTools(o *hostState) action {
	if len(o.missingTools) > 0 {
		return refuse(fmt.Errorf("%w: %s not found on PATH (Debian: apt-get install corosync pacemaker pacemaker-cli-utils)",
			ErrMissingTool, strings.Join(o.missingTools, ", ")))
	}
	if o.ipaddr2 != nil {
		return refuse(fmt.Errorf("%w: %s (ocf:heartbeat:IPaddr2; Debian: apt-get install resource-agents): %w", ErrMissingTool, IPaddr2Path, o.ipaddr2))
	}
	if len(o.fenceAgents) > 0 {
		// One line, every device named, each error wrapped (fs.ErrNotExist for a missing file).
		parts, args := []string{}, []any{ErrMissingTool}
		for _, m := range o.fenceAgents {
			parts = append(parts, "fence agent %s of fence %q in %s, which Pacemaker runs on this host to fence %s: %w")
			args = append(args, m.fence.Agent, m.fence.Name, p.topo.File, m.fence.Host, m.err)
		}
		return refuse(fmt.Errorf("%w: "+strings.Join(parts, "; ")+" (Debian: apt-get install fence-agents)", args...))
	}
	return action{}
}

// toolsWhat says what the tools step makes sure of.
func (p *Plan) toolsWhat() string {
	var agents []string
	for _, f := range p.topo.Fences {
		if _, ok := pcmk.FenceAgentPath(f.Agent); ok && f.Host != p.Host.Name && !slices.Contains(agents, f.Agent) {
			agents = append(agents, f.Agent)
		}
	}
	if len(agents) == 0 {
		return "Corosync and Pacemaker are installed"
	}
	return "Corosync, Pacemaker and fence agent " + strings.Join(agents, ", ") + " are installed"
}

func (p *Plan) decideNIC(o *hostState) action {
	if o.nicErr != nil {
		return refuse(fmt.Errorf("NIC check: %w", o.nicErr))
	}
	if !o.nic.Ready() {
		return refuse(fmt.Errorf("%w: %s (vipctl check nic shows the details)", ErrNICNotReady, strings.Join(o.nic.Problems, "; ")))
	}
	return action{}
}

// checkNICHere is `vipctl check nic` on this host's own network namespace.
func checkNICHere(ctx context.Context, prefix netip.Prefix, nic string) (vip.NICCheck, error) {
	h, err := vip.OpenHost("")
	if err != nil {
		return vip.NICCheck{}, err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return vip.NICCheck{}, fmt.Errorf("netlink: %w", err)
	}
	return vip.CheckNIC(ctx, h, prefix, nic)
}

// checkAuthkeyFile accepts a file that libknet would accept as a key.
func checkAuthkeyFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() < minAuthkey || st.Size() > maxAuthkey {
		return fmt.Errorf("%s has %d bytes; a corosync key has %d to %d (corosync-keygen writes 256)", path, st.Size(), minAuthkey, maxAuthkey)
	}
	return nil
}

// otherCluster refuses a Corosync that runs another cluster with other members: only a lone
// Corosync (such as the one-node cluster the Debian package starts) may be restarted into this
// cluster. A member of a real cluster is left alone: the operator decides.
func (p *Plan) otherCluster(c corosyncState) error {
	if c.membersErr != nil {
		return c.membersErr
	}
	if c.members > 1 {
		return fmt.Errorf("%w: Corosync here runs cluster %q with %d members, the topology's cluster is %q; "+
			"bootstrap restarts only a lone Corosync of another cluster. If this host is to leave that cluster, "+
			"stop it (systemctl stop pacemaker corosync) and run bootstrap again", ErrOtherCluster, c.cluster, c.members, p.topo.Corosync.ClusterName)
	}
	return nil
}

// decideMembership refuses, before anything is written, a host whose running Corosync is a
// member of another cluster with other members.
func (p *Plan) decideMembership(o *hostState) action {
	c := o.corosync
	switch {
	case c.err != nil:
		return refuse(c.err)
	case !c.running || c.cluster == p.topo.Corosync.ClusterName:
		return action{}
	}
	return refuse(p.otherCluster(c))
}

// The authkey rules: the key is never generated here (a second host with a key of its own
// would form a cluster of its own); an installed key is never replaced by another one (the
// host would leave the cluster it is in at its next start).
func (p *Plan) decideAuthkey(o *hostState) action {
	want := p.authkey
	if p.opts.Authkey == "" {
		if o.authkey.err == nil && !o.authkey.exists {
			return refuse(fmt.Errorf("%w: %s does not exist and no --authkey was given: copy the cluster's key from a member "+
				"(for the first host of a new cluster, make one with corosync-keygen -k FILE) and pass --authkey FILE", ErrNoAuthkey, AuthkeyPath))
		}
		want = o.authkey.data // only the mode can differ
	}
	state, diff, err := compare(o.authkey, want, 0o400)
	switch {
	case err != nil:
		return refuse(err)
	case state == fileSame:
		return action{}
	case state == fileContent:
		return refuse(fmt.Errorf("%w: %s holds another key than %s; vipctl does not replace a cluster key "+
			"(if this host is in no cluster yet, remove the old key and run bootstrap again)", ErrAuthkeyMismatch, AuthkeyPath, p.opts.Authkey))
	case state == fileMissing:
		diff = "install it from " + p.opts.Authkey
	}
	return action{todo: diff, do: func(context.Context) (string, error) {
		if _, err := writeFile(p.path(AuthkeyPath), want, 0o400, false, p.opts.now()); err != nil {
			return "", fmt.Errorf("install the authkey: %w", err)
		}
		return "installed " + AuthkeyPath + " (0400)", nil
	}}
}

// confDiff says how the host's corosync.conf differs from the topology's ("" when it does not).
func (p *Plan) confDiff(o *hostState) (string, error) {
	_, diff, err := compare(o.conf, p.corosyncConf, 0o644)
	return diff, err
}

// decideConf writes the topology's corosync.conf. A file vipctl did not write is replaced
// (and kept) only where vipctl never wrote one: that is the package's default, or a host
// vipctl meets for the first time. Where vipctl wrote one before, a file of other content was
// edited by hand: bootstrap refuses rather than lose the edit.
func (p *Plan) decideConf(o *hostState) action {
	diff, err := p.confDiff(o)
	switch {
	case err != nil:
		return refuse(err)
	case diff == "":
		return action{}
	case o.written.err != nil:
		return refuse(fmt.Errorf("read %s: %w", confRecordPath, o.written.err))
	case o.conf.exists && len(o.written.digests) > 0 && !o.written.wrote(o.conf.data):
		return refuse(fmt.Errorf("%w: %s is none of the files vipctl wrote here (their SHA-256 are in %s); "+
			"put the change into the topology, or move the file aside yourself, and run bootstrap again",
			ErrConfEdited, CorosyncConfPath, confRecordPath))
	}
	return action{todo: "write it (" + diff + ")", do: func(context.Context) (string, error) {
		// The digest first: a crash between the two leaves a record naming one file more,
		// never a file vipctl wrote that the record does not name.
		if _, err := writeFile(p.path(confRecordPath), o.written.with(p.corosyncConf), 0o644, false, p.opts.now()); err != nil {
			return "", fmt.Errorf("write %s: %w", confRecordPath, err)
		}
		backup, err := writeFile(p.path(CorosyncConfPath), p.corosyncConf, 0o644, true, p.opts.now())
		if err != nil {
			return "", fmt.Errorf("write %s: %w", CorosyncConfPath, err)
		}
		if backup != "" {
			return "written; the old one kept as " + strings.TrimPrefix(backup, p.opts.Root), nil
		}
		return "written", nil
	}}
}

// decideAgent installs this executable as the OCF agent at path.
func (p *Plan) decideAgent(path string) func(o *hostState) action {
	return func(o *hostState) action {
		a := o.agents[path]
		switch {
		case a.err != nil:
			return refuse(a.err)
		case a.same:
			return action{}
		}
		return action{todo: "install " + p.opts.Executable + " as " + path, do: func(context.Context) (string, error) {
			if err := vip.Install(p.opts.Executable, p.path(path)); err != nil {
				return "", err
			}
			return "installed " + path, nil
		}}
	}
}

// decideAlert: the alert agent is this executable, mode 0755, and the journal's directory is
// owned by hacluster (Pacemaker runs alert agents as that user).
func (p *Plan) decideAlert(o *hostState) action {
	switch {
	case o.alert.err != nil:
		return refuse(o.alert.err)
	case o.alert.same:
		return action{}
	}
	dir := filepath.Dir(journal.DefaultPath)
	return action{todo: "install " + p.opts.Executable + " as " + journal.AlertPath + ", give " + dir + " to hacluster", do: func(context.Context) (string, error) {
		if err := journal.Install(p.opts.Executable, p.path(journal.AlertPath), p.path(journal.DefaultPath)); err != nil {
			return "", err
		}
		return "installed " + journal.AlertPath, nil
	}}
}

// corosyncChange is what the corosync step does.
type corosyncChange int

const (
	corosyncKeep    corosyncChange = iota // runs this cluster with this configuration
	corosyncStart                         // not running: systemctl start corosync
	corosyncReload                        // runs this cluster, corosync.conf changes: corosync-cfgtool -R
	corosyncRestart                       // runs a lone Corosync of another cluster: stop pacemaker, restart corosync
)

// corosyncPlan decides the corosync step from what was found and the topology's corosync.conf.
func (p *Plan) corosyncPlan(o *hostState) (corosyncChange, error) {
	c := o.corosync
	if c.err != nil {
		return 0, c.err
	}
	if !c.running {
		return corosyncStart, nil
	}
	diff, err := p.confDiff(o)
	if err != nil {
		return 0, err
	}
	if diff == "" {
		return corosyncKeep, nil
	}
	if c.cluster != p.topo.Corosync.ClusterName {
		if err := p.otherCluster(c); err != nil {
			return 0, err
		}
		return corosyncRestart, nil
	}
	return corosyncReload, nil
}

func (p *Plan) decideCorosync(o *hostState) action {
	change, err := p.corosyncPlan(o)
	if err != nil {
		return refuse(err)
	}
	run := func(ctx context.Context, args ...string) error {
		_, err := p.run(ctx, args[0], args[1:]...)
		return err
	}
	switch change {
	case corosyncStart:
		return action{todo: "start it: systemctl start corosync", do: func(ctx context.Context) (string, error) {
			if err := run(ctx, "systemctl", "start", "corosync"); err != nil {
				return "", err
			}
			return "started corosync", nil
		}}
	case corosyncReload:
		return action{todo: "reload the changed configuration on every member: corosync-cfgtool -R", do: func(ctx context.Context) (string, error) {
			if err := run(ctx, "corosync-cfgtool", "-R"); err != nil {
				return "", err
			}
			return "reloaded the configuration (corosync-cfgtool -R)", nil
		}}
	case corosyncRestart:
		// This host runs a lone Corosync of another cluster (such as the one the Debian
		// package starts with its default corosync.conf): it holds nothing of this cluster.
		name := o.corosync.cluster
		return action{todo: fmt.Sprintf("restart Corosync and Pacemaker: it runs cluster %q, the topology's is %q", name, p.topo.Corosync.ClusterName),
			do: func(ctx context.Context) (string, error) {
				if err := run(ctx, "systemctl", "stop", "pacemaker"); err != nil {
					return "", err
				}
				if err := run(ctx, "systemctl", "restart", "corosync"); err != nil {
					return "", err
				}
				return fmt.Sprintf("restarted corosync (it ran cluster %q); stopped pacemaker", name), nil
			}}
	}
	return action{}
}

// pacemakerStops reports whether Pacemaker is (or, dry run, would be) not running once the
// corosync step is done: it does not run now, or the corosync step stops it.
func (p *Plan) pacemakerStops(o *hostState) (bool, error) {
	if o.pacemaker.err != nil {
		return false, o.pacemaker.err
	}
	change, err := p.corosyncPlan(o)
	if err != nil {
		return false, err
	}
	return !o.pacemaker.running || change == corosyncRestart, nil
}

// A stopped Pacemaker starts from the CIB on its disk. When that CIB is another cluster's
// (the Debian package starts a one-node cluster "debian" with a node "node1"), it would bring
// that cluster's nodes and settings into this one: it is moved aside, as pcs cluster setup
// does. The CIB of a running Pacemaker, or of this cluster, is never touched.
func (p *Plan) decideLocalCIB(o *hostState) action {
	name := o.localCIB
	if o.localErr != nil {
		return refuse(o.localErr)
	}
	if name == "" || name == p.topo.Corosync.ClusterName {
		return action{}
	}
	stops, err := p.pacemakerStops(o)
	if err != nil {
		return refuse(err)
	}
	if !stops {
		return action{}
	}
	return action{todo: fmt.Sprintf("move the CIB of cluster %q aside", name), do: p.moveLocalCIB}
}

func (p *Plan) moveLocalCIB(context.Context) (string, error) {
	dir := p.path(LocalCIBDir)
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	old := dir + ".vipctl-" + p.opts.now().UTC().Format("20060102T150405Z")
	if err := os.Rename(dir, old); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, st.Mode().Perm()); err != nil {
		return "", err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dir, int(sys.Uid), int(sys.Gid)); err != nil {
			return "", err
		}
	}
	return "moved to " + strings.TrimPrefix(old, p.opts.Root), nil
}

func (p *Plan) decidePacemaker(o *hostState) action {
	stops, err := p.pacemakerStops(o)
	if err != nil {
		return refuse(err)
	}
	if !stops {
		return action{}
	}
	todo := "start it: systemctl start pacemaker"
	if change, _ := p.corosyncPlan(o); change != corosyncKeep && change != corosyncReload {
		todo = "start it (after Corosync): systemctl start pacemaker"
	}
	return action{todo: todo, do: func(ctx context.Context) (string, error) {
		if _, err := p.run(ctx, "systemctl", "start", "pacemaker"); err != nil {
			return "", err
		}
		return "started pacemaker", nil
	}}
}

// memberNow reports whether the host was found a member and the steps before the quorum
// step leave its daemons running as they are.
func (p *Plan) memberNow(o *hostState) bool {
	stops, err := p.pacemakerStops(o)
	return err == nil && !stops && o.pacemaker.member == ""
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (p *Plan) decideQuorum(o *hostState) action {
	if p.memberNow(o) {
		return action{}
	}
	why := o.pacemaker.member
	if why == "" {
		why = "Corosync and Pacemaker start"
	}
	return action{wait: true, todo: fmt.Sprintf("wait up to %s for %s to be online with quorum (now: %s)", p.opts.Wait, p.Host.Name, why),
		do: func(ctx context.Context) (string, error) {
			took, why, err := p.waitFor(ctx, p.live(p.memberWhy))
			if err != nil {
				return "", fmt.Errorf("%w after %s: %s", ErrNotMember, p.opts.Wait, why)
			}
			return fmt.Sprintf("online with quorum after %s", took), nil
		}}
}

// live asks crm_mon again, for a wait, and says with why what is still missing.
func (p *Plan) live(why func(context.Context, pcmk.Status) string) func(context.Context) string {
	return func(ctx context.Context) string {
		running, st, err := p.pacemakerStatus(ctx)
		switch {
		case err != nil:
			return err.Error()
		case !running:
			return "Pacemaker does not answer yet"
		}
		return why(ctx, st)
	}
}

// waitFor polls why, which names what is still missing ("" once nothing is), every
// opts.poll for at most opts.Wait. It returns how long that took, or the last reason.
func (p *Plan) waitFor(ctx context.Context, why func(context.Context) string) (time.Duration, string, error) {
	start := p.opts.now()
	ctx, cancel := context.WithTimeout(ctx, p.opts.Wait)
	defer cancel()
	var last string
	err := wait.Until(ctx, p.opts.poll, func() (bool, error) {
		last = why(ctx)
		return last == "", nil
	})
	return p.opts.now().Sub(start).Round(100 * time.Millisecond), last, err
}

func (p *Plan) decideCIB(o *hostState) action {
	if !p.memberNow(o) {
		return action{todo: "apply the rendered CIB once the cluster is up", do: p.applyCIB}
	}
	if o.cibErr != nil {
		return refuse(removedNodeHint(o.cibErr))
	}
	if o.cib.Unchanged() {
		return action{}
	}
	return action{todo: fmt.Sprintf("%s to the live CIB %s", countChanges(len(o.cib.Changes)), o.cib.Before), do: p.applyCIB}
}

func (p *Plan) applyCIB(ctx context.Context) (string, error) {
	res, err := p.opts.cib.Apply(ctx, p.topo, p.cibDoc, cib.ApplyOptions{})
	if err != nil {
		return "", removedNodeHint(err)
	}
	if res.Unchanged() {
		return "", nothingDone(fmt.Sprintf("another host applied it meanwhile (CIB %s)", res.Before))
	}
	return fmt.Sprintf("applied %s: CIB %s → %s; the old one kept as %s", countChanges(len(res.Changes)), res.Before, res.After, res.Backup), nil
}

func (p *Plan) decideVIP(o *hostState) action {
	if p.memberNow(o) && o.cibErr == nil && o.cib.Unchanged() && o.pacemaker.vip == "" {
		return action{}
	}
	todo := "wait for the cluster to start it"
	if o.pacemaker.vip != "" && p.memberNow(o) {
		todo = fmt.Sprintf("wait up to %s: %s", p.opts.Wait, o.pacemaker.vip)
	}
	return action{wait: true, todo: todo, do: func(ctx context.Context) (string, error) {
		took, why, err := p.waitFor(ctx, p.live(func(_ context.Context, st pcmk.Status) string { return p.vipWhy(st) }))
		if err != nil {
			return "", fmt.Errorf("%w after %s: %s", ErrVIPNotStarted, p.opts.Wait, why)
		}
		return fmt.Sprintf("started after %s", took), nil
	}}
}

// removedNodeHint says, to a refusal of a CIB that still names a node the topology lacks,
// how a host taken out of the topology leaves Pacemaker (docs/bootstrap.md, removing a host).
func removedNodeHint(err error) error {
	if !errors.Is(err, cib.ErrUnknownNode) {
		return err
	}
	return fmt.Errorf("%w; if that host was taken out of the topology: once it is stopped and every member runs the "+
		"corosync.conf without it (bootstrap writes and reloads it before this step), forget it with crm_node --force --remove NAME "+
		"and run bootstrap again", err)
}

func countChanges(n int) string {
	if n == 1 {
		return "1 change"
	}
	return fmt.Sprintf("%d changes", n)
}

// backupFile is one host file of a cluster's cron backup.
type backupFile struct {
	cluster string
	path    string // on the host
	mode    fs.FileMode
	data    []byte
	cron    bool // the cron entry (absent when Nomad schedules the backups)
}

// backupFiles are pgsql_backup.sh and cron_backup of every cluster with backups that runs on
// the host's group, at the paths the rendered cron entry names.
func backupFiles(t *topology.Topology, host string) ([]backupFile, error) {
	g, ok := t.GroupOf(host)
	if !ok {
		return nil, nil
	}
	var out []backupFile
	for _, c := range t.ClustersOf(g.Name) {
		if !c.Backup.Enabled {
			continue
		}
		set, err := backup.Render(t, c)
		if err != nil {
			return nil, err
		}
		out = append(out,
			backupFile{cluster: c.Name, path: backup.HostScriptPath(c.Name), mode: set.HostScript.Mode, data: set.HostScript.Data},
			backupFile{cluster: c.Name, path: backup.HostCronPath(c.Name), mode: set.Cron.Mode, data: set.Cron.Data, cron: true})
	}
	return out, nil
}

func (p *Plan) backupStep(b backupFile) step {
	s := step{name: "backup-script:" + b.cluster}
	if b.cron {
		s.name = "backup-cron:" + b.cluster
	}
	if p.opts.Backup == BackupNomad {
		s.what = "no " + b.path + " (the Nomad job backup-" + b.cluster + " schedules the backups of cluster " + b.cluster + ")"
		s.decide = func(o *hostState) action {
			if f := o.backups[b.path]; !f.exists && f.err == nil {
				return action{}
			}
			return action{todo: "remove " + b.path, do: func(context.Context) (string, error) {
				if err := os.Remove(p.path(b.path)); err != nil {
					return "", err
				}
				return "removed " + b.path, nil
			}}
		}
		return s
	}
	s.what = fmt.Sprintf("%s of cluster %s is installed (%04o)", b.path, b.cluster, b.mode)
	s.decide = func(o *hostState) action {
		_, diff, err := compare(o.backups[b.path], b.data, b.mode)
		switch {
		case err != nil:
			return refuse(err)
		case diff == "":
			return action{}
		}
		return action{todo: "write it (" + diff + ")", do: func(context.Context) (string, error) {
			backup, err := writeFile(p.path(b.path), b.data, b.mode, true, p.opts.now())
			if err != nil {
				return "", err
			}
			if backup != "" {
				return "written; the old one kept as " + strings.TrimPrefix(backup, p.opts.Root), nil
			}
			return "written", nil
		}}
	}
	return s
}

// nomadJobs returns the client --submit uses, made once.
func (p *Plan) nomadJobs() (jobClient, error) {
	if p.opts.jobs != nil {
		return p.opts.jobs, nil
	}
	mk := p.opts.Nomad
	if mk == nil {
		mk = func() (*api.Client, error) { return api.NewClient(api.DefaultConfig()) }
	}
	client, err := mk()
	if err != nil {
		return nil, fmt.Errorf("nomad client: %w", err)
	}
	p.opts.jobs = client.Jobs()
	return p.opts.jobs, nil
}

func (p *Plan) decideSubmit(o *hostState) action {
	switch {
	case o.submitErr != nil:
		return refuse(o.submitErr)
	case len(o.todoJobs) == 0:
		return action{}
	}
	return action{todo: "register " + strings.Join(o.todoJobs, ", "), do: func(ctx context.Context) (string, error) {
		client, err := p.nomadJobs()
		if err != nil {
			return "", err
		}
		done, err := nomad.Submit(ctx, o.submit, client)
		names := make([]string, len(done))
		for i, s := range done {
			names[i] = s.Job
		}
		if err != nil {
			if len(names) > 0 {
				return "", fmt.Errorf("%w (registered before it: %s)", err, strings.Join(names, ", "))
			}
			return "", err
		}
		return "registered " + strings.Join(names, ", "), nil
	}}
}
