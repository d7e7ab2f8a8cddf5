package topogen_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// every generated shape loads, with the shape asked for.
func TestGeneratedTopologiesLoad(t *testing.T) {
	opts := topogen.Family()
	opts = append(opts,
		topogen.Options{},
		topogen.Options{Groups: 1, HostsPerGroup: 1, ClustersPerGroup: 10},
		topogen.Options{Groups: 2, HostsPerGroup: 5, ClustersPerGroup: 5, S3Backup: true},
		topogen.Options{Groups: 20, HostsPerGroup: 16, ClustersPerGroup: 50, IPv6: true, Fencing: true},
		topogen.Options{Groups: 20, HostsPerGroup: 16, ClustersPerGroup: 50, Agent: "IPaddr2", PerHostNIC: true},
	)
	for _, o := range opts {
		t.Run(o.String(), func(t *testing.T) {
			top, err := topology.Parse(topogen.HCL(o), o.String()+".hcl")
			if err != nil {
				t.Fatalf("generated topology does not load:\n%v\n%s", err, topogen.HCL(o))
			}
			if diff := cmp.Diff(shapeOf(o), shape(top)); diff != "" {
				t.Errorf("shape mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type shapeT struct {
	Groups, Hosts, Clusters, Fences int
	StonithEnabled                  bool
	Agent                           string
	IPv6                            bool
	NICs                            []string // NICFor of each host, deduplicated
}

func shapeOf(o topogen.Options) shapeT {
	g, h := max(o.Groups, 1), o.HostsPerGroup
	if h == 0 {
		h = 3
	}
	s := shapeT{Groups: g, Hosts: g * h, Clusters: g * o.ClustersPerGroup, StonithEnabled: o.Fencing, Agent: o.Agent, IPv6: o.IPv6}
	if s.Agent == "" {
		s.Agent = "vipctl"
	}
	if o.Fencing {
		s.Fences = g * h
	}
	switch {
	case o.PerHostNIC:
		for i := range h {
			s.NICs = append(s.NICs, fmt.Sprintf("ens%d", i+3))
		}
	case s.Agent == "IPaddr2":
		s.NICs = []string{"eth0"}
	default:
		s.NICs = []string{""}
	}
	return s
}

func shape(t *topology.Topology) shapeT {
	s := shapeT{
		Groups: len(t.Groups), Hosts: len(t.Hosts), Clusters: len(t.Clusters), Fences: len(t.Fences),
		StonithEnabled: t.Pacemaker.StonithEnabled, Agent: t.Groups[0].VIP.Agent, IPv6: t.Groups[0].VIP.Prefix.Addr().Is6(),
	}
	seen := map[string]bool{}
	for _, h := range t.Hosts {
		if n := t.NICFor(h.Name); !seen[n] {
			seen[n] = true
			s.NICs = append(s.NICs, n)
		}
	}
	return s
}

func TestAddresses(t *testing.T) {
	o := topogen.Options{Groups: 20, HostsPerGroup: 16}
	got := []netip.Addr{topogen.HostAddr(o, 0, 0), topogen.VIP(o, 0).Addr(), topogen.HostAddr(o, 8, 15), topogen.VIP(o, 19).Addr()}
	want := []netip.Addr{
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.30"),
		netip.MustParseAddr("198.51.100.16"), netip.MustParseAddr("203.0.113.126"),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestOutOfRangePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("HCL(Groups: 21) did not panic")
		}
	}()
	topogen.HCL(topogen.Options{Groups: 21})
}
