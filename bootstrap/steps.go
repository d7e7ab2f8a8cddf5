package bootstrap

import (
	"bytes"
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

	"github.com/beevik/etree"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/pcmkhost"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// requiredTools are the binaries a member runs or bootstrap calls.
var requiredTools = []string{"corosync", "corosync-cfgtool", "corosync-cmapctl", "pacemakerd", "cibadmin", "crm_mon", "crm_attribute", "crm_diff"}

// buildSteps lists the plan's steps in the order they run.
func (p *Plan) buildSteps() []step {
	steps := []step{
		{name: "tools", what: "Corosync and Pacemaker are installed", check: p.checkTools},
	}
	if p.Group != nil {
		steps = append(steps, step{name: "nic", what: "the interface can carry VIP " + p.Group.VIP.Prefix.String() + " of group " + p.Group.Name, check: p.checkNIC})
	}
	steps = append(steps,
		step{name: "membership", what: "this host is in no other cluster that has other members", check: p.checkMembership},
		step{name: "authkey", what: "the cluster's key is at " + AuthkeyPath + " (0400)", check: p.checkAuthkey, apply: p.applyAuthkey},
		step{name: "corosync.conf", what: CorosyncConfPath + " is the topology's", check: p.checkConf, apply: p.applyConf},
	)
	if usesAgent(p.topo, topology.AgentVipctl) {
		steps = append(steps, step{name: "agent", what: "the OCF agent ocf:vipctl:vip is installed at " + AgentPath,
			check: p.checkAgent(AgentPath), apply: p.applyAgent(AgentPath)})
	}
	if p.Group != nil && len(p.topo.ClustersOf(p.Group.Name)) > 0 {
		steps = append(steps, step{name: "health-agent", what: "the OCF agent ocf:vipctl:health is installed at " + HealthAgentPath,
			check: p.checkAgent(HealthAgentPath), apply: p.applyAgent(HealthAgentPath)})
	}
	steps = append(steps, step{name: "alert", what: "the alert agent is installed at " + journal.AlertPath + " and user hacluster owns " + filepath.Dir(journal.DefaultPath), check: p.checkAlert, apply: p.applyAlert})
	steps = append(steps,
		step{name: "corosync", what: "Corosync runs with this configuration", check: p.checkCorosync, apply: p.applyCorosync},
		step{name: "local-cib", what: "no CIB of another cluster waits in " + LocalCIBDir, check: p.checkLocalCIB, apply: p.applyLocalCIB},
		step{name: "pacemaker", what: "Pacemaker runs", check: p.checkPacemaker, apply: p.applyPacemaker},
		step{name: "quorum", what: p.Host.Name + " is online in a quorate partition", check: p.checkMember, apply: p.waitMember, wait: true},
		step{name: "cib", what: "the live CIB holds vipctl's resources, constraints and properties", check: p.checkCIB, apply: p.applyCIB},
	)
	if p.Group != nil {
		steps = append(steps, step{name: "vip", what: "VIP " + p.Group.VIP.Prefix.String() + " (" + cib.VIPID(p.Group.Name) + ") is started on one host", check: p.checkVIP, apply: p.waitVIP, wait: true})
	}
	for _, b := range p.backups {
		steps = append(steps, p.backupStep(b))
	}
	if p.opts.Submit {
		steps = append(steps, step{name: "nomad", what: "the Nomad jobs are registered", check: p.checkSubmit, apply: p.applySubmit})
	}
	return steps
}

func (p *Plan) checkTools(context.Context) (string, error) {
	var missing []string
	for _, t := range requiredTools {
		if _, err := p.opts.run.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: %s not found on PATH (Debian: apt-get install corosync pacemaker pacemaker-cli-utils)",
			ErrMissingTool, strings.Join(missing, ", "))
	}
	if usesAgent(p.topo, topology.AgentIPaddr2) {
		if _, err := os.Stat(p.path(IPaddr2Path)); err != nil {
			return "", fmt.Errorf("%w: %s (ocf:heartbeat:IPaddr2; Debian: apt-get install resource-agents): %w", ErrMissingTool, IPaddr2Path, err)
		}
	}
	return "", nil
}

