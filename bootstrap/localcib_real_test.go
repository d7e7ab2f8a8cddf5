package bootstrap

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/pcmkhost"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

const soloTopology = `
datacenters = ["dc1"]
corosync {
  cluster_name = "bs-test"
}
pacemaker {
  stonith_enabled = false
}
host "solo" {
  address = "127.0.0.1"
  nodeid  = 1
}
host_group "g" {
  hosts = ["solo"]
  vip {
    address = "192.0.2.100/24"
    nic     = "lo"
  }
}
`

// TestForeignLocalCIBReal runs a real one-node cluster "debian" (as the Debian package starts
// it), stops it, and starts the same host in the topology's cluster. Pacemaker renames the node
// but keeps the old cluster-name property, which cib apply refuses; after the local-cib step it
// starts from an empty CIB, records the topology's cluster-name, and cib apply succeeds.
func TestForeignLocalCIBReal(t *testing.T) {
	testenv.Live(t, "starts Pacemaker twice")
	testenv.RequireRoot(t)
	for _, tool := range []string{"corosync", "pacemakerd", "crm_mon", "cibadmin", "crm_diff", "crm_attribute", "nsenter", "unshare", "ip"} {
		testenv.RequireTool(t, tool)
	}
	topo, err := topology.Parse([]byte(soloTopology), "solo.hcl")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	ns := fmt.Sprintf("vipctl-bootstrap-test-%d", os.Getpid())
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete: %v: %s", err, out)
		}
	})
	// The host's state lives under /run, which the host replaces with its own: Share keeps it.
	run := fmt.Sprintf("/run/vipctl-bootstrap-test-%d", os.Getpid())
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(run); err != nil {
			t.Error(err)
		}
	})
	key := make([]byte, 256)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	debian := &topology.Topology{
		Corosync: topology.Corosync{ClusterName: "debian", TokenMS: 1000},
		Hosts:    []topology.Host{{Name: "node1", Address: netip.MustParseAddr("127.0.0.1"), NodeID: 1}},
	}
	debianConf, err := corosync.Render(debian)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pcmkhost.Config{Name: "node1", NetNS: ns, StateDir: run + "/host", CorosyncConf: debianConf, Authkey: key, Share: []string{run}}

	start := func(cfg pcmkhost.Config) *pcmkhost.Host {
		t.Helper()
		h, err := pcmkhost.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := h.Stop(ctx); err != nil {
				t.Errorf("stop %s: %v", cfg.Name, err)
			}
		})
		if err := h.WaitOnline(ctx, 1); err != nil {
			t.Fatal(err)
		}
		return h
	}
	// clusterName polls until the DC has recorded a cluster-name, and returns it.
	clusterName := func(h *pcmkhost.Host) string {
		t.Helper()
		for ctx.Err() == nil {
			out, err := h.Command(ctx, "crm_attribute", "--type", "crm_config", "--name", "cluster-name", "--query", "--quiet").Output()
			if err == nil {
				return strings.TrimSpace(string(out))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatal("no cluster-name recorded")
		return ""
	}

	h := start(cfg)
	if got := clusterName(h); got != "debian" {
		t.Fatalf("the first cluster recorded cluster-name %q", got)
	}
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Pacemaker is stopped now; the step looks at the host's disk through the root prefix
	// (the state directory holds the host's var/lib/pacemaker).
	host := newFakeHost("solo")
	p, err := New(topo, Options{Host: "solo", Root: cfg.StateDir, Executable: "/bin/true", run: host})
	if err != nil {
		t.Fatal(err)
	}
	a := p.decideLocalCIB(p.observe(ctx))
	if a.err != nil || a.todo == "" || a.do == nil {
		t.Fatalf("local-cib: %q, %v; want a change", a.todo, a.err)
	}
	if _, err := a.do(ctx); err != nil {
		t.Fatal(err)
	}
	if a := p.decideLocalCIB(p.observe(ctx)); a.err != nil || a.todo != "" {
		t.Fatalf("local-cib after the move: %q, %v; want ok", a.todo, a.err)
	}

	cfg.Name = "solo"
	if cfg.CorosyncConf, err = corosync.Render(topo); err != nil {
		t.Fatal(err)
	}
	h = start(cfg)
	if got := clusterName(h); got != "bs-test" {
		t.Fatalf("after the move the cluster recorded cluster-name %q, want bs-test", got)
	}
	desired, err := cib.Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	live := cib.NewLive(cib.LiveConfig{Run: h.Runner(pcmk.DefaultTimeout), BackupDir: t.TempDir()})
	res, err := live.Apply(ctx, topo, desired, cib.ApplyOptions{})
	if err != nil {
		t.Fatalf("cib apply after the move: %v", err)
	}
	if !res.Written {
		t.Error("cib apply wrote nothing into a fresh CIB")
	}
}
