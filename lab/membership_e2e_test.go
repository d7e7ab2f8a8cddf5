package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/bootstrap"
	"github.com/vipctl/vipctl/internal/wait"
)

// labHost is one host block of a membership test's topology.
type labHost struct {
	name, address string
	nodeid        int
}

// labTopology is the lab's DefaultTopology with these hosts (all in the group lab), written
// to file.
func labTopology(t *testing.T, file string, hosts []labHost) string {
	t.Helper()
	src := DefaultTopology
	start, end := strings.Index(src, `host "lab-1" {`), strings.Index(src, `host_group "lab" {`)
	list := `hosts = ["lab-1", "lab-2", "lab-3"]`
	if start < 0 || end < start || !strings.Contains(src, list) {
		t.Fatal("the lab's DefaultTopology has no host blocks and host list to replace")
	}
	var blocks strings.Builder
	var names []string
	for _, h := range hosts {
		fmt.Fprintf(&blocks, "host %q {\n  address = %q\n  nodeid  = %d\n}\n", h.name, h.address, h.nodeid)
		names = append(names, strconv.Quote(h.name))
	}
	src = src[:start] + blocks.String() + "\n" + src[end:]
	src = strings.Replace(src, list, "hosts = ["+strings.Join(names, ", ")+"]", 1)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// clientProbe connects from the lab's client to addr every 20 ms (200 ms timeout) until stop
// is called, which returns the outcomes it saw: each change of outcome with its time.
type clientProbe struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	out    bytes.Buffer
}

func startProbe(t *testing.T, ctx context.Context, l *Lab, vipctl, addr string) *clientProbe {
	t.Helper()
	pctx, cancel := context.WithCancel(ctx)
	p := &clientProbe{cancel: cancel}
	p.cmd = exec.CommandContext(pctx, "ip", "netns", "exec", l.State().Client.NetNS, vipctl, "lab", "_probe", addr,
		"--interval", "20ms", "--timeout", "200ms")
	p.cmd.Stdout = &p.out
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(os.Interrupt) }
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return p
}

// stop ends the probe and returns its changes of outcome.
func (p *clientProbe) stop(t *testing.T) []probeLine {
	t.Helper()
	p.cancel()
	_ = p.cmd.Wait()
	var cs []probeLine
	sc := bufio.NewScanner(&p.out)
	for sc.Scan() {
		c, ok := parseProbeLine(sc.Text())
		if !ok {
			t.Fatalf("probe line %q", sc.Text())
		}
		cs = append(cs, c)
	}
	return cs
}

// outage sums the time the probe's attempts failed, from the first change at or after from.
func outage(cs []probeLine, from time.Time) time.Duration {
	var total time.Duration
	for i, c := range cs {
		if c.answer != "" || c.at.Before(from) {
			continue
		}
		if i+1 < len(cs) {
			total += cs[i+1].at.Sub(c.at)
		}
	}
	return total
}

// answerers lists the hosts that answered the probe, in order, each once per run.
func answerers(cs []probeLine) []string {
	var hs []string
	for _, c := range cs {
		if c.answer != "" && (len(hs) == 0 || hs[len(hs)-1] != c.answer) {
			hs = append(hs, c.answer)
		}
	}
	return hs
}

// quorum is what corosync-quorumtool -s says inside a host.
type quorum struct {
	expected, total int
	quorate         bool
}

var quorumLine = regexp.MustCompile(`(?m)^(Expected votes|Total votes|Quorate):\s+(\S+)`)