func (p *Plan) checkNIC(ctx context.Context) (string, error) {
	check := p.opts.CheckNIC
	if check == nil {
		check = checkNICHere
	}
	c, err := check(ctx, p.Group.VIP.Prefix, p.topo.NICFor(p.Host.Name))
	if err != nil {
		return "", fmt.Errorf("NIC check: %w", err)
	}
	if !c.Ready() {
		return "", fmt.Errorf("%w: %s (vipctl check nic shows the details)", ErrNICNotReady, strings.Join(c.Problems, "; "))
	}
	return "", nil
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

// The authkey rules: the key is never generated here (a second host with a key of its own
// would form a cluster of its own); an installed key is never replaced by another one (the
// host would leave the cluster it is in at its next start).
func (p *Plan) checkAuthkey(context.Context) (string, error) {
	dest := p.path(AuthkeyPath)
	if p.opts.Authkey == "" {
		if _, err := os.Stat(dest); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: %s does not exist and no --authkey was given: copy the cluster's key from a member "+
				"(for the first host of a new cluster, make one with corosync-keygen -k FILE) and pass --authkey FILE", ErrNoAuthkey, AuthkeyPath)
		}
		have, err := os.ReadFile(dest)
		if err != nil {
			return "", err
		}
		_, diff, err := fileDiff(dest, have, 0o400) // only the mode can differ
		return diff, err
	}
	want, err := os.ReadFile(p.opts.Authkey)
	if err != nil {
		return "", err
	}
	state, diff, err := fileDiff(dest, want, 0o400)
	switch {
	case err != nil:
		return "", err
	case state == fileContent:
		return "", fmt.Errorf("%w: %s holds another key than %s; vipctl does not replace a cluster key "+
			"(if this host is in no cluster yet, remove the old key and run bootstrap again)", ErrAuthkeyMismatch, AuthkeyPath, p.opts.Authkey)
	case state == fileMissing:
		return "install it from " + p.opts.Authkey, nil
	}
	return diff, nil
}

func (p *Plan) applyAuthkey(context.Context) (string, error) {
	dest := p.path(AuthkeyPath)
	var key []byte
	var err error
	if p.opts.Authkey != "" {
		key, err = os.ReadFile(p.opts.Authkey)
	} else {
		key, err = os.ReadFile(dest)
	}
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(p.path("/etc/corosync"), 0o755); err != nil {
		return "", err
	}
	if _, err := writeFile(dest, key, 0o400, false, p.opts.now()); err != nil {
		return "", fmt.Errorf("install the authkey: %w", err)
	}
	return "installed " + AuthkeyPath + " (0400)", nil
}

func (p *Plan) checkConf(context.Context) (string, error) {
	_, diff, err := fileDiff(p.path(CorosyncConfPath), p.corosyncConf, 0o644)
	if err != nil {
		return "", err
	}
	if diff != "" {
		p.state.confChanged = true
		return "write it (" + diff + ")", nil
	}
	return "", nil
}

func (p *Plan) applyConf(context.Context) (string, error) {
	backup, err := writeFile(p.path(CorosyncConfPath), p.corosyncConf, 0o644, true, p.opts.now())
	if err != nil {
		return "", fmt.Errorf("write %s: %w", CorosyncConfPath, err)
	}
	if backup != "" {
		return "written; the old one kept as " + strings.TrimPrefix(backup, p.opts.Root), nil
	}
	return "written", nil
}

// checkAgent checks that the agent at path is this executable, mode 0755.
func (p *Plan) checkAgent(path string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		same, err := sameContent(p.opts.Executable, p.path(path))
		if err != nil {
			return "", fmt.Errorf("compare the agent with %s: %w", p.opts.Executable, err)
		}
		if same {
			st, err := os.Stat(p.path(path))
			if err != nil {
				return "", err
			}
			if st.Mode().Perm() == 0o755 {
				return "", nil
			}
		}
		return "install " + p.opts.Executable + " as " + path, nil
	}
}

