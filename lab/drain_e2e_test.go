package lab

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/journal"
)

// holderTrace records, every 20 ms through netlink in each host, which hosts hold a group's
// VIP, as the successive distinct sets.
type holderTrace struct {
	cancel context.CancelFunc
	done   chan struct{}
	sets   [][]string
	err    error
}

func (d *drill) trace() *holderTrace {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &holderTrace{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		_ = wait.Until(ctx, 20*time.Millisecond, func() (bool, error) {
			hs, err := d.holders()
			switch {
			case err != nil:
				tr.err = cmp.Or(tr.err, err)
			case len(tr.sets) == 0 || !slices.Equal(tr.sets[len(tr.sets)-1], hs):
				tr.sets = append(tr.sets, hs)
			}
			return false, nil // until stop
		})
	}()
	return tr
}

// stop ends the trace and returns the holder sets seen, in order.
func (tr *holderTrace) stop(t *testing.T) [][]string {
	t.Helper()
	tr.cancel()
	<-tr.done
	if tr.err != nil {
		t.Errorf("tracing the VIP's holders: %v", tr.err)
	}
	return tr.sets
}

// moves counts the times a host other than the last one came to hold the VIP alone.
func moves(sets [][]string) int {
	n, last := 0, ""
	for i, s := range sets {
		if len(s) != 1 {
			continue
		}
		if i > 0 && s[0] != last {
			n++
		}
		last = s[0]
	}
	return n
}

// schedulerLines returns the lines of host's Pacemaker log written by the scheduler about rsc
// or a transition (what it decided and from which pe-input file), from the line after skip on.
func schedulerLines(l *Lab, host, rsc string, skip int) ([]string, int) {
	f, err := os.Open(l.PacemakerLog(host))
	if err != nil {
		return []string{err.Error()}, skip
	}
	defer f.Close()
	var lines []string
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
		s := sc.Text()
		if n <= skip || !strings.Contains(s, "pacemaker-schedulerd") && !strings.Contains(s, "pacemaker-controld") {
			continue
		}
		if strings.Contains(s, rsc) || strings.Contains(s, "pe-input") || strings.Contains(s, "Transition") {
			lines = append(lines, s)
		}
	}
	return lines, n
}

// drainer drains a lab's VIP holder again and again, counting the VIP's moves per drain.
type drainer struct {
	d      *drill
	vipctl string
	addr   string         // VIP:port the client probes
	logAt  map[string]int // how far each host's Pacemaker log was read
	total  int
}

func newDrainer(t *testing.T, l *Lab, vipctl string) *drainer {
	t.Helper()
	g := l.Topology().Groups[0]
	cs := l.Topology().ClustersOf(g.Name)
	if len(cs) == 0 {
		t.Fatal("the lab's topology has no cluster port to probe")
	}
	dr := &drainer{d: &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}, vipctl: vipctl, logAt: map[string]int{}}
	dr.addr = netip.AddrPortFrom(dr.d.vip, uint16(cs[0].Port)).String()
	dr.skipLogs()
	return dr
}

// skipLogs moves past what the hosts' Pacemaker logs hold now and returns the scheduler's and
// controller's lines about the VIP since the last call, per host.
func (dr *drainer) skipLogs() map[string][]string {
	got := map[string][]string{}
	for _, h := range dr.d.l.State().Hosts {
		got[h.Name], dr.logAt[h.Name] = schedulerLines(dr.d.l, h.Name, dr.d.group.VIPID(), dr.logAt[h.Name])
	}
	return got
}

// drain drains the VIP's holder, runs after (nil: nothing), and watches the VIP until the
// cluster has settled and a little longer than the health agent's monitor (5 s), whose
// attribute updates start transitions of their own: it fails the test unless the VIP moved
// exactly once. It returns the drained host, the new holder and when the drain began.
func (dr *drainer) drain(ctx context.Context, i int, after func(from string)) (from, to string, started time.Time) {
	t, d := dr.d.t, dr.d
	t.Helper()
	from = d.holder(ctx)
	dr.skipLogs()
	tr := d.trace()
	probe := startProbe(t, ctx, d.l, dr.vipctl, dr.addr)
	started = time.Now()
	if code, _, _ := vipctlIn(t, ctx, d.l, dr.vipctl, from, "host", "drain", from); code != 0 {
		t.Fatalf("drain %d: host drain %s: exit %d", i, from, code)
	}
	answered := time.Since(started)
	if after != nil {
		after(from)
	}
	dr.settleWithout(ctx, from)
	time.Sleep(6 * time.Second)
	dr.settleWithout(ctx, from)
	sets := tr.stop(t)
	changes := probe.stop(t)
	n := moves(sets)
	dr.total += n
	t.Logf("drain %d of %s: answered elsewhere after %.1f s; holders %v: %d move(s); client outage %v, answered by %v",
		i, from, answered.Seconds(), sets, n, outage(changes, started), answerers(changes))
	lines := dr.skipLogs()
	if n != 1 {
		t.Errorf("drain %d of %s moved the VIP %d times (holders %v), want once", i, from, n, sets)
		for h, ls := range lines {
			t.Logf("%s's scheduler and controller:\n%s", h, strings.Join(ls, "\n"))
		}
	}
	if last := sets[len(sets)-1]; len(last) == 1 {
		to = last[0]
	}
	return from, to, started
}

