package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/bootstrap"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// execOut runs argv inside a host and returns its standard output; a failure or a non-zero
// exit fails the test.
func execOut(t *testing.T, ctx context.Context, l *Lab, host string, argv ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code, err := l.Exec(ctx, host, argv, nil, &out, &errb); err != nil || code != 0 {
		t.Fatalf("%s in %s: exit %d, %v\n%s%s", strings.Join(argv, " "), host, code, err, out.String(), errb.String())
	}
	return out.String()
}

// peer is one node of a daemon's or Corosync's view: its id, name and address or state.
type peer struct {
	id   int
	name string
	more string // the ring address (Corosync's nodelist), the IP (runtime.members) or the state (crm_node -l)
}

var cmapLine = regexp.MustCompile(`^(nodelist\.node|runtime\.members)\.(\d+)\.(\w+) \(\w+\) = (.*)$`)

// corosyncView reads, inside a host, the nodelist Corosync runs (corosync-cmapctl
// nodelist.node: nodeid, name, ring0_addr) and its members (runtime.members: nodeid, ip),
// each sorted by id.
func corosyncView(t *testing.T, ctx context.Context, l *Lab, host string) (nodelist, members []peer) {
	t.Helper()
	byKey := map[string]*peer{}
	var keys []string
	for _, prefix := range []string{"nodelist.node", "runtime.members"} {
		sc := bufio.NewScanner(strings.NewReader(execOut(t, ctx, l, host, "corosync-cmapctl", prefix)))
		for sc.Scan() {
			m := cmapLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
			if m == nil {
				continue
			}
			key := m[1] + "." + m[2]
			p, ok := byKey[key]
			if !ok {
				p = &peer{}
				byKey[key] = p
				keys = append(keys, key)
			}
			if m[1] == "runtime.members" {
				p.id, _ = strconv.Atoi(m[2])
			}
			switch m[3] {
			case "nodeid":
				p.id, _ = strconv.Atoi(m[4])
			case "name":
				p.name = m[4]
			case "ring0_addr", "ip":
				p.more = strings.TrimSpace(m[4])
			}
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "nodelist.") {
			nodelist = append(nodelist, *byKey[k])
		} else {
			members = append(members, *byKey[k])
		}
	}
	byID := func(a, b peer) int { return a.id - b.id }
	slices.SortFunc(nodelist, byID)
	slices.SortFunc(members, byID)
	return nodelist, members
}

// knetLink is the line of corosync-cfgtool -n inside a host that describes its link 0 to the
// node of that id ("LINK: 0 udp (SRC->DST) enabled connected mtu: N"), "" when none.
func knetLink(t *testing.T, ctx context.Context, l *Lab, host string, nodeid int) string {
	t.Helper()
	node := ""
	for _, line := range strings.Split(execOut(t, ctx, l, host, "corosync-cfgtool", "-n"), "\n") {
		line = strings.TrimSpace(line)
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nodeid:" {
			node = f[1]
		} else if node == strconv.Itoa(nodeid) && strings.HasPrefix(line, "LINK: 0 ") {
			return line
		}
	}
	return ""
}

// controllerPeers is the Pacemaker controller's peer cache inside a host, as crm_node -l
// prints it (id, name, state), sorted by id: the nodes a new DC writes into the CIB.
func controllerPeers(t *testing.T, ctx context.Context, l *Lab, host string) []peer {
	t.Helper()
	var ps []peer
	for _, line := range strings.Split(strings.TrimSpace(execOut(t, ctx, l, host, "crm_node", "-l")), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("crm_node -l in %s: line %q", host, line)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("crm_node -l in %s: line %q", host, line)
		}
		ps = append(ps, peer{id, f[1], f[2]})
	}
	slices.SortFunc(ps, func(a, b peer) int { return a.id - b.id })
	return ps
}

// cibNodeIDs maps each uname of the live CIB's nodes section, read inside a host, to the ids
// it appears with (more than one: the name is there twice).
func cibNodeIDs(t *testing.T, ctx context.Context, l *Lab, host string) map[string][]string {
	t.Helper()
	var doc struct {
		Nodes []struct {
			ID    string `xml:"id,attr"`
			Uname string `xml:"uname,attr"`
		} `xml:"node"`
	}
	if err := xml.Unmarshal([]byte(execOut(t, ctx, l, host, "cibadmin", "--query", "--scope", "nodes")), &doc); err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{}
	for _, n := range doc.Nodes {
		ids[n.Uname] = append(ids[n.Uname], n.ID)
	}
	return ids
}