// checkAlert: the alert agent is this executable, mode 0755, and the journal's directory is
// owned by hacluster (Pacemaker runs alert agents as that user).
func (p *Plan) checkAlert(context.Context) (string, error) {
	same, err := sameContent(p.opts.Executable, p.path(journal.AlertPath))
	if err != nil {
		return "", fmt.Errorf("compare the alert agent with %s: %w", p.opts.Executable, err)
	}
	dir := filepath.Dir(journal.DefaultPath)
	if same {
		agent, aerr := os.Stat(p.path(journal.AlertPath))
		jdir, derr := os.Stat(p.path(dir))
		if aerr == nil && derr == nil && agent.Mode().Perm() == 0o755 && journal.OwnedByHacluster(jdir) {
			return "", nil
		}
	}
	return "install " + p.opts.Executable + " as " + journal.AlertPath + ", give " + dir + " to hacluster", nil
}

func (p *Plan) applyAlert(context.Context) (string, error) {
	if err := journal.Install(p.opts.Executable, p.path(journal.AlertPath), p.path(journal.DefaultPath)); err != nil {
		return "", err
	}
	return "installed " + journal.AlertPath, nil
}

// applyAgent installs this executable as the agent at path.
func (p *Plan) applyAgent(path string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		if err := vip.Install(p.opts.Executable, p.path(path)); err != nil {
			return "", err
		}
		return "installed " + path, nil
	}
}

// running reports whether a daemon of this host answers its tool. A process list is not asked:
// pidof also sees daemons of other PID namespaces on the machine (containers, the lab's hosts),
// which this host cannot talk to. A daemon that is still starting counts as not running; its
// systemctl start is then a no-op.
func (p *Plan) running(ctx context.Context, probe ...string) bool {
	_, err := p.opts.run.Run(ctx, probe[0], probe[1:]...)
	return err == nil
}

// liveClusterName is the cluster_name the running Corosync was started with. It never guesses:
// a wrong answer would restart a member of this cluster.
func (p *Plan) liveClusterName(ctx context.Context) (string, error) {
	out, err := p.opts.run.Run(ctx, "corosync-cmapctl", "-g", "totem.cluster_name")
	if err != nil {
		return "", fmt.Errorf("which cluster the running Corosync is in: %w", err)
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(out)), " = ")
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("which cluster the running Corosync is in: corosync-cmapctl said %q", out)
	}
	return strings.TrimSpace(v), nil
}

// liveMembers counts the members the running Corosync has joined with (this host included).
func (p *Plan) liveMembers(ctx context.Context) (int, error) {
	out, err := p.opts.run.Run(ctx, "corosync-cmapctl", "-b", "runtime.members")
	if err != nil {
		return 0, fmt.Errorf("the running Corosync's members: %w", err)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if ok && strings.HasSuffix(key, ".status (str)") && value == "joined" {
			n++
		}
	}
	return n, nil
}

// otherCluster is called when Corosync runs a cluster other than the topology's: only a lone
// Corosync (such as the one-node cluster the Debian package starts) may be restarted into
// this cluster. A member of a real cluster is left alone: the operator decides.
func (p *Plan) otherCluster(ctx context.Context, name string) error {
	n, err := p.liveMembers(ctx)
	if err != nil {
		return err
	}
	if n > 1 {
		return fmt.Errorf("%w: Corosync here runs cluster %q with %d members, the topology's cluster is %q; "+
			"bootstrap restarts only a lone Corosync of another cluster. If this host is to leave that cluster, "+
			"stop it (systemctl stop pacemaker corosync) and run bootstrap again", ErrOtherCluster, name, n, p.topo.Corosync.ClusterName)
	}
	return nil
}

// checkMembership refuses, before anything is written, a host whose running Corosync is a
// member of another cluster with other members.
func (p *Plan) checkMembership(ctx context.Context) (string, error) {
	if !p.running(ctx, "corosync-cfgtool", "-s") {
		return "", nil
	}
	name, err := p.liveClusterName(ctx)
	if err != nil || name == p.topo.Corosync.ClusterName {
		return "", err
	}
	return "", p.otherCluster(ctx, name)
}