// settleWithout is Lab.Settle asked in a host other than not, whose daemons may be stopped.
func (dr *drainer) settleWithout(ctx context.Context, not string) {
	t := dr.d.t
	t.Helper()
	i := slices.IndexFunc(dr.d.group.Hosts, func(h string) bool { return h != not })
	h, err := dr.d.l.Host(dr.d.group.Hosts[i])
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := h.Command(wctx, "crm_resource", "--wait", "--timeout=100s").CombinedOutput(); err != nil {
		t.Fatalf("crm_resource --wait in %s: %v: %s", dr.d.group.Hosts[i], err, out)
	}
	if err := dr.d.l.WaitHeld(ctx); err != nil {
		t.Fatal(err)
	}
}

// journalsHaveMove waits (deadline 40 s: the stop's alert waits for the cluster to settle)
// until the journals of hosts hold the move from -> to since started, as journal.Moves derives
// it (what vipctl_vip_moves_total counts).
func (dr *drainer) journalsHaveMove(ctx context.Context, from, to string, started time.Time, hosts ...string) {
	t := dr.d.t
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	rsc := dr.d.group.VIPID()
	for _, h := range hosts {
		var moves []journal.Move
		err := wait.Until(ctx, 200*time.Millisecond, func() (bool, error) {
			events, _, err := journal.Journal{Path: dr.d.l.Journal(h)}.Read(time.Time{})
			if err != nil {
				return false, err
			}
			moves = journal.Moves(events, func(r string) bool { return r == rsc })
			return slices.ContainsFunc(moves, func(m journal.Move) bool {
				return m.From == from && m.To == to && !m.Time.Before(started.Add(-time.Second))
			}), nil
		})
		if err != nil {
			b, _ := os.ReadFile(dr.d.l.Journal(h))
			t.Errorf("%s's journal has no move %s -> %s of %s since the drain (%v); its moves: %+v\n%s", h, from, to, rsc, err, moves, b)
		}
	}
}

// keepEvidence copies the lab's host directories (Pacemaker logs, pe-input files) to
// $VIPCTL_DRAIN_EVIDENCE/<test name> when set.
func keepEvidence(t *testing.T, dir string) {
	if keep := os.Getenv("VIPCTL_DRAIN_EVIDENCE"); keep != "" {
		if out, err := exec.Command("cp", "-a", filepath.Join(dir, hostsSubdir), filepath.Join(keep, t.Name())).CombinedOutput(); err != nil {
			t.Logf("keeping the evidence: %v: %s", err, out)
		}
	}
}

// TestDrainMovesOnce drains the VIP's holder several times, undraining it after each, and
// asserts that each drain moved the VIP once: from the drained host straight to the host where
// it then stays, with no second move once it answered there. A client connects to VIP:port
// every 20 ms; its outage per drain is logged. The scheduler's lines of every host's Pacemaker
// log are logged for a drain that moved the VIP more than once.
func TestDrainMovesOnce(t *testing.T) {
	const drains = 4
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, dir, vipctl := upLab(t, ctx, false)
	t.Cleanup(func() { keepEvidence(t, dir) }) // before the lab's Down
	dr := newDrainer(t, l, vipctl)
	dr.d.settle(ctx)
	for i := range drains {
		from, to, started := dr.drain(ctx, i+1, nil)
		// Both ends of the move journal it (vipctl_vip_moves_total on both).
		dr.journalsHaveMove(ctx, from, to, started, from, to)
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, from, "host", "undrain", from); code != 0 {
			t.Fatalf("drain %d: host undrain %s: exit %d", i+1, from, code)
		}
		dr.d.settle(ctx)
	}
	t.Logf("%d drains: %d moves", drains, dr.total)
}

// TestDrainMovesOnceFresh is TestDrainMovesOnce in a cluster bootstrap made from nothing, grown
// to four hosts while it serves, each drain followed by the host's daemons stopped (the
// runbook of a host leaving, docs/bootstrap.md) and started again before the undrain.
func TestDrainMovesOnceFresh(t *testing.T) {
	const drains = 4
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, dir, vipctl := upLabWith(t, ctx, Options{Fresh: true})
	t.Cleanup(func() { keepEvidence(t, dir) }) // before the lab's Down
	m := &members{l: l, b: &bootstrapper{l: l, ctx: ctx, vipctl: vipctl}, ctx: ctx, key: filepath.Join(dir, "authkey")}
	m.b.all(t, true, "-f", l.State().Topology, "--authkey", m.key)
	if err := l.WaitHeld(ctx); err != nil {
		t.Fatal(err)
	}
	m.join(t, labTopology(t, filepath.Join(dir, "four.hcl"), append(m.without(""), labHost{"lab-4", "192.0.2.14", 4})), "lab-4")
	checkMembers(t, ctx, l, m.names())
	dr := newDrainer(t, l, vipctl)
	dr.d.settle(ctx)
	systemctl := func(host string, args ...string) {
		var out bytes.Buffer
		if code, err := l.Exec(ctx, host, append([]string{"systemctl"}, args...), nil, &out, &out); err != nil || code != 0 {
			t.Fatalf("systemctl %v in %s: exit %d, %v\n%s", args, host, code, err, out.String())
		}
	}
	for i := range drains {
		from, to, started := dr.drain(ctx, i+1, func(from string) { systemctl(from, "stop", "pacemaker", "corosync") })
		dr.journalsHaveMove(ctx, from, to, started, to)
		systemctl(from, "start", "corosync")
		systemctl(from, "start", "pacemaker")
		checkMembers(t, ctx, l, m.names())
		// The old holder's stop alert may not have seen the cluster settle before its Pacemaker
		// stopped; its rejoin records where the VIP runs.
		dr.journalsHaveMove(ctx, from, to, started, from)
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, from, "host", "undrain", from); code != 0 {
			t.Fatalf("drain %d: host undrain %s: exit %d", i+1, from, code)
		}
		dr.d.settle(ctx)
	}
	t.Logf("%d drains: %d moves", drains, dr.total)
}
