package lab

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
)

// fencedTopology writes the lab's FencedTopology to a file of the test.
func fencedTopology(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fenced.hcl")
	if err := os.WriteFile(path, []byte(FencedTopology), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFencingInLab: with fencing on, the cut-off holder of the VIP is fenced through the lab's
// BMC (powered off and booted again) before a survivor starts the VIP, so no two hosts ever hold
// it, even while the cut lasts; the rebooted host comes back isolated, without quorum, and
// rejoins once the link is back.
func TestFencingInLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, vipctl := upLabWith(t, ctx, Options{TopologyFile: fencedTopology(t)})
	g := l.Topology().Groups[0]
	d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}

	t.Run("the agent inside a host", func(t *testing.T) {
		d.t = t
		var out strings.Builder
		code, err := l.Exec(ctx, "lab-1", []string{FenceAgentName, "-o", "status", "-n", "lab-2"}, nil, &out, &out)
		if err != nil || code != 0 || strings.TrimSpace(out.String()) != "Status: ON" {
			t.Errorf("%s -o status -n lab-2 in lab-1: exit %d, %v, %q; want 0 and Status: ON", FenceAgentName, code, err, out.String())
		}
		// lab-1's fencer has the devices that fence the two others, and not its own (the CIB
		// keeps a device off the host it fences).
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		defer wcancel()
		err = wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
			out.Reset()
			code, err := l.Exec(wctx, "lab-1", []string{"stonith_admin", "--list-registered"}, nil, &out, &out)
			return err == nil && code == 0 && strings.Count(out.String(), "vipctl-fence-power-lab-") == 2, err
		})
		if err != nil {
			t.Fatalf("stonith_admin --list-registered in lab-1: %v: %q", err, out.String())
		}
		if !strings.Contains(out.String(), "vipctl-fence-power-lab-2") || !strings.Contains(out.String(), "vipctl-fence-power-lab-3") {
			t.Errorf("lab-1's fencer has %q; want the devices of lab-2 and lab-3", out.String())
		}
	})

	t.Run("cut-off holder fenced before the VIP moves", func(t *testing.T) {
		d.t = t
		old := d.holder(ctx)
		s := d.sample()
		cut := time.Now()
		if err := l.Fail(ctx, old, true); err != nil {
			t.Fatal(err)
		}
		survivor := d.waitHolderOtherThan(ctx, old)
		moved := time.Since(cut)
		if got := d.connect(ctx, vipctl); got != survivor {
			t.Errorf("client reached %q after the failover, want %s", got, survivor)
		}
		if n := s.stop(); n > 1 {
			t.Errorf("while %s was cut off, %d running hosts held the VIP at once", old, n)
		}
		acts, err := l.FenceActions()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(acts, func(a FenceAction) bool { return a.Host == old && a.Action == "reboot" && a.At.After(cut) })
		if i < 0 {
			t.Fatalf("the BMC did not reboot %s after the cut: %+v", old, acts)
		}
		if acts[i].Error != "" {
			t.Fatalf("the BMC's reboot of %s failed: %s", old, acts[i].Error)
		}
		t.Logf("%s cut at %s; fenced %v later (reboot took %v); the VIP on %s after %v",
			old, cut.Format(time.StampMilli), acts[i].At.Sub(cut).Round(time.Millisecond), acts[i].Duration.Round(time.Millisecond), survivor, moved.Round(time.Millisecond))
		// The rebooted host runs again, alone: no quorum, no VIP.
		if on, err := l.Powered(old); err != nil || !on {
			t.Errorf("%s is not on after its reboot (%v)", old, err)
		}
		var out strings.Builder
		code, err := l.Exec(ctx, survivor, []string{"stonith_admin", "--history", old}, nil, &out, &out)
		if err != nil || code != 0 || !strings.Contains(out.String(), "reboot") || !strings.Contains(out.String(), "successful") {
			t.Errorf("stonith_admin --history %s in %s: exit %d, %v: %q; want a successful reboot", old, survivor, code, err, out.String())
		}
		d.heal(ctx)
		if got := d.holder(ctx); got != survivor {
			t.Errorf("after the heal the VIP is on %s, want it to stay on %s", got, survivor)
		}
	})
}
