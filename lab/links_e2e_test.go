package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// twoLinkTopology is the lab's own topology with a second Corosync link per host on its own
// subnet (and so its own bridge).
const twoLinkTopology = `
corosync {
  cluster_name = "lab"
  token_ms     = 1000
}
pacemaker {
  stonith_enabled     = false
  no_quorum_policy    = "stop"
  resource_stickiness = 100
}
host "lab-1" { addresses = ["192.0.2.11", "198.51.100.11"] }
host "lab-2" { addresses = ["192.0.2.12", "198.51.100.12"] }
host "lab-3" { addresses = ["192.0.2.13", "198.51.100.13"] }
host_group "lab" {
  hosts = ["lab-1", "lab-2", "lab-3"]
  vip {
    address = "192.0.2.100/24"
    nic     = "eth0"
  }
}
cluster "demo" {
  host_group   = "lab"
  port         = 5001
  patroni_port = 8008
  image        = "postgres:15"
}
`

// TestTwoLinks: with two Corosync links, cutting the holder's second link changes nothing
// (no failover, the VIP stays); cutting its main link too isolates it and the VIP fails over.
// Cutting the main link alone is not the drill: it carries the VIP's subnet, so clients could
// not reach the holder however Corosync fares.
func TestTwoLinks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	topo := filepath.Join(t.TempDir(), "two-links.hcl")
	if err := os.WriteFile(topo, []byte(twoLinkTopology), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, _ := upLabWith(t, ctx, Options{TopologyFile: topo})
	g := l.Topology().Groups[0]
	d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
	old := d.holder(ctx)
	s := d.sample()
	if err := l.FailLink(ctx, old, 1); err != nil {
		t.Fatal(err)
	}
	// Well past Corosync's detection (about 3.6 s at token 1000 ms) and a Pacemaker transition.
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		hs, err := d.holders()
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 1 || hs[0] != old {
			t.Fatalf("with one link of %s cut the VIP is held by %v, want it to stay on %s", old, hs, old)
		}
		time.Sleep(100 * time.Millisecond)
	}
	h, err := l.Host(old)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h.Status(ctx); err != nil || !st.Quorate {
		t.Errorf("%s with one link left: quorate %v (err %v), want a quorate member", old, st.Quorate, err)
	}
	if max := s.stop(); max > 1 {
		t.Errorf("with one link cut %d hosts held the VIP at once", max)
	}
	// Both links cut: isolated, it keeps the VIP until it notices it lost quorum (as in the
	// one-link drill of TestLabDrills), while the others take it.
	if err := l.FailLink(ctx, old, 0); err != nil {
		t.Fatal(err)
	}
	survivor := d.waitHolderOtherThanKeeping(ctx, old)
	d.waitHolders(ctx, func(h []string) bool { return len(h) == 1 && h[0] == survivor }, "the isolated host to drop the VIP")
	d.heal(ctx)
	if got := d.holder(ctx); got != survivor {
		t.Errorf("after heal the VIP is on %s, want it to stay on %s", got, survivor)
	}
}
