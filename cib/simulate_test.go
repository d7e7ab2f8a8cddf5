package cib

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vipctl/vipctl/topology"
)

// equatePrefix compares netip values with ==.
var equatePrefix = cmpopts.EquateComparable(netip.Prefix{})

func simulate(t *testing.T, tools Tools, topo *topology.Topology, failed ...string) *Simulation {
	t.Helper()
	sim, err := tools.Simulate(context.Background(), topo, failed)
	if err != nil {
		t.Fatalf("simulate failing %v: %v", failed, err)
	}
	return sim
}

// checkInGroups fails unless every started VIP runs on a host of its own group.
func checkInGroups(t *testing.T, topo *topology.Topology, when string, ps []Placement) {
	t.Helper()
	for _, p := range ps {
		g, _ := topo.Group(p.Group)
		if p.State == StateStarted && !slices.Contains(g.Hosts, p.Node) {
			t.Errorf("%s: %s runs on %s, outside its group %v", when, p.Resource, p.Node, g.Hosts)
		}
	}
}

// TestSimulateThreeGroups plays failures through the real crm_simulate on three groups of three
// hosts: each VIP starts in its group, moves within it when its host fails, stops when the whole
// group fails, and never lands on another group's host.
func TestSimulateThreeGroups(t *testing.T) {
	tools := realTools(t)
	topo := load(t, "testdata/three-groups.hcl")

	all := simulate(t, tools, topo)
	if all.After != nil || len(all.Failed) != 0 || !all.Quorate {
		t.Errorf("nothing failed: Failed=%v Quorate=%v After=%v", all.Failed, all.Quorate, all.After)
	}
	for _, p := range all.Up {
		if p.State != StateStarted {
			t.Errorf("all up: %s is %s, want started", p.Resource, p.State)
		}
	}
	checkInGroups(t, topo, "all up", all.Up)

	for i, g := range topo.Groups {
		holder := all.Up[i].Node
		t.Run(g.Name+"/holder-fails", func(t *testing.T) {
			sim := simulate(t, tools, topo, holder)
			if diff := cmp.Diff(all.Up, sim.Up, equatePrefix); diff != "" {
				t.Errorf("placement with all up changed between runs (-first +again):\n%s", diff)
			}
			if !sim.Quorate {
				t.Error("8 of 9 hosts left: want quorum")
			}
			checkInGroups(t, topo, "after "+holder+" failed", sim.After)
			for j, p := range sim.After {
				switch {
				case p.State != StateStarted:
					t.Errorf("after %s failed: %s is %s, want started", holder, p.Resource, p.State)
				case j == i && p.Node == holder:
					t.Errorf("after %s failed: %s still on it", holder, p.Resource)
				case j != i && p.Node != all.Up[j].Node:
					t.Errorf("after %s failed: %s moved from %s to %s; only %s's VIP should move",
						holder, p.Resource, all.Up[j].Node, p.Node, g.Name)
				}
			}
		})
		t.Run(g.Name+"/group-fails", func(t *testing.T) {
			sim := simulate(t, tools, topo, g.Hosts...)
			if !sim.Quorate {
				t.Error("6 of 9 hosts left: want quorum")
			}
			checkInGroups(t, topo, "after "+g.Name+" failed", sim.After)
			want := slices.Clone(all.Up)
			want[i].State, want[i].Node = StateStopped, ""
			if diff := cmp.Diff(want, sim.After, equatePrefix); diff != "" {
				t.Errorf("after group %s failed (-want +got):\n%s", g.Name, diff)
			}
		})
	}
}