// checkIdentities checks, inside each of hosts, that Corosync's nodelist, the controller's peer
// cache and the CIB's nodes and status sections name every host of topo exactly once, with
// the topology's nodeid (and, in the nodelist, its address), and nothing else: no node of a
// replaced machine under another id, no node of a removed one.
func checkIdentities(t *testing.T, ctx context.Context, l *Lab, topo *topology.Topology, hosts []string) {
	t.Helper()
	var want []peer
	for _, h := range topo.Hosts {
		want = append(want, peer{h.NodeID, h.Name, h.Address.String()})
	}
	slices.SortFunc(want, func(a, b peer) int { return a.id - b.id })
	strip := func(ps []peer) []peer {
		out := make([]peer, len(ps))
		for i, p := range ps {
			out[i] = peer{id: p.id, name: p.name}
		}
		return out
	}
	for _, h := range hosts {
		if nodelist, _ := corosyncView(t, ctx, l, h); !slices.Equal(nodelist, want) {
			t.Errorf("corosync-cmapctl nodelist.node in %s: %+v, want %+v", h, nodelist, want)
		}
		if ps := controllerPeers(t, ctx, l, h); !slices.Equal(strip(ps), strip(want)) {
			t.Errorf("crm_node -l in %s (the controller's peer cache): %+v, want the names and ids %+v", h, ps, strip(want))
		}
		ids := cibNodeIDs(t, ctx, l, h)
		for _, w := range want {
			if got := ids[w.name]; !slices.Equal(got, []string{strconv.Itoa(w.id)}) {
				t.Errorf("the CIB's nodes section in %s: %s with ids %v, want %d alone", h, w.name, got, w.id)
			}
		}
		if len(ids) != len(want) {
			t.Errorf("the CIB's nodes section in %s names %v, want the %d hosts of the topology", h, ids, len(want))
		}
		nodes, states := cibNodes(t, ctx, l, h)
		var names []string
		for _, w := range want {
			names = append(names, w.name)
		}
		slices.Sort(names)
		if !slices.Equal(nodes, names) || !slices.Equal(states, names) {
			t.Errorf("the CIB in %s: nodes %v, node_state %v; want %v in each, once", h, nodes, states, names)
		}
	}
}

