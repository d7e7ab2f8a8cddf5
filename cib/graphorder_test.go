package cib

import (
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
)

// TestVIPStartsBeforeFenceDevices fails the host that holds the example's VIP in crm_simulate
// and reads the transition graph: the controller fires ready synapses in the graph's order, and
// under its high-load throttle one at a time, so the VIP's start must come before the starts
// of the fence devices that ran on the lost host. With the fence devices listed first in
// <resources> (the order before), the same failure puts the VIP's start after them: the
// section's order is what decides.
func TestVIPStartsBeforeFenceDevices(t *testing.T) {
	tools := realTools(t)
	dir, up := exampleUp(t, tools)
	const vip = "vip-db-a"
	host := runsOn(t, crmSimulate(t, tools, "--xml-file", up, "--simulate"), vip)
	if host == "" {
		t.Fatalf("%s runs nowhere in the example's simulated cluster", vip)
	}
	// startOrder lists, in graph order, the resources whose start the failure of host schedules.
	startOrder := func(t *testing.T, cib string) (vipAt int, fenceAt []int) {
		t.Helper()
		graph := filepath.Join(dir, "graph.xml")
		crmSimulate(t, tools, "--xml-file", cib, "--simulate", "--node-fail", host, "--save-graph", graph)
		g := etree.NewDocument()
		if err := g.ReadFromFile(graph); err != nil {
			t.Fatal(err)
		}
		vipAt = -1
		for i, syn := range g.Root().SelectElements("synapse") {
			for _, op := range syn.FindElements("action_set/rsc_op[@operation='start']") {
				p := op.SelectElement("primitive")
				switch {
				case p == nil:
				case p.SelectAttrValue("id", "") == vip:
					vipAt = i
				case p.SelectAttrValue("class", "") == "stonith":
					fenceAt = append(fenceAt, i)
				}
			}
		}
		if vipAt < 0 || len(fenceAt) == 0 {
			t.Fatalf("failing %s: the graph starts %s at synapse %d and fence devices at %v; want both moved", host, vip, vipAt, fenceAt)
		}
		return vipAt, fenceAt
	}

	vipAt, fenceAt := startOrder(t, up)
	for _, f := range fenceAt {
		if f < vipAt {
			t.Errorf("failing %s: a fence device starts at synapse %d, before %s at %d", host, f, vip, vipAt)
		}
	}

	doc := readCIB(t, up)
	resources := doc.FindElement("//configuration/resources")
	for _, p := range resources.SelectElements("primitive") {
		if p.SelectAttrValue("class", "") == "stonith" {
			resources.RemoveChild(p)
			resources.InsertChildAt(0, p)
		}
	}
	vipAt, fenceAt = startOrder(t, writeCIB(t, doc, filepath.Join(dir, "fence-first.xml")))
	if fenceAt[0] > vipAt {
		t.Errorf("with the fence devices first: %s starts at synapse %d, before every fence device (%v); the order of <resources> did not decide", vip, vipAt, fenceAt)
	}
}
