package lab

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
)

// TestFailedStartInLab fails one real start of the VIP and checks that it costs its host one
// failure, not the VIP: the lab's client namespace holds the VIP's address (a duplicate on the
// wire, like a lost holder that has not let go) while the VIP is moved to a host; that host's
// agent probes, finds the address answered, waits until shortly before its start times out and
// fails. With vipctl's start-failure-is-fatal=false the fail count there is 1, not INFINITY:
// once the duplicate is gone Pacemaker starts the VIP there again, the VIP runs on exactly one
// host, and a later move to that host works, all without `crm_resource --cleanup`.
func TestFailedStartInLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, vipctl := upLab(t, ctx, false)
	g := l.Topology().Groups[0]
	d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
	rsc := "vip-" + g.Name

	from := d.holder(ctx)
	target, third := "", ""
	for _, h := range g.Hosts {
		switch {
		case h == from:
		case target == "":
			target = h
		case third == "":
			third = h
		}
	}
	if third == "" {
		t.Fatalf("group %v: want three hosts", g.Hosts)
	}
	if got := failCount(t, ctx, l, from, rsc, target); got != "0" {
		t.Fatalf("fail count of %s on %s before the drill = %s, want 0", rsc, target, got)
	}

	// The duplicate: the client answers ARP for the VIP's address.
	client := l.State().Client.NetNS
	dup := d.vip.String() + "/32"
	clientIP := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", client, "ip"}, args...)...).CombinedOutput()
		if err != nil {
			t.Logf("ip %s in %s: %v: %s", strings.Join(args, " "), client, err, out)
		}
		return err
	}
	if err := clientIP("addr", "add", dup, "dev", clientNIC); err != nil {
		t.Fatal(err)
	}
	duplicate := true
	t.Cleanup(func() {
		if duplicate {
			_ = clientIP("addr", "del", dup, "dev", clientNIC)
		}
	})

	// Move the VIP to target: its holder stops it, target's start finds the address answered.
	crm := func(host string, args ...string) {
		t.Helper()
		h, err := l.Host(host)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := h.Command(ctx, "crm_resource", args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: crm_resource %s: %v: %s", host, strings.Join(args, " "), err, out)
		}
	}
	began := time.Now()
	crm(from, "--resource", rsc, "--move", "--node", target)
	t.Cleanup(func() {
		h, err := l.Host(from)
		if err == nil {
			_ = h.Command(context.Background(), "crm_resource", "--resource", rsc, "--clear").Run()
		}
	})

	// Wait for the start on target to fail (the agent waits up to 17 s), then take the
	// duplicate away at once, so that the start Pacemaker runs next finds the address free.
	var count string
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	err := wait.Until(wctx, 200*time.Millisecond, func() (bool, error) {
		count = failCount(t, ctx, l, from, rsc, target)
		return count != "0", nil
	})
	wcancel()
	if err != nil {
		t.Fatalf("no failed start of %s on %s with the duplicate on the wire: %v", rsc, target, err)
	}
	t.Logf("%s: fail count of %s = %s, %s after the move", target, rsc, count, time.Since(began).Round(time.Millisecond))
	if err := clientIP("addr", "del", dup, "dev", clientNIC); err != nil {
		t.Fatal(err)
	}
	duplicate = false
	if count != "1" {
		t.Fatalf("fail count of %s on %s after one failed start = %s, want 1 (start-failure-is-fatal=false)", rsc, target, count)
	}
	if log, err := os.ReadFile(l.PacemakerLog(target)); err != nil {
		t.Error(err)
	} else if !regexp.MustCompile(regexp.QuoteMeta(rsc) + `_start_0.*answers for ` + regexp.QuoteMeta(d.vip.String())).Match(log) {
		t.Errorf("%s's Pacemaker log has no start of %s that found %s answered elsewhere", target, rsc, d.vip)
	}

	// Not banned: the move constraint still prefers target and Pacemaker starts the VIP there.
	d.settle(ctx)
	if got, _ := d.holders(); !slices.Equal(got, []string{target}) {
		t.Errorf("after the failed start and the duplicate gone, %v hold the VIP, want [%s] (not banned)", got, target)
	}
	if got := failCount(t, ctx, l, from, rsc, target); got != "1" {
		t.Errorf("fail count of %s on %s once the VIP runs = %s, want 1", rsc, target, got)
	}
	crm(from, "--resource", rsc, "--clear")

	// A later move away and back to target works: the host is eligible, no cleanup ran.
	for _, to := range []string{third, target} {
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, from, "vip", "move", g.Name, "--to", to); code != 0 {
			t.Fatalf("vip move --to %s: exit %d", to, code)
		}
		if got := d.holder(ctx); got != to {
			t.Fatalf("after vip move --to %s, %s holds the VIP", to, got)
		}
	}
	if got := failCount(t, ctx, l, from, rsc, target); got != "1" {
		t.Errorf("fail count of %s on %s at the end = %s, want 1 (nothing cleaned it up)", rsc, target, got)
	}
	if code, _, _ := vipctlIn(t, ctx, l, vipctl, from, "vip", "unmove", g.Name); code != 0 {
		t.Errorf("vip unmove: exit %d", code)
	}
}

// failCount returns the fail count of rsc on node that crm_failcount reads on host ("0" when
// there is none, "INFINITY" when Pacemaker set it so).
func failCount(t *testing.T, ctx context.Context, l *Lab, host, rsc, node string) string {
	t.Helper()
	h, err := l.Host(host)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Command(ctx, "crm_failcount", "--query", "--resource", rsc, "--node", node).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: crm_failcount: %v: %s", host, err, out)
	}
	m := regexp.MustCompile(`value=(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s: crm_failcount printed no value: %s", host, out)
	}
	return string(m[1])
}