// TestSimulateQuorumLost fails two of the example's three hosts: the lone survivor has no
// quorum and, with no-quorum-policy=stop, stops the VIP it holds rather than keep it.
func TestSimulateQuorumLost(t *testing.T) {
	tools := realTools(t)
	topo := load(t, "../examples/vipctl.hcl")
	all := simulate(t, tools, topo)
	holder := all.Up[0].Node
	var others []string
	for _, h := range topo.Hosts {
		if h.Name != holder {
			others = append(others, h.Name)
		}
	}

	sim := simulate(t, tools, topo, others...)
	if sim.Quorate {
		t.Error("1 of 3 hosts left: want no quorum")
	}
	want := []Placement{{Resource: "vip-db-a", Group: "db-a", VIP: netip.MustParsePrefix("10.20.0.100/24"), State: StateStopped}}
	if diff := cmp.Diff(want, sim.After, equatePrefix); diff != "" {
		t.Errorf("lone survivor %s (-want +got):\n%s", holder, diff)
	}

	// The holder and one more fail: the survivor may neither fence the holder nor take the VIP.
	sim = simulate(t, tools, topo, holder, others[0])
	want[0].State, want[0].Node = StateStranded, holder
	if diff := cmp.Diff(want, sim.After, equatePrefix); diff != "" {
		t.Errorf("holder %s and %s failed (-want +got):\n%s", holder, others[0], diff)
	}

	// Every host fails: nothing is left to run the VIP.
	sim = simulate(t, tools, topo, "pg-03", "pg-01", "pg-02")
	want[0].State, want[0].Node = StateStopped, ""
	if diff := cmp.Diff(want, sim.After, equatePrefix); diff != "" {
		t.Errorf("every host failed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pg-01", "pg-02", "pg-03"}, sim.Failed); diff != "" {
		t.Errorf("Failed is not in topology order (-want +got):\n%s", diff)
	}
}

// TestSimulateTwoHosts fails the holder of a two-host cluster without fencing: corosync's
// two_node keeps the survivor quorate and it takes the VIP.
func TestSimulateTwoHosts(t *testing.T) {
	tools := realTools(t)
	topo := load(t, "testdata/no-fencing.hcl")
	all := simulate(t, tools, topo)
	holder := all.Up[0].Node
	sim := simulate(t, tools, topo, holder)
	if !sim.Quorate {
		t.Error("two_node: the survivor of two hosts keeps quorum")
	}
	if p := sim.After[0]; p.State != StateStarted || p.Node == holder {
		t.Errorf("after %s failed: %+v, want started on the other host", holder, p)
	}
}

func TestSimulateUnknownHost(t *testing.T) {
	f := &fakeRunner{}
	_, err := Tools{runner: f}.Simulate(context.Background(), exampleTopology(), []string{"pg-01", "pg-09"})
	if !errors.Is(err, topology.ErrUnknownHost) {
		t.Errorf("err = %v, want topology.ErrUnknownHost", err)
	}
	if len(f.runs) != 0 {
		t.Errorf("crm_simulate ran %d times for a bad host name", len(f.runs))
	}
}