func (p *Plan) checkCorosync(ctx context.Context) (string, error) {
	if !p.running(ctx, "corosync-cfgtool", "-s") {
		p.state.clusterPending = true
		return "start it: systemctl start corosync", nil
	}
	if !p.state.confChanged {
		return "", nil
	}
	name, err := p.liveClusterName(ctx)
	if err != nil {
		return "", err
	}
	if name != p.topo.Corosync.ClusterName {
		if err := p.otherCluster(ctx, name); err != nil {
			return "", err
		}
		p.state.clusterPending = true
		p.state.pacemakerStops = true
		return fmt.Sprintf("restart Corosync and Pacemaker: it runs cluster %q, the topology's is %q", name, p.topo.Corosync.ClusterName), nil
	}
	return "reload the changed configuration on every member: corosync-cfgtool -R", nil
}

func (p *Plan) applyCorosync(ctx context.Context) (string, error) {
	run := func(args ...string) error {
		_, err := p.opts.run.Run(ctx, args[0], args[1:]...)
		return err
	}
	if !p.running(ctx, "corosync-cfgtool", "-s") {
		if err := run("systemctl", "start", "corosync"); err != nil {
			return "", err
		}
		return "started corosync", nil
	}
	name, err := p.liveClusterName(ctx)
	if err != nil {
		return "", err
	}
	if name != p.topo.Corosync.ClusterName {
		// This host runs a lone Corosync of another cluster (such as the one the Debian package
		// starts with its default corosync.conf): it holds nothing of this cluster.
		if err := p.otherCluster(ctx, name); err != nil {
			return "", err
		}
		if err := run("systemctl", "stop", "pacemaker"); err != nil {
			return "", err
		}
		if err := run("systemctl", "restart", "corosync"); err != nil {
			return "", err
		}
		p.state.restarted = true
		return fmt.Sprintf("restarted corosync (it ran cluster %q); stopped pacemaker", name), nil
	}
	if err := run("corosync-cfgtool", "-R"); err != nil {
		return "", err
	}
	return "reloaded the configuration (corosync-cfgtool -R)", nil
}

