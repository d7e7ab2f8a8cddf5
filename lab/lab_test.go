package lab

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/topology"
)

func TestDefaultTopologyLoads(t *testing.T) {
	tp, err := topology.Parse([]byte(DefaultTopology), "lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Hosts) != 3 || len(tp.Groups) != 1 || tp.Pacemaker.StonithEnabled {
		t.Errorf("default lab topology: %d hosts, %d groups, stonith %v; want 3, 1, false",
			len(tp.Hosts), len(tp.Groups), tp.Pacemaker.StonithEnabled)
	}
	if len(tp.Warnings) == 0 {
		t.Error("no warning about stonith_enabled = false")
	}
}

// FencedTopology is DefaultTopology with fencing on and one lab fence device per host, and
// nothing else changed.
func TestFencedTopology(t *testing.T) {
	tp, err := topology.Parse([]byte(FencedTopology), "lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !tp.Pacemaker.StonithEnabled || len(tp.Warnings) != 0 {
		t.Errorf("fenced lab topology: stonith %v, warnings %v; want true and none", tp.Pacemaker.StonithEnabled, tp.Warnings)
	}
	def, err := topology.Parse([]byte(DefaultTopology), "lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Hosts) != len(def.Hosts) || len(tp.Groups) != len(def.Groups) || len(tp.Clusters) != len(def.Clusters) {
		t.Errorf("fenced and default lab topologies differ beyond fencing")
	}
	fenced := map[string]string{}
	for _, f := range tp.Fences {
		fenced[f.Host] = f.Agent
	}
	for _, h := range tp.Hosts {
		if fenced[h.Name] != FenceAgentName {
			t.Errorf("host %s: fence agent %q, want %s", h.Name, fenced[h.Name], FenceAgentName)
		}
	}
}

func TestNamespacePrefix(t *testing.T) {
	if got := NamespacePrefix(DefaultDir + "/"); got != Prefix {
		t.Errorf("NamespacePrefix(DefaultDir) = %q, want %q", got, Prefix)
	}
	a, b := NamespacePrefix("/tmp/lab-a"), NamespacePrefix("/tmp/lab-b")
	if a == b {
		t.Errorf("two state directories share the prefix %q", a)
	}
	for _, p := range []string{a, b} {
		if strings.HasPrefix(p, Prefix) || strings.HasPrefix(Prefix, p) {
			t.Errorf("prefix %q and the default %q: one starts the other, so one lab's down would remove the other's namespaces", p, Prefix)
		}
	}
}