func TestQuorate(t *testing.T) {
	type c struct{ hosts, failed int }
	var got []c
	for hosts := 1; hosts <= 5; hosts++ {
		for failed := 0; failed <= hosts; failed++ {
			if Quorate(hosts, failed) {
				got = append(got, c{hosts, failed})
			}
		}
	}
	want := []c{{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {4, 0}, {4, 1}, {5, 0}, {5, 1}, {5, 2}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(c{})); diff != "" {
		t.Errorf("quorate (hosts, failed) (-want +got):\n%s", diff)
	}
}

// TestPerHostNICReachesAgent checks with the real scheduler that the per-host instance
// attribute sets give each host its own nic: crm_simulate's transition graph holds the
// parameters the start action would pass to the agent.
func TestPerHostNICReachesAgent(t *testing.T) {
	tools := realTools(t)
	topo := load(t, "testdata/ipaddr2-nics.hcl")
	dir := t.TempDir()
	input := filepath.Join(dir, "cib.xml")
	doc, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeDoc(doc, input); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	got := map[string]string{}
	for _, h := range topo.Hosts {
		want[h.Name] = topo.NICFor(h.Name)
		g, _ := topo.GroupOf(h.Name)
		graph := filepath.Join(dir, h.Name+".graph.xml")
		// Only this host comes up: its group's VIP must start there.
		res, err := tools.run(context.Background(), tools.CrmSimulate, "--xml-file", input, "--simulate",
			"--quorum", "1", "--node-up", h.Name, "--save-graph", graph, "--quiet")
		if err != nil || res.exitCode != 0 {
			t.Fatalf("crm_simulate: %v, exit %d: %s", err, res.exitCode, res.stderr)
		}
		gd := etree.NewDocument()
		if err := gd.ReadFromFile(graph); err != nil {
			t.Fatal(err)
		}
		op := gd.FindElement(fmt.Sprintf("//rsc_op[@operation='start'][@on_node='%s']", h.Name))
		if op == nil || op.SelectElement("primitive").SelectAttrValue("id", "") != g.VIPID() {
			t.Errorf("%s: no start of %s in the transition graph", h.Name, g.VIPID())
			continue
		}
		got[h.Name] = op.SelectElement("attributes").SelectAttrValue("nic", "")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nic passed to IPaddr2 per host (-topology +scheduler):\n%s", diff)
	}
}

// TestStickinessWinsOverOtherDefaults checks with the real scheduler that vipctl's
// resource-stickiness applies even when another rsc_defaults set (pcs writes one) sets it too,
// before or after vipctl's set in the document.
func TestStickinessWinsOverOtherDefaults(t *testing.T) {
	tools := realTools(t)
	ctx := context.Background()
	dir, up := exampleUp(t, tools)
	for _, where := range []string{"before", "after"} {
		t.Run(where, func(t *testing.T) {
			cib := etree.NewDocument()
			if err := cib.ReadFromFile(up); err != nil {
				t.Fatal(err)
			}
			defaults := cib.FindElement("//rsc_defaults")
			other := etree.NewElement("meta_attributes")
			other.CreateAttr("id", "build-resource-defaults")
			nv := other.CreateElement("nvpair")
			nv.CreateAttr("id", "build-resource-defaults-resource-stickiness")
			nv.CreateAttr("name", "resource-stickiness")
			nv.CreateAttr("value", "1")
			if where == "before" {
				defaults.InsertChildAt(0, other)
			} else {
				defaults.AddChild(other)
			}
			path := filepath.Join(dir, where+".xml")
			if err := cib.WriteToFile(path); err != nil {
				t.Fatal(err)
			}
			res, err := tools.run(ctx, tools.CrmSimulate, "--xml-file", path, "--show-scores", "--output-as=xml")
			if err != nil || res.exitCode != 0 {
				t.Fatalf("crm_simulate: %v, exit %d: %s", err, res.exitCode, res.stderr)
			}
			out := etree.NewDocument()
			if err := out.ReadFromBytes(res.stdout); err != nil {
				t.Fatal(err)
			}
			holder := out.FindElement("//resource[@id='vip-db-a']/node")
			if holder == nil {
				t.Fatal("vip-db-a runs nowhere")
			}
			node := holder.SelectAttrValue("name", "")
			w := out.FindElement(fmt.Sprintf("//node_weight[@function='pcmk__primitive_assign'][@id='vip-db-a'][@node='%s']", node))
			if w == nil {
				t.Fatalf("no allocation score of vip-db-a on %s", node)
			}
			if got := w.SelectAttrValue("score", ""); got != "100" {
				t.Errorf("score of vip-db-a on its holder %s = %s, want the topology's stickiness 100", node, got)
			}
		})
	}
}

// exampleUp renders the example topology's CIB and lets crm_simulate bring its three hosts up
// (with quorum); it returns the directory and the saved CIB with status.
func exampleUp(t *testing.T, tools Tools) (dir, up string) {
	t.Helper()
	dir = t.TempDir()
	input := filepath.Join(dir, "cib.xml")
	up = filepath.Join(dir, "up.xml")
	doc, err := Render(load(t, "../examples/vipctl.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeDoc(doc, input); err != nil {
		t.Fatal(err)
	}
	res, err := tools.run(context.Background(), tools.CrmSimulate, "--xml-file", input, "--simulate", "--quorum", "1",
		"--node-up", "pg-01", "--node-up", "pg-02", "--node-up", "pg-03", "--save-output", up, "--quiet")
	if err != nil || res.exitCode != 0 {
		t.Fatalf("crm_simulate: %v, exit %d: %s", err, res.exitCode, res.stderr)
	}
	return dir, up
}
