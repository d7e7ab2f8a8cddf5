package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/internal/fakeconsul"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/vip/viptest"
)

// TestStatusInLab runs `vipctl status` inside lab hosts. The lab has Pacemaker, the VIP and
// a TCP listener on the cluster port, but no Consul and no HAProxy: status must say exactly
// that, and exit 3. Then a fake Consul listening inside the holder's network namespace
// stands in for the host's agent, and status finds the leader through it.
func TestStatusInLab(t *testing.T) {
	requireLabTools(t)
	vipctl := buildVipctl(t)
	dir := filepath.Join(t.TempDir(), "lab")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := Up(ctx, Options{Dir: dir, Vipctl: vipctl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := Down(ctx, dir, nil); err != nil {
			t.Errorf("Down: %v", err)
		}
	})
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	topo := l.Topology()
	g := topo.Groups[0]
	c := topo.ClustersOf(g.Name)[0]
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("holders %v (%v); want one", holders, err)
	}
	holder := holders[0]

	// statusIn runs vipctl status -o json in host with the given CONSUL_HTTP_ADDR ("" means
	// the topology's consul.address).
	statusIn := func(t *testing.T, host, consulAddr string) (int, status.Report) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		argv := []string{"env", "CONSUL_HTTP_ADDR=" + consulAddr, vipctl, "status", "-f", l.State().Topology, "-o", "json", "--timeout", "2s"}
		code, err := l.Exec(ctx, host, argv, nil, &stdout, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		var r status.Report
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("status in %s: exit %d, JSON: %v\n%s\nstderr: %s", host, code, err, stdout.String(), stderr.String())
		}
		return code, r
	}
	problems := func(r status.Report) []string {
		var ps []string
		for _, p := range r.Problems {
			ps = append(ps, p.Component+"/"+p.Subject+"/"+p.Code)
		}
		return ps
	}
	var hostNames []string
	for _, h := range topo.Hosts {
		hostNames = append(hostNames, h.Name)
	}

	for _, host := range hostNames {
		t.Run("from "+host+", no Consul", func(t *testing.T) {
			code, r := statusIn(t, host, "")
			if code != 3 {
				t.Errorf("exit %d; want 3 (degraded)", code)
			}
			want := []string{
				"consul/" + c.Name + "/" + status.CodeConsulUnreachable,
				"haproxy/" + c.Name + "/" + status.CodeHAProxyUnreachable,
			}
			if d := cmp.Diff(want, problems(r)); d != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", d, r.Problems)
			}
			if r.Host != host {
				t.Errorf("status ran as %q; want %q (the host's name)", r.Host, host)
			}
			if !r.Pacemaker.Quorate || len(r.Pacemaker.Nodes) != len(hostNames) {
				t.Errorf("pacemaker %+v; want quorate with %d nodes", r.Pacemaker, len(hostNames))
			}
			grp := r.Groups[0]
			// Pacemaker's word and the address found by netlink in every host agree.
			if d := cmp.Diff([]string{holder}, grp.RunningOn); d != "" {
				t.Errorf("running on (-want +got):\n%s", d)
			}
			wantLocal := &status.LocalVIP{Host: host, Holder: host == holder, Present: host == holder, Usable: host == holder}
			if d := cmp.Diff(wantLocal, grp.Local); d != "" {
				t.Errorf("local view (-want +got):\n%s", d)
			}
			if !grp.Clusters[0].Reach.OK {
				t.Errorf("TCP to %s failed: %s", grp.Clusters[0].Address, grp.Clusters[0].Reach.Error)
			}
		})
	}

	t.Run("fake Consul inside the holder", func(t *testing.T) {
		var ln net.Listener
		hs, err := l.state.host(holder)
		if err != nil {
			t.Fatal(err)
		}
		viptest.InNetns(t, hs.NetNS, func() {
			ln, err = net.Listen("tcp", "127.0.0.1:0") // the socket stays in the holder's namespace
		})
		if err != nil {
			t.Fatal(err)
		}
		consul := fakeconsul.Serve(t, ln)
		var entries []*api.ServiceEntry
		for i, h := range topo.Hosts {
			tags := []string{"replica"}
			if h.Name == holder {
				tags = []string{"master", "primary"}
			}
			entries = append(entries, fakeconsul.Member{Scope: "pgsql-" + c.Name, Name: "pgsql-" + strconv.Itoa(i), Node: h.Name,
				Address: h.Address.String(), Port: 23000 + i, Tags: tags, Status: api.HealthPassing}.Entry())
		}
		consul.SetService("pgsql-"+c.Name, entries...)

		code, r := statusIn(t, holder, consul.Addr())
		if code != 3 {
			t.Errorf("exit %d; want 3 (HAProxy is still missing)", code)
		}
		if d := cmp.Diff([]string{"haproxy/" + c.Name + "/" + status.CodeHAProxyUnreachable}, problems(r)); d != "" {
			t.Errorf("problems (-want +got):\n%s\n%+v", d, r.Problems)
		}
		cs := r.Groups[0].Clusters[0].Consul
		i := slices.Index(hostNames, holder)
		if d := cmp.Diff([]string{"pgsql-" + c.Name + "/pgsql-" + string(rune('0'+i))}, cs.Leaders); d != "" {
			t.Errorf("leaders (-want +got):\n%s", d)
		}
		if cs.Healthy != 3 || cs.Replicas != 3 {
			t.Errorf("healthy %d of %d; want 3 of 3", cs.Healthy, cs.Replicas)
		}
		if len(consul.Requests()) == 0 {
			t.Error("status never asked the fake Consul")
		}
	})

	// The holder's link fails: the survivors move the VIP and say the old holder is offline;
	// the isolated host says it has no quorum and runs no VIP.
	t.Run("holder's link cut", func(t *testing.T) {
		if err := l.Fail(ctx, holder, true); err != nil {
			t.Fatal(err)
		}
		d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
		survivor := d.waitHolderOtherThan(ctx, holder)
		d.settle(ctx) // Pacemaker has recorded the start on the survivor

		code, r := statusIn(t, survivor, "")
		if code != 3 {
			t.Errorf("survivor: exit %d; want 3", code)
		}
		want := []string{
			"pacemaker/" + holder + "/" + status.CodeNodeNotOnline,
			"consul/" + c.Name + "/" + status.CodeConsulUnreachable,
			"haproxy/" + c.Name + "/" + status.CodeHAProxyUnreachable,
		}
		if d := cmp.Diff(want, problems(r)); d != "" {
			t.Errorf("survivor's problems (-want +got):\n%s\n%+v", d, r.Problems)
		}
		if d := cmp.Diff([]string{survivor}, r.Groups[0].RunningOn); d != "" {
			t.Errorf("survivor: running on (-want +got):\n%s", d)
		}
		if l := r.Groups[0].Local; l == nil || !l.Holder || !l.Present {
			t.Errorf("survivor's local view %+v; want holder with the address", l)
		}

		code, r = statusIn(t, holder, "")
		if code != 3 {
			t.Errorf("isolated host: exit %d; want 3", code)
		}
		got := problems(r)
		for _, w := range []string{
			"pacemaker/cluster/" + status.CodeNoQuorum,
			"vip/" + g.Name + "/" + status.CodeVIPStopped,
			"vip/" + c.Name + "/" + status.CodeVIPUnreachable,
		} {
			if !slices.Contains(got, w) {
				t.Errorf("the isolated host does not report %s: %v", w, got)
			}
		}
		if l := r.Groups[0].Local; l == nil || l.Present {
			t.Errorf("isolated host's local view %+v; want the address gone", l)
		}
	})
}