func TestPlan(t *testing.T) {
	tp, err := topology.Parse([]byte(DefaultTopology), "lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	got, err := plan(tp, Prefix)
	if err != nil {
		t.Fatal(err)
	}
	want := &State{
		Prefix: Prefix,
		Hosts: []HostState{
			{Name: "lab-1", NetNS: "vipctl-lab-lab-1", NIC: "eth0", Port: "h1", Address: netip.MustParsePrefix("192.0.2.11/24")},
			{Name: "lab-2", NetNS: "vipctl-lab-lab-2", NIC: "eth0", Port: "h2", Address: netip.MustParsePrefix("192.0.2.12/24")},
			{Name: "lab-3", NetNS: "vipctl-lab-lab-3", NIC: "eth0", Port: "h3", Address: netip.MustParsePrefix("192.0.2.13/24")},
		},
		Client: ClientState{NetNS: "vipctl-lab-client", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.254/24")}},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Prefix{})); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestPlanRefusesLongNIC(t *testing.T) {
	tp, err := topology.Parse([]byte(DefaultTopology), "lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	tp.Groups[0].VIP.NIC = "a-very-long-interface"
	if _, err := plan(tp, Prefix); !errors.Is(err, topology.ErrInvalid) {
		t.Errorf("plan with a 21-character interface name: %v, want ErrInvalid", err)
	}
}

func TestFreeAddr(t *testing.T) {
	used := func(as ...string) map[netip.Addr]bool {
		m := map[netip.Addr]bool{}
		for _, a := range as {
			m[netip.MustParseAddr(a)] = true
		}
		return m
	}
	cases := []struct {
		prefix string
		used   map[netip.Addr]bool
		want   string // "" means none
	}{
		{"192.0.2.0/24", used(), "192.0.2.254"},
		{"192.0.2.0/24", used("192.0.2.254"), "192.0.2.253"},
		{"10.20.0.0/30", used(), "10.20.0.2"},
		{"10.20.0.0/30", used("10.20.0.2", "10.20.0.1"), ""},
		{"10.20.0.4/31", used(), ""},
		{"2001:db8::/64", used(), "2001:db8::ffff:ffff:ffff:ffff"},
	}
	for _, c := range cases {
		got, ok := freeAddr(netip.MustParsePrefix(c.prefix), c.used)
		if c.want == "" {
			if ok {
				t.Errorf("freeAddr(%s) = %v, want none", c.prefix, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(c.want) {
			t.Errorf("freeAddr(%s) = %v, %v; want %s", c.prefix, got, ok, c.want)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := readState(dir); !errors.Is(err, ErrNotUp) {
		t.Fatalf("readState of an empty dir: %v, want ErrNotUp", err)
	}
	s := &State{
		Prefix:    Prefix,
		Topology:  "/run/vipctl-lab/vipctl.hcl",
		Hosts:     []HostState{{Name: "a", NetNS: "vipctl-lab-a", NIC: "eth0", Port: "h1", Address: netip.MustParsePrefix("fd00::1/64"), Pid: 42, LinkDown: true}},
		Client:    ClientState{NetNS: ClientNetNS, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.254/24")}},
		Partition: [][]string{{"a"}, {"b", "c"}},
		Created:   []string{"vipctl-lab-switch"},
	}
	if err := writeState(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := readState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, got, cmpopts.EquateComparable(netip.Prefix{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestUpRefusesBadTopologyAndMakesNothing(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(bad, []byte("host \"a\" {\n  address = \"not an address\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lab")
	_, err := Up(context.Background(), Options{Dir: dir, TopologyFile: bad, Vipctl: "/bin/false", Bare: true})
	if !errors.Is(err, topology.ErrInvalid) {
		t.Fatalf("Up with a bad topology: %v, want ErrInvalid", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Up with a bad topology made %s (%v)", dir, err)
	}
}

// recorder is a runner that records the commands instead of running them.
type recorder struct{ cmds []string }

func (r *recorder) Run(_ context.Context, c pcmk.Cmd) ([]byte, error) {
	r.cmds = append(r.cmds, c.String())
	return nil, nil
}

func testLab(t *testing.T) (*Lab, *recorder) {
	t.Helper()
	tp, err := topology.Parse([]byte(DefaultTopology), "lab.hcl")
	if err != nil {
		t.Fatal(err)
	}
	st, err := plan(tp, Prefix)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	return &Lab{dir: t.TempDir(), state: st, topo: tp, run: r, log: orDiscard(nil)}, r
}

func TestPartitionAndJoin(t *testing.T) {
	l, r := testLab(t)
	ctx := context.Background()
	if err := l.Partition(ctx, [][]string{{"lab-1", "lab-2"}, {"lab-3"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip -n vipctl-lab-switch link add br1 type bridge",
		"ip -n vipctl-lab-switch link set br1 up",
		"ip -n vipctl-lab-switch link set h3 master br1",
	}
	if d := cmp.Diff(want, r.cmds); d != "" {
		t.Errorf("partition commands (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]string{{"lab-1", "lab-2"}, {"lab-3"}}, l.State().Partition); d != "" {
		t.Errorf("recorded partition (-want +got):\n%s", d)
	}
	r.cmds = nil
	if err := l.join(ctx); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"ip -n vipctl-lab-switch link del br1",
		"ip -n vipctl-lab-switch link set h1 master br0",
		"ip -n vipctl-lab-switch link set h2 master br0",
		"ip -n vipctl-lab-switch link set h3 master br0",
	}
	if d := cmp.Diff(want, r.cmds); d != "" {
		t.Errorf("join commands (-want +got):\n%s", d)
	}
	if l.State().Partition != nil {
		t.Error("partition still recorded after join")
	}
}

func TestPartitionRefuses(t *testing.T) {
	l, r := testLab(t)
	cases := map[string][][]string{
		"unknown host": {{"lab-1"}, {"lab-9"}},
		"named twice":  {{"lab-1", "lab-2"}, {"lab-2", "lab-3"}},
		"one set":      {{"lab-1", "lab-2", "lab-3"}},
	}
	for name, sets := range cases {
		t.Run(name, func(t *testing.T) {
			if err := l.Partition(context.Background(), sets); err == nil {
				t.Error("Partition accepted it")
			}
		})
	}
	if err := l.Partition(context.Background(), cases["unknown host"]); !errors.Is(err, topology.ErrUnknownHost) {
		t.Errorf("unknown host: %v, want topology.ErrUnknownHost", err)
	}
	if len(r.cmds) != 0 {
		t.Errorf("a refused partition ran %v", r.cmds)
	}
}

func TestFailLinkOnly(t *testing.T) {
	l, r := testLab(t)
	if err := l.Fail(context.Background(), "lab-2", true); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"ip -n vipctl-lab-switch link set h2 down"}, r.cmds); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	hs, _ := l.state.host("lab-2")
	if !hs.LinkDown || hs.PowerOff {
		t.Errorf("lab-2 after fail --link: %+v", *hs)
	}
	if err := l.Fail(context.Background(), "lab-9", true); !errors.Is(err, topology.ErrUnknownHost) {
		t.Errorf("fail of an unknown host: %v, want topology.ErrUnknownHost", err)
	}
}