func quorumIn(t *testing.T, ctx context.Context, l *Lab, host string) quorum {
	t.Helper()
	var out bytes.Buffer
	// corosync-quorumtool -s exits 2 when the partition is not quorate: the output says so too.
	if _, err := l.Exec(ctx, host, []string{"corosync-quorumtool", "-s"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	var q quorum
	for _, m := range quorumLine.FindAllStringSubmatch(out.String(), -1) {
		switch m[1] {
		case "Expected votes":
			q.expected, _ = strconv.Atoi(m[2])
		case "Total votes":
			q.total, _ = strconv.Atoi(m[2])
		case "Quorate":
			q.quorate = m[2] == "Yes"
		}
	}
	return q
}

// pidIn is the pid of the named daemon inside a host ("" when none runs).
func pidIn(t *testing.T, ctx context.Context, l *Lab, host, daemon string) string {
	t.Helper()
	var out bytes.Buffer
	if _, err := l.Exec(ctx, host, []string{"pidof", daemon}, nil, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

// cibNodes lists the unames of the live CIB's nodes section and of its status section's
// node_state entries, read inside a host.
func cibNodes(t *testing.T, ctx context.Context, l *Lab, host string) (nodes, states []string) {
	t.Helper()
	var out bytes.Buffer
	if code, err := l.Exec(ctx, host, []string{"cibadmin", "--query"}, nil, &out, os.Stderr); err != nil || code != 0 {
		t.Fatalf("cibadmin --query in %s: exit %d, %v", host, code, err)
	}
	var doc struct {
		Nodes []struct {
			Uname string `xml:"uname,attr"`
		} `xml:"configuration>nodes>node"`
		States []struct {
			Uname string `xml:"uname,attr"`
		} `xml:"status>node_state"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, n := range doc.Nodes {
		nodes = append(nodes, n.Uname)
	}
	for _, n := range doc.States {
		states = append(states, n.Uname)
	}
	slices.Sort(nodes)
	slices.Sort(states)
	return nodes, states
}

// checkMembers checks, inside every host of want, that crm_mon lists exactly want, all online
// with quorum, that Corosync counts len(want) expected and total votes, and that the live CIB
// is valid (crm_verify -L).
func checkMembers(t *testing.T, ctx context.Context, l *Lab, want []string) {
	t.Helper()
	n := len(want)
	for _, name := range want {
		h, err := l.Host(name)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = h.WaitOnline(wctx, n)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.Online, want) || len(st.Offline) > 0 || !st.Quorate {
			t.Errorf("crm_mon in %s: online %v, offline %v, quorate %v; want online %v alone, quorate", name, st.Online, st.Offline, st.Quorate, want)
		}
		if q := quorumIn(t, ctx, l, name); q != (quorum{expected: n, total: n, quorate: true}) {
			t.Errorf("corosync-quorumtool -s in %s: %+v; want %d expected and total votes, quorate", name, q, n)
		}
	}
	var out bytes.Buffer
	if code, err := l.Exec(ctx, want[0], []string{"crm_verify", "-L"}, nil, &out, &out); err != nil || code != 0 {
		t.Errorf("crm_verify -L in %s: exit %d, %v\n%s", want[0], code, err, out.String())
	}
}

// members is a running fresh lab whose membership a test changes with bootstrap.
type members struct {
	l     *Lab
	b     *bootstrapper
	ctx   context.Context
	key   string // the cluster's authkey, for a new machine's bootstrap
	group string // the host group whose VIP the test follows
}

// names lists the hosts of the topology the lab runs, sorted.
func (m *members) names() []string {
	var names []string
	for _, h := range m.l.Topology().Hosts {
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}

// join is the runbook of a new host: the lab gets the machine and runs topoFile, bootstrap runs
// on each member (a new corosync.conf, reloaded: Pacemaker untouched), then on the new host
// with the key (everything started). It returns how many members applied the CIB.
func (m *members) join(t *testing.T, topoFile, name string) int {
	t.Helper()
	old := m.names()
	if err := m.l.AddHost(m.ctx, topoFile, name); err != nil {
		t.Fatal(err)
	}
	topo := m.l.State().Topology
	wroteCIB := 0
	for _, h := range old {
		_, r, err := m.b.on(h, "-f", topo)
		if err != nil {
			t.Fatal(err)
		}
		if got := statusOf(r, "corosync.conf"); got != bootstrap.StatusChanged {
			t.Errorf("%s: corosync.conf step %s, want changed", h, got)
		}
		for _, s := range r.Steps {
			switch {
			case s.Step == "corosync" && (s.Status != bootstrap.StatusChanged || !strings.Contains(s.Detail, "corosync-cfgtool -R")):
				t.Errorf("%s: corosync step %s (%s), want a reload", h, s.Status, s.Detail)
			case s.Step == "pacemaker" && s.Status != bootstrap.StatusOK:
				t.Errorf("%s: pacemaker step %s (%s), want ok", h, s.Status, s.Detail)
			case s.Step == "cib" && s.Status == bootstrap.StatusChanged:
				wroteCIB++
			}
		}
	}
	_, r, err := m.b.on(name, "-f", topo, "--authkey", m.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"authkey", "corosync.conf", "corosync", "pacemaker"} {
		if got := statusOf(r, step); got != bootstrap.StatusChanged {
			t.Errorf("%s: step %s is %s, want changed (a new machine)", name, step, got)
		}
	}
	return wroteCIB
}

// leaveCorosync takes a stopped host out of Corosync: the lab loses the machine and runs
// topoFile (without it); bootstrap on each member reloads the corosync.conf without it and
// stops at the cib step (exit 1: Pacemaker still knows the host, and the refusal says how to
// remove it).
func (m *members) leaveCorosync(t *testing.T, topoFile, name string) {
	t.Helper()
	if err := m.l.RemoveHost(m.ctx, topoFile, name); err != nil {
		t.Fatal(err)
	}
	topo := m.l.State().Topology
	for _, h := range m.names() {
		code, r, _ := m.b.on(h, "-f", topo)
		if code != 1 || r == nil || r.Failed != "cib" {
			t.Fatalf("%s: bootstrap exit %d, report %+v; want exit 1 at cib (the CIB still names %s)", h, code, r, name)
		}
		for _, s := range r.Steps {
			switch {
			case s.Step == "corosync" && (s.Status != bootstrap.StatusChanged || !strings.Contains(s.Detail, "corosync-cfgtool -R")):
				t.Errorf("%s: corosync step %s (%s), want a reload", h, s.Status, s.Detail)
			case s.Step == "cib" && !strings.Contains(s.Detail, "crm_node --force --remove"):
				t.Errorf("%s: the cib step's refusal does not say how to remove the host: %s", h, s.Detail)
			}
		}
	}
}

// forget is the runbook of a stopped host leaving the cluster: leaveCorosync, then crm_node
// --force --remove on one member; once no member's CIB names the host (nodes and status
// sections), bootstrap again exits 0 everywhere, one member applying the CIB.
func (m *members) forget(t *testing.T, topoFile, name string) {
	t.Helper()
	m.leaveCorosync(t, topoFile, name)
	topo := m.l.State().Topology
	left := m.names()
	var out bytes.Buffer
	if code, err := m.l.Exec(m.ctx, left[0], []string{"crm_node", "--force", "--remove", name}, nil, &out, &out); err != nil || code != 0 {
		t.Fatalf("crm_node --force --remove %s in %s: exit %d, %v\n%s", name, left[0], code, err, out.String())
	}
	// Once every member's CIB has forgotten it, bootstrap applies the group without it.
	wctx, cancel := context.WithTimeout(m.ctx, time.Minute)
	defer cancel()
	err := wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
		for _, h := range left {
			nodes, states := cibNodes(t, m.ctx, m.l, h)
			if slices.Contains(nodes, name) || slices.Contains(states, name) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		nodes, states := cibNodes(t, m.ctx, m.l, left[0])
		t.Fatalf("a minute after crm_node --remove the CIB still names %s: nodes %v, node_state %v", name, nodes, states)
	}
	wroteCIB := 0
	for _, h := range left {
		_, r, err := m.b.on(h, "-f", topo)
		if err != nil {
			t.Fatal(err)
		}
		if statusOf(r, "cib") == bootstrap.StatusChanged {
			wroteCIB++
		}
	}
	if wroteCIB != 1 {
		t.Errorf("%d members applied the CIB without %s, want 1", wroteCIB, name)
	}
}

// without lists the lab's hosts but name, as topology host blocks.
func (m *members) without(name string) []labHost {
	var hs []labHost
	for _, h := range m.l.Topology().Hosts {
		if h.Name != name {
			hs = append(hs, labHost{h.Name, h.Address.String(), h.NodeID})
		}
	}
	return hs
}

// freshMembers makes a lab of fresh hosts and the cluster on them, with bootstrap inside every
// host at once, and returns it with the lab's directory, the vipctl binary and the address
// VIP:port of the first group's first cluster (for the client's probe).
func freshMembers(t *testing.T, ctx context.Context) (m *members, dir, vipctl, vipAddr string) {
	t.Helper()
	return freshMembersWith(t, ctx, Options{Fresh: true})
}

// freshMembersWith is freshMembers with a lab made with opts (such as another topology).
func freshMembersWith(t *testing.T, ctx context.Context, opts Options) (m *members, dir, vipctl, vipAddr string) {
	t.Helper()
	l, dir, vipctl := upLabWith(t, ctx, opts)
	g := l.Topology().Groups[0]
	cs := l.Topology().ClustersOf(g.Name)
	if len(cs) == 0 {
		t.Fatal("the lab's topology has no cluster port to probe")
	}
	vipAddr = netip.AddrPortFrom(g.VIP.Prefix.Addr(), uint16(cs[0].Port)).String()
	m = &members{l: l, b: &bootstrapper{l: l, ctx: ctx, vipctl: vipctl}, ctx: ctx, key: filepath.Join(dir, "authkey"), group: g.Name}
	m.b.all(t, true, "-f", l.State().Topology, "--authkey", m.key)
	return m, dir, vipctl, vipAddr
}

// holder waits until exactly one host holds the group's VIP (netlink) and returns it.
func (m *members) holder(t *testing.T) string {
	t.Helper()
	if err := m.l.WaitHeld(m.ctx); err != nil {
		t.Fatal(err)
	}
	hs, err := m.l.Holders(m.group)
	if err != nil || len(hs) != 1 {
		t.Fatalf("VIP holders %v (%v), want one", hs, err)
	}
	return hs[0]
}

// TestMembershipFreshLab changes the members of a running cluster made by bootstrap from
// nothing, with the commands of docs/bootstrap.md's runbooks, while a client connects to the
// VIP every 20 ms. Adding a fourth host: the members write the new corosync.conf and reload it
// (corosync-cfgtool -R: their Corosync keeps its pid), the new host joins, all four are online
// with 4 expected votes, the CIB is valid, and the VIP neither moved nor missed one attempt.
// Removing the holder: drained first (the VIP moves), its daemons stopped, the others'
// corosync.conf without it and reloaded, crm_node --force --remove: it is gone from crm_mon and
// from the CIB's nodes and status sections, the three left are quorate with 3 expected votes,
// and the client missed no attempt after the drain.
func TestMembershipFreshLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	m, dir, vipctl, vipAddr := freshMembers(t, ctx)
	l := m.l
	holder := m.holder
	if err := l.WaitHeld(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("add a host while the cluster serves", func(t *testing.T) {
		four := labTopology(t, filepath.Join(dir, "four.hcl"), append(m.without(""), labHost{"lab-4", "192.0.2.14", 4}))
		was, took, out := m.addServing(t, vipctl, vipAddr, four, "lab-4", func() {})
		t.Logf("added lab-4 in %.1f s; the client's outage: %v (VIP on %s throughout)", took.Seconds(), out, was)
	})

	t.Run("remove a host", func(t *testing.T) {
		victim := holder(t)
		probe := startProbe(t, ctx, l, vipctl, vipAddr)
		started := time.Now()
		// Its VIP moves away first; then its cluster daemons stop.
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, victim, "host", "drain", victim); code != 0 {
			t.Fatalf("host drain %s: exit %d", victim, code)
		}
		drained := time.Now()
		to := holder(t)
		if to == victim {
			t.Fatalf("%s still holds the VIP after the drain", victim)
		}
		var out bytes.Buffer
		if code, err := l.Exec(ctx, victim, []string{"systemctl", "stop", "pacemaker", "corosync"}, nil, &out, &out); err != nil || code != 0 {
			t.Fatalf("systemctl stop pacemaker corosync in %s: exit %d, %v\n%s", victim, code, err, out.String())
		}
		m.forget(t, labTopology(t, filepath.Join(dir, "without-"+victim+".hcl"), m.without(victim)), victim)
		checkMembers(t, ctx, l, m.names())
		if err := l.Settle(ctx); err != nil {
			t.Fatal(err)
		}
		changes := probe.stop(t)
		if now := holder(t); now != to {
			t.Errorf("the VIP moved on from %s to %s after the drain", to, now)
		}
		if after := outage(changes, drained); after > 0 {
			t.Errorf("after the drain the client saw an outage of %v: %+v", after, changes)
		}
		t.Logf("removed %s in %.1f s; the drain moved the VIP to %s (client outage %v), then no outage",
			victim, time.Since(started).Seconds(), to, outage(changes, started))
	})
}
