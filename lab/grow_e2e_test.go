package lab

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
)

// quorumFlags is the Flags line of corosync-quorumtool -s inside a host ("2Node Quorate
// WaitForAll", "Quorate", ...), split into words.
func quorumFlags(t *testing.T, ctx context.Context, l *Lab, host string) []string {
	t.Helper()
	var out bytes.Buffer
	if _, err := l.Exec(ctx, host, []string{"corosync-quorumtool", "-s"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Flags:\s*(.*)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("corosync-quorumtool -s in %s has no Flags line:\n%s", host, out.String())
	}
	return strings.Fields(m[1])
}

// runtimeTwoNode is what the running votequorum of a host applies: corosync-cmapctl's
// runtime.votequorum.two_node (1 or 0).
func runtimeTwoNode(t *testing.T, ctx context.Context, l *Lab, host string) string {
	t.Helper()
	var out bytes.Buffer
	if code, err := l.Exec(ctx, host, []string{"corosync-cmapctl", "-g", "runtime.votequorum.two_node"}, nil, &out, &out); err != nil || code != 0 {
		t.Fatalf("corosync-cmapctl -g runtime.votequorum.two_node in %s: exit %d, %v\n%s", host, code, err, out.String())
	}
	s := strings.TrimSpace(out.String())
	return s[strings.LastIndexByte(s, ' ')+1:]
}

// addServing adds the named host with join (topoFile names it) while the lab's client
// connects to vipAddr every 20 ms, and checks the members (checkMembers, then check) and that
// the change cost nothing: the old members' Corosync kept its pid (reloaded, not restarted),
// the VIP stayed on its holder, and the client saw that host alone answer, with no failed
// attempt. It returns the holder, how long the change took and the client's outage.
func (m *members) addServing(t *testing.T, vipctl, vipAddr, topoFile, name string, check func()) (string, time.Duration, time.Duration) {
	t.Helper()
	ctx, l := m.ctx, m.l
	was := m.holder(t)
	old := m.names()
	corosyncPid := map[string]string{}
	for _, h := range old {
		corosyncPid[h] = pidIn(t, ctx, l, h, "corosync")
	}
	probe := startProbe(t, ctx, l, vipctl, vipAddr)
	started := time.Now()
	if wrote := m.join(t, topoFile, name); wrote != 1 {
		t.Errorf("%d members applied the CIB (the group's new host), want 1", wrote)
	}
	checkMembers(t, ctx, l, m.names())
	check()
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(started)
	changes := probe.stop(t)
	for _, h := range old {
		if now := pidIn(t, ctx, l, h, "corosync"); now != corosyncPid[h] || now == "" {
			t.Errorf("%s: corosync pid %s → %s: it was restarted, not reloaded", h, corosyncPid[h], now)
		}
	}
	if now := m.holder(t); now != was {
		t.Errorf("the VIP moved from %s to %s", was, now)
	}
	out := outage(changes, started)
	if got := answerers(changes); !slices.Equal(got, []string{was}) || out > 0 {
		t.Errorf("the client saw answers from %v and an outage of %v; want %s alone, no outage: %+v", got, out, was, changes)
	}
	return was, took, out
}

// TestGrowTwoHostsFreshLab grows a two-host cluster made by bootstrap from nothing to three
// hosts while the lab's client connects to the VIP every 20 ms, with the commands of
// docs/bootstrap.md ("Growing a two-host cluster"). Two hosts run votequorum's two_node
// (corosync-quorumtool: 2 expected votes, flags 2Node and WaitForAll). The third host is added
// to the topology: the members write the corosync.conf of three hosts, without two_node, and
// reload it (corosync-cfgtool -R, same corosync pid), the new host joins. Then every host counts
// 3 expected and total votes, quorate, without 2Node or WaitForAll (the running votequorum's
// runtime.votequorum.two_node is 0), the CIB is valid, and the VIP neither moved nor missed an
// attempt. The rules of two hosts no longer apply: with the holder powered off the other two
// stay quorate (3 expected, 2 votes) and one of them takes the VIP; with a second host powered
// off the last one loses quorum and stops the VIP, as a host of three must (two_node left in
// place would keep it quorate alone).
func TestGrowTwoHostsFreshLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	two := labTopology(t, filepath.Join(t.TempDir(), "two.hcl"), []labHost{{"lab-1", "192.0.2.11", 1}, {"lab-2", "192.0.2.12", 2}})
	m, dir, vipctl, vipAddr := freshMembersWith(t, ctx, Options{Fresh: true, TopologyFile: two})
	l, g := m.l, m.l.Topology().Groups[0]
	holder := m.holder
	holder(t)
	for _, h := range m.names() {
		if q := quorumIn(t, ctx, l, h); q != (quorum{expected: 2, total: 2, quorate: true}) {
			t.Errorf("two hosts: corosync-quorumtool -s in %s: %+v; want 2 expected and total votes, quorate", h, q)
		}
		if f := quorumFlags(t, ctx, l, h); !slices.Contains(f, "2Node") || !slices.Contains(f, "WaitForAll") {
			t.Errorf("two hosts: corosync-quorumtool -s in %s: flags %v; want 2Node and WaitForAll", h, f)
		}
	}

	t.Run("add a third host while the cluster serves", func(t *testing.T) {
		three := labTopology(t, filepath.Join(dir, "three.hcl"), append(m.without(""), labHost{"lab-3", "192.0.2.13", 3}))
		was, took, out := m.addServing(t, vipctl, vipAddr, three, "lab-3", func() {
			var qt bytes.Buffer
			if _, err := l.Exec(ctx, "lab-3", []string{"corosync-quorumtool", "-s"}, nil, &qt, &qt); err != nil {
				t.Fatal(err)
			}
			t.Logf("lab-3: corosync-quorumtool -s\n%s", qt.String())
			for _, h := range m.names() {
				if f := quorumFlags(t, ctx, l, h); slices.Contains(f, "2Node") || slices.Contains(f, "WaitForAll") || !slices.Contains(f, "Quorate") {
					t.Errorf("three hosts: corosync-quorumtool -s in %s: flags %v; want Quorate without 2Node and WaitForAll", h, f)
				}
				if v := runtimeTwoNode(t, ctx, l, h); v != "0" {
					t.Errorf("three hosts: runtime.votequorum.two_node in %s is %s, want 0", h, v)
				}
			}
		})
		t.Logf("grew to three hosts in %.1f s; the client's outage: %v (VIP on %s throughout)", took.Seconds(), out, was)
	})

	t.Run("power-offs follow the rules of three hosts", func(t *testing.T) {
		victim := holder(t)
		probe := startProbe(t, ctx, l, vipctl, vipAddr)
		off := time.Now()
		if err := l.Fail(ctx, victim, false); err != nil {
			t.Fatal(err)
		}
		to := holder(t)
		if to == victim {
			t.Fatalf("the powered-off %s still holds the VIP", victim)
		}
		var left []string
		for _, h := range m.names() {
			if h != victim {
				left = append(left, h)
			}
		}
		for _, h := range left {
			if q := quorumIn(t, ctx, l, h); q != (quorum{expected: 3, total: 2, quorate: true}) {
				t.Errorf("%s powered off: corosync-quorumtool -s in %s: %+v; want 3 expected, 2 total votes, quorate", victim, h, q)
			}
		}
		changes := probe.stop(t)
		t.Logf("%s powered off: the VIP moved to %s; the client's outage %v", victim, to, outage(changes, off))

		// A second power-off (the new holder) leaves one host of three: no quorum, so no VIP.
		last := left[0]
		if last == to {
			last = left[1]
		}
		if err := l.Fail(ctx, to, false); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var q quorum
		var hs []string
		err := wait.Until(wctx, 200*time.Millisecond, func() (bool, error) {
			q = quorumIn(t, ctx, l, last)
			var err error
			hs, err = l.Holders(g.Name)
			return !q.quorate && len(hs) == 0, err
		})
		if err != nil {
			t.Errorf("%s alone of three: corosync-quorumtool -s %+v, VIP holders %v; want no quorum and no holder (%v)", last, q, hs, err)
		}
		if q.expected != 3 || q.total != 1 {
			t.Errorf("%s alone of three: corosync-quorumtool -s %+v; want 3 expected votes, 1 total", last, q)
		}
	})
}
