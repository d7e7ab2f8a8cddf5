package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/status"
)

// TestStatusInLab runs `vipctl status` inside the hosts of a lab without the stack. The lab has
// Pacemaker, the VIP and a TCP listener on the cluster port, but no Consul and no HAProxy:
// status must say exactly that, with the Pacemaker part whole, and exit 1 (without Consul the
// clusters are unknown). TestStackInLab runs it against the real stack.
func TestStatusInLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, vipctl := upLab(t, ctx, false)
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

	statusIn := func(t *testing.T, host string) (int, status.Report) {
		t.Helper()
		return labStatus(t, ctx, l, vipctl, host)
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
			code, r := statusIn(t, host)
			if code != 1 {
				t.Errorf("exit %d; want 1 (Consul unknown)", code)
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

	// The holder's link fails: the survivors move the VIP and say the old holder is offline;
	// the isolated host says it has no quorum and runs no VIP.
	t.Run("holder's link cut", func(t *testing.T) {
		if err := l.Fail(ctx, holder, true); err != nil {
			t.Fatal(err)
		}
		d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
		survivor := d.waitHolderOtherThan(ctx, holder)
		d.settle(ctx) // Pacemaker has recorded the start on the survivor

		code, r := statusIn(t, survivor)
		if code != 1 {
			t.Errorf("survivor: exit %d; want 1 (no Consul)", code)
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

		code, r = statusIn(t, holder)
		if code != 1 {
			t.Errorf("isolated host: exit %d; want 1 (no Consul)", code)
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

// labStatus runs `vipctl status -o json` inside a lab host (against the topology's
// consul.address) and returns its exit code and report.
func labStatus(t *testing.T, ctx context.Context, l *Lab, vipctl, host string) (int, status.Report) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	argv := []string{"env", "CONSUL_HTTP_ADDR=", vipctl, "status", "-f", l.State().Topology, "-o", "json", "--timeout", "2s"}
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