// waitNewDC waits until every host of rest sees the hosts of rest online, quorate, with a DC
// other than dc, and Pacemaker has nothing left to do.
func waitNewDC(t *testing.T, ctx context.Context, l *Lab, rest []string, dc string) {
	t.Helper()
	for _, h := range rest {
		hh, err := l.Host(h)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
			st, err := hh.Status(wctx)
			return err == nil && st.DC != "" && st.DC != dc && st.Quorate && len(st.Online) == len(rest), nil
		})
		cancel()
		if err != nil {
			t.Fatalf("%s: no new DC after %s's power-off: %v", h, dc, err)
		}
	}
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReplaceFreshLab replaces a failed host by a new machine of the same name at a new
// address, with the commands of docs/bootstrap.md's runbook, while the lab's client connects to
// the VIP every 20 ms. The VIP's holder is powered off for good (its VIP fails over); the
// members run the topology without it (bootstrap reloads corosync.conf: Corosync forgets the
// node and its address, and stops at the cib step, as the CIB still names it), then the
// topology with it at its new address and its old nodeid (reloaded again: Corosync refuses to
// give a node a new address in one reload), and the new machine is bootstrapped with the
// cluster's key. Then every member's corosync.conf, Corosync's nodelist and runtime members
// carry the new address, the three are online with 3 votes, crm_verify -L is clean, the VIP
// stayed where the failover put it and the client missed no attempt after the failover. Last
// the DC is powered off: the new DC writes its peer cache into the CIB, and the nodes, their
// ids and states are still the topology's, each once.
func TestReplaceFreshLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	m, dir, vipctl, vipAddr := freshMembers(t, ctx)
	l := m.l
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	victim := m.holder(t)
	topo0 := l.Topology()
	old, _ := topo0.Host(victim)
	newAddr := netip.AddrFrom4([4]byte{192, 0, 2, byte(20 + old.NodeID)})
	all := m.names()

	probe := startProbe(t, ctx, l, vipctl, vipAddr)
	failed := time.Now()
	if err := l.Fail(ctx, victim, false); err != nil {
		t.Fatal(err)
	}
	to := m.holder(t)
	if to == victim {
		t.Fatalf("%s holds the VIP after its power-off", victim)
	}

	// 1. The members run the topology without the failed host: Corosync forgets its address.
	m.leaveCorosync(t, labTopology(t, filepath.Join(dir, "without-"+victim+".hcl"), m.without(victim)), victim)
	left := m.names()
	for _, h := range left {
		if nodelist, _ := corosyncView(t, ctx, l, h); slices.ContainsFunc(nodelist, func(p peer) bool { return p.id == old.NodeID }) {
			t.Errorf("corosync-cmapctl in %s still lists nodeid %d after the reload: %+v", h, old.NodeID, nodelist)
		}
		if q := quorumIn(t, ctx, l, h); q != (quorum{expected: len(left), total: len(left), quorate: true}) {
			t.Errorf("corosync-quorumtool -s in %s without %s: %+v", h, victim, q)
		}
		// Pacemaker's controller keeps the node (lost) in its peer cache: same name, same id
		// as the machine that takes its place.
		t.Logf("crm_node -l in %s without %s in Corosync: %+v", h, victim, controllerPeers(t, ctx, l, h))
	}

	// 2. The topology with the host at its new address, same nodeid; 3. the new machine.
	var hosts []labHost // the topology as it was, but the host's address
	for _, h := range topo0.Hosts {
		if h.Name == victim {
			h.Address = newAddr
		}
		hosts = append(hosts, labHost{h.Name, h.Address.String(), h.NodeID})
	}
	addStarted := time.Now()
	if wrote := m.join(t, labTopology(t, filepath.Join(dir, "replaced-"+victim+".hcl"), hosts), victim); wrote != 0 {
		t.Errorf("%d members applied the CIB, want none (the group never lost %s)", wrote, victim)
	}
	checkMembers(t, ctx, l, all)
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(addStarted)
	changes := probe.stop(t)
	if now := m.holder(t); now != to {
		t.Errorf("the VIP moved from %s to %s during the replacement", to, now)
	}
	recovered := slices.IndexFunc(changes, func(c probeLine) bool { return c.answer != "" && !c.at.Before(failed) })
	if recovered < 0 {
		t.Fatalf("the client never reached the VIP after %s's power-off: %+v", victim, changes)
	}
	if after := outage(changes, changes[recovered].at); after > 0 || !slices.Equal(answerers(changes[recovered:]), []string{to}) {
		t.Errorf("after the failover to %s the client saw an outage of %v and answers from %v: %+v",
			to, after, answerers(changes[recovered:]), changes)
	}
	t.Logf("%s powered off: the VIP failed over to %s (client outage %v); replaced at %v in %.1f s with no outage",
		victim, to, outage(changes, failed), newAddr, took.Seconds())

	topo := l.Topology()
	for _, h := range all {
		conf := execOut(t, ctx, l, h, "cat", "/etc/corosync/corosync.conf")
		if !strings.Contains(conf, "ring0_addr: "+newAddr.String()) || strings.Contains(conf, "ring0_addr: "+old.Address.String()) {
			t.Errorf("%s's corosync.conf does not give %s its new address %v alone:\n%s", h, victim, newAddr, conf)
		}
		if h == victim {
			continue
		}
		if link := knetLink(t, ctx, l, h, old.NodeID); !strings.Contains(link, "->"+newAddr.String()+")") || !strings.Contains(link, " connected") {
			t.Errorf("corosync-cfgtool -n in %s: the link to nodeid %d is %q, want one connected to %v", h, old.NodeID, link, newAddr)
		}
		// Corosync writes runtime.members.N.ip at a nodeid's first join only: a member that
		// saw the old machine keeps its address there until its Corosync restarts.
		_, members := corosyncView(t, ctx, l, h)
		t.Logf("corosync-cmapctl runtime.members in %s: %+v", h, members)
	}
	checkIdentities(t, ctx, l, topo, all)

	// The DC goes: the new one writes its peer cache into the CIB's nodes and status sections.
	h0, err := l.Host(left[0])
	if err != nil {
		t.Fatal(err)
	}
	st, err := h0.Status(ctx)
	if err != nil || st.DC == "" {
		t.Fatalf("crm_mon in %s: DC %q, %v", left[0], st.DC, err)
	}
	dc := st.DC
	if err := l.Fail(ctx, dc, false); err != nil {
		t.Fatal(err)
	}
	rest := slices.DeleteFunc(slices.Clone(all), func(h string) bool { return h == dc })
	waitNewDC(t, ctx, l, rest, dc)
	h1, err := l.Host(rest[0])
	if err != nil {
		t.Fatal(err)
	}
	if st, err = h1.Status(ctx); err != nil || !slices.Equal(st.Offline, []string{dc}) {
		t.Errorf("crm_mon in %s after %s's power-off: offline %v (%v), want %s alone", rest[0], dc, st.Offline, err, dc)
	}
	t.Logf("the DC %s powered off; new DC %s, VIP on %s", dc, st.DC, m.holder(t))
	checkIdentities(t, ctx, l, topo, rest)
	var out bytes.Buffer
	if code, err := l.Exec(ctx, rest[0], []string{"crm_verify", "-L"}, nil, &out, &out); err != nil || code != 0 {
		t.Errorf("crm_verify -L in %s: exit %d, %v\n%s", rest[0], code, err, out.String())
	}
}