// localCIBCluster returns the cluster-name recorded in the CIB Pacemaker keeps on disk
// ("" when there is none, or it names no cluster).
func (p *Plan) localCIBCluster() (string, error) {
	b, err := os.ReadFile(p.path(LocalCIBDir + "/cib.xml"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return "", fmt.Errorf("%s/cib.xml: %w", LocalCIBDir, err)
	}
	for _, nv := range doc.FindElements("//crm_config//nvpair[@name='cluster-name']") {
		return nv.SelectAttrValue("value", ""), nil
	}
	return "", nil
}

// A stopped Pacemaker starts from the CIB on its disk. When that CIB is another cluster's
// (the Debian package starts a one-node cluster "debian" with a node "node1"), it would bring
// that cluster's nodes and settings into this one: it is moved aside, as pcs cluster setup
// does. The CIB of a running Pacemaker, or of this cluster, is never touched.
func (p *Plan) checkLocalCIB(ctx context.Context) (string, error) {
	name, err := p.localCIBCluster()
	if err != nil || name == "" || name == p.topo.Corosync.ClusterName {
		return "", err
	}
	if !p.state.pacemakerStops && p.pacemakerRunning(ctx) {
		return "", nil
	}
	return fmt.Sprintf("move the CIB of cluster %q aside", name), nil
}

func (p *Plan) applyLocalCIB(context.Context) (string, error) {
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

func (p *Plan) pacemakerRunning(ctx context.Context) bool {
	return p.running(ctx, "crm_mon", "-1", "--output-as=xml")
}

func (p *Plan) checkPacemaker(ctx context.Context) (string, error) {
	if p.state.clusterPending && p.opts.DryRun {
		return "start it (after Corosync): systemctl start pacemaker", nil
	}
	if p.state.restarted || !p.pacemakerRunning(ctx) {
		p.state.clusterPending = true
		return "start it: systemctl start pacemaker", nil
	}
	return "", nil
}

func (p *Plan) applyPacemaker(ctx context.Context) (string, error) {
	if _, err := p.opts.run.Run(ctx, "systemctl", "start", "pacemaker"); err != nil {
		return "", err
	}
	return "started pacemaker", nil
}

// memberStatus says what is missing for this host to be a member: "" when it is online in a
// quorate partition with a DC that has recorded the cluster's name.
func (p *Plan) memberStatus(ctx context.Context) string {
	out, err := p.opts.run.Run(ctx, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		return "crm_mon: " + err.Error()
	}
	s, err := pcmkhost.ParseStatus(out)
	if err != nil {
		return err.Error()
	}
	switch {
	case !slices.Contains(s.Online, p.Host.Name):
		return fmt.Sprintf("%s is not online (online: %s)", p.Host.Name, orNone(s.Online))
	case s.DC == "":
		return "no DC elected yet"
	case !s.Quorate:
		return fmt.Sprintf("the partition has no quorum (online: %s; bootstrap the other hosts)", orNone(s.Online))
	}
	// The DC writes cluster-name into the CIB shortly after its election; cib apply checks it.
	if _, err := p.opts.run.Run(ctx, "crm_attribute", "--type", "crm_config", "--name", "cluster-name", "--query", "--quiet"); err != nil {
		return "the DC has not recorded cluster-name in the CIB yet"
	}
	return ""
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (p *Plan) checkMember(ctx context.Context) (string, error) {
	if p.state.clusterPending && p.opts.DryRun {
		return fmt.Sprintf("wait up to %s for %s to be online with quorum", p.opts.Wait, p.Host.Name), nil
	}
	if why := p.memberStatus(ctx); why != "" {
		p.state.clusterPending = true
		return fmt.Sprintf("wait up to %s: %s", p.opts.Wait, why), nil
	}
	return "", nil
}

func (p *Plan) waitMember(ctx context.Context) (string, error) {
	took, why, err := p.waitFor(ctx, p.memberStatus)
	if err != nil {
		return "", fmt.Errorf("%w after %s: %s", ErrNotMember, p.opts.Wait, why)
	}
	p.state.clusterPending = false
	return fmt.Sprintf("online with quorum after %s", took), nil
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

func (p *Plan) checkCIB(ctx context.Context) (string, error) {
	if p.state.clusterPending && p.opts.DryRun {
		return "apply the rendered CIB once the cluster is up", nil
	}
	res, err := p.opts.cib.Apply(ctx, p.topo, p.cibDoc, cib.ApplyOptions{DryRun: true})
	if err != nil {
		return "", err
	}
	if res.Unchanged() {
		return "", nil
	}
	return fmt.Sprintf("%s to the live CIB %s", countChanges(len(res.Changes)), res.Before), nil
}

func (p *Plan) applyCIB(ctx context.Context) (string, error) {
	res, err := p.opts.cib.Apply(ctx, p.topo, p.cibDoc, cib.ApplyOptions{})
	if err != nil {
		return "", err
	}
	if res.Unchanged() {
		return "", nothingDone(fmt.Sprintf("another host applied it meanwhile (CIB %s)", res.Before))
	}
	return fmt.Sprintf("applied %s: CIB %s → %s; the old one kept as %s", countChanges(len(res.Changes)), res.Before, res.After, res.Backup), nil
}

// vipStatus says why the VIP of the host's group is not started on exactly one host ("" when it is).
func (p *Plan) vipStatus(ctx context.Context) string {
	out, err := p.opts.run.Run(ctx, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		return "crm_mon: " + err.Error()
	}
	s, err := pcmkhost.ParseStatus(out)
	if err != nil {
		return err.Error()
	}
	id := cib.VIPID(p.Group.Name)
	i := slices.IndexFunc(s.Resources, func(r pcmkhost.Resource) bool { return r.ID == id })
	switch {
	case i < 0:
		return id + " is not in the cluster's status yet"
	case s.Resources[i].Failed:
		return fmt.Sprintf("%s failed on %s (crm_mon -1 --failcounts shows why)", id, orNone(s.Resources[i].Nodes))
	case s.Resources[i].Role != "Started" || len(s.Resources[i].Nodes) != 1:
		return fmt.Sprintf("%s is %s on %s", id, s.Resources[i].Role, orNone(s.Resources[i].Nodes))
	}
	return ""
}

func (p *Plan) checkVIP(ctx context.Context) (string, error) {
	if p.state.clusterPending && p.opts.DryRun {
		return "wait for the cluster to start it", nil
	}
	if why := p.vipStatus(ctx); why != "" {
		return fmt.Sprintf("wait up to %s: %s", p.opts.Wait, why), nil
	}
	return "", nil
}

func (p *Plan) waitVIP(ctx context.Context) (string, error) {
	took, why, err := p.waitFor(ctx, p.vipStatus)
	if err != nil {
		return "", fmt.Errorf("%w after %s: %s", ErrVIPNotStarted, p.opts.Wait, why)
	}
	return fmt.Sprintf("started after %s", took), nil
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
		files, err := nomad.BackupFiles(t, c)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			switch {
			case strings.HasSuffix(f.Path, "/pgsql_backup.sh"):
				out = append(out, backupFile{cluster: c.Name, path: nomad.HostBackupScript(c.Name), mode: f.Mode, data: f.Data})
			case strings.HasSuffix(f.Path, "/cron_backup"):
				out = append(out, backupFile{cluster: c.Name, path: nomad.HostCronFile(c.Name), mode: f.Mode, data: f.Data, cron: true})
			}
		}
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
		s.check = func(context.Context) (string, error) {
			_, err := os.Lstat(p.path(b.path))
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			return "remove " + b.path, nil
		}
		s.apply = func(context.Context) (string, error) {
			if err := os.Remove(p.path(b.path)); err != nil {
				return "", err
			}
			return "removed " + b.path, nil
		}
		return s
	}
	s.what = fmt.Sprintf("%s of cluster %s is installed (%04o)", b.path, b.cluster, b.mode)
	s.check = func(context.Context) (string, error) {
		_, diff, err := fileDiff(p.path(b.path), b.data, b.mode)
		if diff != "" {
			diff = "write it (" + diff + ")"
		}
		return diff, err
	}
	s.apply = func(context.Context) (string, error) {
		backup, err := writeFile(p.path(b.path), b.data, b.mode, true, p.opts.now())
		if err != nil {
			return "", err
		}
		if backup != "" {
			return "written; the old one kept as " + strings.TrimPrefix(backup, p.opts.Root), nil
		}
		return "written", nil
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

// checkSubmit asks Nomad to plan each job (no side effects): the jobs whose plan shows a
// difference from what Nomad runs are the ones to register.
func (p *Plan) checkSubmit(ctx context.Context) (string, error) {
	client, err := p.nomadJobs()
	if err != nil {
		return "", err
	}
	p.state.submit = nil
	var todo []string
	for _, j := range p.jobs {
		c, err := nomad.CanonicalJob(j)
		if err != nil {
			return "", err
		}
		resp, _, err := client.Plan(c, true, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return "", fmt.Errorf("%w: plan %s: %w", nomad.ErrSubmit, *c.ID, err)
		}
		diff := "Added"
		if resp.Diff != nil && resp.Diff.Type != "" {
			diff = resp.Diff.Type
		}
		if diff == "None" {
			continue
		}
		p.state.submit = append(p.state.submit, j)
		todo = append(todo, fmt.Sprintf("%s (%s)", *c.ID, strings.ToLower(diff)))
	}
	if len(todo) == 0 {
		return "", nil
	}
	return "register " + strings.Join(todo, ", "), nil
}

func (p *Plan) applySubmit(ctx context.Context) (string, error) {
	client, err := p.nomadJobs()
	if err != nil {
		return "", err
	}
	done, err := nomad.Submit(ctx, p.state.submit, client)
	var b bytes.Buffer
	for i, s := range done {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.Job)
	}
	if err != nil {
		if b.Len() > 0 {
			return "", fmt.Errorf("%w (registered before it: %s)", err, b.String())
		}
		return "", err
	}
	return "registered " + b.String(), nil
}
