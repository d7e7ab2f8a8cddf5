package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/beevik/etree"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// hostState is what bootstrap finds on the host, read once before any step decides. Every
// part carries its own error: a probe that could not tell (a timeout, a missing binary, an
// answer it cannot read) fails the step that needs it, and is never taken for "not running".
type hostState struct {
	missingTools []string
	ipaddr2      error // the IPaddr2 agent cannot be found (only read when a group uses it)
	// fenceAgents are the fence devices this host may have to run whose agent is not installed
	// here as an executable file, with why.
	fenceAgents []missingFenceAgent

	nic    vip.NICCheck // only for a host in a group
	nicErr error

	corosync  corosyncState
	pacemaker pacemakerState

	authkey  hostFile
	conf     hostFile
	written  confRecord            // the digests of every corosync.conf vipctl wrote here
	agents   map[string]agentState // OCF agents, by host path
	alert    agentState            // the alert agent, and its journal directory owned by hacluster
	localCIB string                // cluster-name of the CIB Pacemaker keeps on disk ("" none)
	localErr error

	cib    *cib.ApplyResult // a dry run of cib apply, read only when the host is a member
	cibErr error

	backups map[string]hostFile // by host path

	submit    []*api.Job // the jobs whose Nomad plan shows a change (--submit)
	submitErr error
	todoJobs  []string
}

// corosyncState is the running Corosync as its tools report it.
type corosyncState struct {
	running    bool
	err        error  // whether it runs, or which cluster it runs, is unknown
	cluster    string // totem.cluster_name, when running
	members    int    // members it has joined with (this host included), when running
	membersErr error
}

// pacemakerState is the running Pacemaker as crm_mon reports it.
type pacemakerState struct {
	running bool
	err     error // whether it runs is unknown
	// member says what is missing for this host to be online in a quorate partition whose DC
	// has recorded cluster-name ("" when nothing is); vip why the group's VIP is not started
	// on exactly one host ("" when it is). Both only when running.
	member, vip string
}

// hostFile is one file on the host as found.
type hostFile struct {
	exists bool
	data   []byte
	mode   fs.FileMode
	err    error // it could not be read, or is no regular file
}

// agentState is the installed OCF agent compared with this executable.
type agentState struct {
	same bool // same bytes, mode 0755
	err  error
}

// observe reads the host: files, daemons and, when the host is a member already, the live
// CIB and its group's VIP. It changes nothing.
func (p *Plan) observe(ctx context.Context) *hostState {
	o := &hostState{backups: map[string]hostFile{}}
	for _, t := range requiredTools {
		if _, err := p.opts.run.LookPath(t); err != nil {
			o.missingTools = append(o.missingTools, t)
		}
	}
	if usesAgent(p.topo, topology.AgentIPaddr2) {
		if _, err := os.Stat(p.path(IPaddr2Path)); err != nil {
			o.ipaddr2 = err
		}
	}
	o.fenceAgents = p.observeFenceAgents()
	if p.Group != nil {
		check := p.opts.CheckNIC
		if check == nil {
			check = checkNICHere
		}
		o.nic, o.nicErr = check(ctx, p.Group.VIP.Prefix, p.topo.NICFor(p.Host.Name))
	}
	o.corosync = p.observeCorosync(ctx)
	o.pacemaker = p.observePacemaker(ctx)
	o.authkey = readHostFile(p.path(AuthkeyPath))
	o.conf = readHostFile(p.path(CorosyncConfPath))
	o.written = readConfRecord(p.path(confRecordPath))
	o.agents = map[string]agentState{vip.AgentPath: p.observeAgent(vip.AgentPath), vip.HealthAgentPath: p.observeAgent(vip.HealthAgentPath)}
	o.alert = p.observeAlert()
	o.localCIB, o.localErr = p.localCIBCluster()
	if o.pacemaker.running && o.pacemaker.member == "" {
		o.cib, o.cibErr = p.opts.cib.Apply(ctx, p.topo, p.cibDoc, cib.ApplyOptions{DryRun: true})
	}
	for _, b := range p.backups {
		o.backups[b.path] = readHostFile(p.path(b.path))
	}
	if p.opts.Submit {
		o.submit, o.todoJobs, o.submitErr = p.plannedJobs(ctx)
	}
	return o
}

// missingFenceAgent is a fence device whose agent this host lacks.
type missingFenceAgent struct {
	fence topology.Fence
	err   error
}

// observeFenceAgents finds the fence devices whose agent is not installed on this host as an
// executable file in pcmk.FenceAgentDir. Pacemaker's fencer runs a device's agent on any member
// but the host the device fences (the CIB bans it there), so every other host needs it. Agents
// not named fence_NAME (cluster-glue's stonith plugins, external/ipmi) are not looked for.
func (p *Plan) observeFenceAgents() []missingFenceAgent {
	var missing []missingFenceAgent
	for _, f := range p.topo.Fences {
		agentPath, ok := pcmk.FenceAgentPath(f.Agent)
		if f.Host == p.Host.Name || !ok {
			continue
		}
		path := p.path(agentPath)
		fi, err := os.Stat(path)
		switch {
		case err != nil:
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			err = fmt.Errorf("%s is no executable file (mode %v)", path, fi.Mode())
		default:
			continue
		}
		missing = append(missing, missingFenceAgent{fence: f, err: err})
	}
	return missing
}