// TestRemovedNodeStaysInControllerCache shows why a host removed with crm_node --force --remove
// comes back into the CIB (docs/bootstrap.md, removing a host), in a plain lab: a host powered
// off, crm_node --force --remove on a member. The CIB forgets it on every member, but each
// controller's peer cache (crm_node -l) still lists it: the controller that gets the request
// passes it on to every controller without the node's name and id, so each purges nothing
// (Pacemaker 2.1.5's source). When the DC is lost, the new DC writes its peer cache into
// the CIB: the node is back in its nodes and status sections. When Debian's Pacemaker purges
// the controllers, this test fails: the runbook's warning is then to be revised.
func TestRemovedNodeStaysInControllerCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	l, _, _ := upLab(t, ctx, false)
	h1, err := l.Host("lab-1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := h1.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The removed host is not the DC, and crm_node runs on a member that is not the DC either,
	// so that the DC lost afterwards is the one that saw the request come in from the cluster.
	var gone, asker string
	for _, h := range []string{"lab-1", "lab-2", "lab-3"} {
		switch {
		case h == st.DC:
		case gone == "":
			gone = h
		default:
			asker = h
		}
	}
	if err := l.Fail(ctx, gone, false); err != nil {
		t.Fatal(err)
	}
	members := []string{st.DC, asker}
	for _, h := range members {
		hh, err := l.Host(h)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
			s, err := hh.Status(wctx)
			return err == nil && slices.Equal(s.Offline, []string{gone}), nil
		})
		cancel()
		if err != nil {
			t.Fatalf("%s does not see %s offline: %v", h, gone, err)
		}
	}
	execOut(t, ctx, l, asker, "crm_node", "--force", "--remove", gone)
	wctx, cancel2 := context.WithTimeout(ctx, time.Minute)
	defer cancel2()
	err = wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
		for _, h := range members {
			if nodes, states := cibNodes(t, ctx, l, h); slices.Contains(nodes, gone) || slices.Contains(states, gone) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the CIB still names %s a minute after crm_node --force --remove", gone)
	}
	for _, h := range members {
		ps := controllerPeers(t, ctx, l, h)
		if !slices.ContainsFunc(ps, func(p peer) bool { return p.name == gone && p.more == "lost" }) {
			t.Errorf("crm_node -l in %s: %+v; the controller forgot %s (fixed in this Pacemaker? then revise docs/bootstrap.md)", h, ps, gone)
		}
		t.Logf("crm_node -l in %s after crm_node --force --remove %s: %+v", h, gone, ps)
	}
	// The DC goes: the member left becomes DC (without quorum) and writes its peer cache.
	if err := l.Fail(ctx, st.DC, false); err != nil {
		t.Fatal(err)
	}
	ha, err := l.Host(asker)
	if err != nil {
		t.Fatal(err)
	}
	wctx3, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel3()
	var nodes, states []string
	err = wait.Until(wctx3, 500*time.Millisecond, func() (bool, error) {
		s, err := ha.Status(wctx3)
		if err != nil || s.DC != asker {
			return false, nil
		}
		nodes, states = cibNodes(t, ctx, l, asker)
		return slices.Contains(nodes, gone) && slices.Contains(states, gone), nil
	})
	if err != nil {
		t.Errorf("after the DC %s was lost, %s became DC and its CIB has nodes %v, node_state %v: %s did not come back (fixed? revise docs/bootstrap.md)",
			st.DC, asker, nodes, states, gone)
	}
	t.Logf("the DC %s lost: %s is DC, its CIB names %s again: nodes %v, node_state %v", st.DC, asker, gone, nodes, states)
}

