package cib

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/topology"
)

// States of a VIP in a simulation.
const (
	StateStarted  = "started"  // running on Node, an online host
	StateStopped  = "stopped"  // running nowhere
	StateStranded = "stranded" // last seen on Node, a failed host the survivors cannot fence or recover from
)

// Placement is where one VIP is after a simulated transition.
type Placement struct {
	Resource string       `json:"resource"` // vip-<group>
	Group    string       `json:"group"`
	VIP      netip.Prefix `json:"vip"`            // the group's VIP
	State    string       `json:"state"`          // StateStarted, StateStopped or StateStranded
	Node     string       `json:"node,omitempty"` // the host, unless stopped
}

// Simulation is what crm_simulate says about a topology: every host up, then the named hosts failed.
type Simulation struct {
	Hosts  []string    `json:"hosts"`  // every host, brought up first
	Up     []Placement `json:"up"`     // placement with every host up (and quorum)
	Failed []string    `json:"failed"` // the hosts failed afterwards, in topology order
	// Quorate tells whether the surviving hosts keep quorum (votes of the survivors > half of
	// all votes; with exactly two hosts, corosync's two_node keeps a lone survivor quorate).
	Quorate bool        `json:"quorate"`
	After   []Placement `json:"after,omitempty"` // placement after the failure; nil when nothing failed
}

// Quorate reports whether the hosts that survive keep quorum: more than half of all votes (one
// per host), or one survivor of exactly two hosts, which corosync's two_node keeps quorate.
func Quorate(hosts, failed int) bool {
	survivors := hosts - failed
	if hosts == 2 && survivors == 1 {
		return true
	}
	return survivors > 0 && 2*survivors > hosts
}

// Simulate plays a topology through crm_simulate using the tools on PATH.
func Simulate(ctx context.Context, t *topology.Topology, failed []string) (*Simulation, error) {
	return Tools{}.Simulate(ctx, t, failed)
}

// Simulate renders the topology's CIB, brings every host up with quorum in crm_simulate and
// reads where each VIP runs, then fails the named hosts (quorum counted from the votes left)
// and reads where each VIP runs afterwards.
func (tl Tools) Simulate(ctx context.Context, t *topology.Topology, failed []string) (*Simulation, error) {
	hosts := make([]string, 0, len(t.Hosts))
	for _, h := range t.Hosts {
		hosts = append(hosts, h.Name)
	}
	var fail []string // in topology order, once each
	for _, f := range failed {
		if _, err := t.LookupHost(f); err != nil {
			return nil, err // matches topology.ErrUnknownHost
		}
	}
	for _, h := range hosts {
		if slices.Contains(failed, h) {
			fail = append(fail, h)
		}
	}

	doc, err := Render(t)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vipctl-simulate-")
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "cib.xml")
	if err := writeDoc(doc, input); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}

	sim := &Simulation{Hosts: hosts, Failed: fail, Quorate: Quorate(len(hosts), len(fail))}
	if sim.Failed == nil {
		sim.Failed = []string{}
	}

	up := filepath.Join(dir, "up.xml")
	args := []string{"--xml-file", input, "--simulate", "--quorum", "1", "--save-output", up}
	for _, h := range hosts {
		args = append(args, "--node-up", h)
	}
	if sim.Up, err = tl.simulate(ctx, t, args); err != nil {
		return nil, err
	}
	if len(fail) == 0 {
		return sim, nil
	}
	if len(fail) == len(hosts) {
		// Nobody is left to run anything: every VIP is down, whatever the scheduler would
		// say about hosts it can no longer reach.
		for _, p := range sim.Up {
			p.State, p.Node = StateStopped, ""
			sim.After = append(sim.After, p)
		}
		return sim, nil
	}

	quorum := "0"
	if sim.Quorate {
		quorum = "1"
	}
	args = []string{"--xml-file", up, "--simulate", "--quorum", quorum, "--save-output", filepath.Join(dir, "after.xml")}
	for _, h := range fail {
		args = append(args, "--node-fail", h)
	}
	if sim.After, err = tl.simulate(ctx, t, args); err != nil {
		return nil, err
	}
	return sim, nil
}

// simulate runs crm_simulate with XML output and reads the VIPs' placement from the revised status.
func (tl Tools) simulate(ctx context.Context, t *topology.Topology, args []string) ([]Placement, error) {
	args = append(args, "--output-as=xml")
	res, err := tl.run(ctx, orDefault(tl.CrmSimulate, "crm_simulate"), args...)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if res.exitCode != 0 {
		return nil, fmt.Errorf("simulate: crm_simulate exit %d: %s", res.exitCode, strings.TrimSpace(string(res.stderr)))
	}
	return placements(t, res.stdout)
}

// placements reads the revised cluster status of crm_simulate's XML output.
func placements(t *topology.Topology, out []byte) ([]Placement, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out); err != nil {
		return nil, fmt.Errorf("simulate: read crm_simulate output: %w", err)
	}
	status := doc.FindElement("/pacemaker-result/revised_cluster_status")
	if status == nil {
		return nil, errors.New("simulate: crm_simulate output has no revised_cluster_status")
	}
	online := map[string]bool{}
	for _, n := range status.FindElements("nodes/node") {
		online[n.SelectAttrValue("name", "")] = n.SelectAttrValue("online", "") == "true"
	}
	var ps []Placement
	for _, g := range t.Groups {
		p := Placement{Resource: g.VIPID(), Group: g.Name, VIP: g.VIP.Prefix, State: StateStopped}
		r := status.FindElement(fmt.Sprintf("resources/resource[@id='%s']", p.Resource))
		if r == nil {
			return nil, fmt.Errorf("simulate: %s missing from crm_simulate's status", p.Resource)
		}
		if r.SelectAttrValue("active", "") == "true" {
			nodes := r.SelectElements("node")
			if len(nodes) != 1 {
				return nil, fmt.Errorf("simulate: %s active on %d nodes", p.Resource, len(nodes))
			}
			p.Node = nodes[0].SelectAttrValue("name", "")
			p.State = StateStarted
			if !online[p.Node] {
				p.State = StateStranded
			}
		}
		ps = append(ps, p)
	}
	return ps, nil
}