// liveCluster asks the running Corosync which cluster it runs (pcmk.ClusterName): a wrong
// answer would restart a member of this cluster, so it never guesses. A process list is not
// asked, as pidof also sees daemons of other PID namespaces on the machine (containers, the
// lab's hosts), which this host cannot talk to; corosync-cfgtool -s is no test either (it
// fails while a link to another node is down).
func (p *Plan) liveCluster(ctx context.Context) (running bool, name string, err error) {
	return pcmk.ClusterName(ctx, p.opts.run)
}

func (p *Plan) observeCorosync(ctx context.Context) corosyncState {
	var s corosyncState
	s.running, s.cluster, s.err = p.liveCluster(ctx)
	if !s.running || s.err != nil {
		return s
	}
	s.members, s.membersErr = pcmk.Members(ctx, p.opts.run)
	return s
}

// pacemakerStatus runs crm_mon: running is false only when crm_mon says it cannot connect.
func (p *Plan) pacemakerStatus(ctx context.Context) (bool, pcmk.Status, error) {
	s, err := pcmk.ReadStatus(ctx, p.opts.run)
	switch {
	case pcmk.NotRunning(err):
		return false, pcmk.Status{}, nil
	case err != nil:
		return false, pcmk.Status{}, fmt.Errorf("cannot tell whether Pacemaker runs: %w", err)
	}
	return true, s, nil
}

func (p *Plan) observePacemaker(ctx context.Context) pacemakerState {
	var s pacemakerState
	var st pcmk.Status
	s.running, st, s.err = p.pacemakerStatus(ctx)
	if !s.running {
		return s
	}
	s.member = p.memberWhy(ctx, st)
	if p.Group != nil {
		s.vip = p.vipWhy(st)
	}
	return s
}

// readHostFile reads a file of the host; a missing one is no error.
func readHostFile(path string) hostFile {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return hostFile{}
	}
	if err != nil {
		return hostFile{err: err}
	}
	if !st.Mode().IsRegular() {
		return hostFile{err: fmt.Errorf("%s is not a regular file", path)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return hostFile{err: err}
	}
	return hostFile{exists: true, data: b, mode: st.Mode().Perm()}
}

func (p *Plan) observeAgent(path string) agentState {
	same, err := sameContent(p.opts.Executable, p.path(path))
	if err != nil {
		return agentState{err: fmt.Errorf("compare the agent with %s: %w", p.opts.Executable, err)}
	}
	if !same {
		return agentState{}
	}
	st, err := os.Stat(p.path(path))
	if err != nil {
		return agentState{err: err}
	}
	return agentState{same: st.Mode().Perm() == 0o755}
}

func (p *Plan) observeAlert() agentState {
	same, err := sameContent(p.opts.Executable, p.path(journal.AlertPath))
	if err != nil {
		return agentState{err: fmt.Errorf("compare the alert agent with %s: %w", p.opts.Executable, err)}
	}
	if !same {
		return agentState{}
	}
	agent, aerr := os.Stat(p.path(journal.AlertPath))
	jdir, derr := os.Stat(p.path(filepath.Dir(journal.DefaultPath)))
	return agentState{same: aerr == nil && derr == nil && agent.Mode().Perm() == 0o755 && journal.OwnedByHacluster(jdir)}
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

// memberWhy says what is missing, in crm_mon's status st, for this host to be a member: ""
// when it is online in a quorate partition with a DC that has recorded the cluster's name.
func (p *Plan) memberWhy(ctx context.Context, s pcmk.Status) string {
	switch {
	case !slices.Contains(s.Online, p.Host.Name):
		return fmt.Sprintf("%s is not online (online: %s)", p.Host.Name, orNone(s.Online))
	case s.DC == "":
		return "no DC elected yet"
	case !s.Quorate:
		return fmt.Sprintf("the partition has no quorum (online: %s; bootstrap the other hosts)", orNone(s.Online))
	}
	// The DC writes cluster-name into the CIB shortly after its election; cib apply checks it.
	if _, err := p.run(ctx, "crm_attribute", "--type", "crm_config", "--name", "cluster-name", "--query", "--quiet"); err != nil {
		return "the DC has not recorded cluster-name in the CIB yet"
	}
	return ""
}

// vipWhy says why, in crm_mon's status s, the VIP of the host's group is not started on exactly
// one host ("" when it is).
func (p *Plan) vipWhy(s pcmk.Status) string {
	id := p.Group.VIPID()
	i := slices.IndexFunc(s.Resources, func(r pcmk.Resource) bool { return r.ID == id })
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

// plannedJobs asks Nomad to plan each job (no side effects): the jobs whose plan shows a
// difference from what Nomad runs are the ones to register.
func (p *Plan) plannedJobs(ctx context.Context) ([]*api.Job, []string, error) {
	client, err := p.nomadJobs()
	if err != nil {
		return nil, nil, err
	}
	var jobs []*api.Job
	var todo []string
	for _, j := range p.jobs {
		c, err := nomad.CanonicalJob(j)
		if err != nil {
			return nil, nil, err
		}
		resp, _, err := client.Plan(c, true, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: plan %s: %w", nomad.ErrSubmit, *c.ID, err)
		}
		diff := "Added"
		if resp.Diff != nil && resp.Diff.Type != "" {
			diff = resp.Diff.Type
		}
		if diff == "None" {
			continue
		}
		jobs = append(jobs, j)
		todo = append(todo, fmt.Sprintf("%s (%s)", *c.ID, strings.ToLower(diff)))
	}
	return jobs, todo, nil
}