// TestRemovalSurvivesDCChangeFreshLab removes a host for good from a cluster of four made by
// bootstrap from nothing, so that it stays removed: its daemons stopped, the members' bootstrap
// with the topology without it (reload, exit 1 at cib), then Pacemaker restarted on every member,
// one at a time, so that each controller starts again from Corosync's nodelist without the node
// (crm_node --force --remove cannot purge a controller's peer cache: see
// TestRemovedNodeStaysInControllerCache); then crm_node --force --remove and bootstrap again (one
// member applies the CIB). Then the DC is powered off: the new DC's CIB, and every member's, still
// lacks the node, and crm_node -l does not list it.
func TestRemovalSurvivesDCChangeFreshLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	four := labTopology(t, filepath.Join(t.TempDir(), "four.hcl"),
		[]labHost{{"lab-1", "192.0.2.11", 1}, {"lab-2", "192.0.2.12", 2}, {"lab-3", "192.0.2.13", 3}, {"lab-4", "192.0.2.14", 4}})
	m, dir, vipctl, vipAddr := freshMembersWith(t, ctx, Options{Fresh: true, TopologyFile: four})
	l := m.l
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	was := m.holder(t)
	h1, err := l.Host("lab-1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := h1.Status(ctx)
	if err != nil || st.DC == "" {
		t.Fatalf("crm_mon in lab-1: DC %q, %v", st.DC, err)
	}
	// The host to remove holds no VIP and is not the DC: the drain of a holder is
	// TestMembershipFreshLab's; this test is about what Pacemaker remembers.
	victim := ""
	for _, h := range m.names() {
		if h != was && h != st.DC {
			victim = h
		}
	}
	execOut(t, ctx, l, victim, "systemctl", "stop", "pacemaker", "corosync")
	m.leaveCorosync(t, labTopology(t, filepath.Join(dir, "without-"+victim+".hcl"), m.without(victim)), victim)
	left := m.names()

	probe := startProbe(t, ctx, l, vipctl, vipAddr)
	restarted := time.Now()
	holderNow := m.holder(t)
	order := slices.DeleteFunc(slices.Clone(left), func(h string) bool { return h == holderNow })
	order = append(order, holderNow) // the VIP's holder last: its restart moves the VIP
	for _, h := range order {
		execOut(t, ctx, l, h, "systemctl", "restart", "pacemaker")
		hh, err := l.Host(h)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = hh.WaitOnline(wctx, len(left))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if ps := controllerPeers(t, ctx, l, h); slices.ContainsFunc(ps, func(p peer) bool { return p.name == victim }) {
			t.Errorf("crm_node -l in %s after its Pacemaker restarted: %+v, still lists %s", h, ps, victim)
		}
	}
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	changes := probe.stop(t)
	t.Logf("Pacemaker restarted on %v in %.1f s; the client's outage %v, answers from %v",
		order, time.Since(restarted).Seconds(), outage(changes, restarted), answerers(changes))

	execOut(t, ctx, l, left[0], "crm_node", "--force", "--remove", victim)
	wctx, cancel2 := context.WithTimeout(ctx, time.Minute)
	defer cancel2()
	if err := wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
		for _, h := range left {
			if nodes, states := cibNodes(t, ctx, l, h); slices.Contains(nodes, victim) || slices.Contains(states, victim) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("a minute after crm_node --force --remove a member's CIB still names %s", victim)
	}
	wroteCIB := 0
	for _, h := range left {
		_, r, err := m.b.on(h, "-f", l.State().Topology)
		if err != nil {
			t.Fatal(err)
		}
		if statusOf(r, "cib") == bootstrap.StatusChanged {
			wroteCIB++
		}
	}
	if wroteCIB != 1 {
		t.Errorf("%d members applied the CIB without %s, want 1", wroteCIB, victim)
	}
	checkMembers(t, ctx, l, left)
	checkIdentities(t, ctx, l, l.Topology(), left)

	// The DC goes: the new DC writes its peer cache into the CIB, which must not bring the node back.
	st, err = h1.Status(ctx)
	if err != nil || st.DC == "" {
		t.Fatalf("crm_mon in lab-1: DC %q, %v", st.DC, err)
	}
	dc := st.DC
	if err := l.Fail(ctx, dc, false); err != nil {
		t.Fatal(err)
	}
	rest := slices.DeleteFunc(slices.Clone(left), func(h string) bool { return h == dc })
	waitNewDC(t, ctx, l, rest, dc)
	checkIdentities(t, ctx, l, l.Topology(), rest)
	t.Logf("removed %s; the DC %s powered off afterwards, %s's CIB still without %s", victim, dc, rest[0], victim)
}
