package cib

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/topology"
)

// The health hook: per host group with clusters, the cloned agent ocf:vipctl:health sets the
// node attribute HealthAttribute(group) to "1" on each host of the group that serves every
// cluster of it (HAProxy's port answers, its backend has a server UP) and "0" elsewhere, and a
// location rule gives the group's VIP HealthScore on the hosts where it is "1".
//
// The rule adds to healthy hosts rather than taking from unhealthy ones: a negative score would
// keep the VIP off a host, and with every host unhealthy it would stop the VIP; with a bonus,
// every host still may run it and the VIP stays where it is (stickiness) when none is healthy.
// The bonus is larger than the stickiness, so an unhealthy holder loses the VIP to a healthy
// host; a host that becomes healthy again gets no more than the holder, which keeps the bonus
// and its stickiness: the VIP does not move back.

const (
	healthMonitor      = "5s"   // how often each host checks itself
	healthCheckTimeout = "1000" // check_timeout_ms of the agent
	// HealthBonus is what the health rule scores above resource-stickiness.
	HealthBonus = 1000
)

// HealthAttribute is the node attribute the health agent of a group sets.
func HealthAttribute(group string) string { return PrefixOwned + "health-" + group }

// HealthID is the id of the health agent's primitive of a group; HealthCloneID of its clone.
func HealthID(group string) string      { return PrefixOwned + "health-" + group }
func HealthCloneID(group string) string { return HealthID(group) + "-clone" }

// HealthScore is the score the health rule gives the VIP on a healthy host: more than
// resource-stickiness, so that an unhealthy holder loses the VIP.
func HealthScore(stickiness int) int { return stickiness + HealthBonus }

// health renders the health clone of a group (when it has clusters to check) and the rule that
// prefers healthy hosts for the group's VIP.
func (r *renderer) health(resources, constraints *etree.Element, g topology.HostGroup) {
	clusters := r.t.ClustersOf(g.Name)
	if len(clusters) == 0 {
		return
	}
	var checks []string
	for _, c := range clusters {
		checks = append(checks, fmt.Sprintf("%s:%d:%d", c.Name, c.Port, c.StatsPort))
	}
	cloneID, id := HealthCloneID(g.Name), HealthID(g.Name)
	clone := resources.CreateElement("clone")
	clone.CreateAttr("id", cloneID)
	p := clone.CreateElement("primitive")
	p.CreateAttr("id", id)
	p.CreateAttr("class", "ocf")
	p.CreateAttr("provider", "vipctl")
	p.CreateAttr("type", "health")
	ia := p.CreateElement("instance_attributes")
	ia.CreateAttr("id", r.id(id, "instance_attributes"))
	r.nvpair(ia, "attribute", HealthAttribute(g.Name))
	r.nvpair(ia, "clusters", strings.Join(checks, " "))
	r.nvpair(ia, "check_timeout_ms", healthCheckTimeout)
	r.failureMeta(r.managedMeta(p, id))
	ops := p.CreateElement("operations")
	r.op(ops, id, "monitor", healthMonitor, opTimeout)
	r.op(ops, id, "start", "0s", opTimeout)
	r.op(ops, id, "stop", "0s", opTimeout)
	r.managedMeta(clone, cloneID)
	r.onGroupOnly(constraints, cloneID, g)

	vip := g.VIPID()
	loc := constraints.CreateElement("rsc_location")
	locID := r.id(PrefixOwned+"location", vip, "health")
	loc.CreateAttr("id", locID)
	loc.CreateAttr("rsc", vip)
	rule := loc.CreateElement("rule")
	ruleID := r.id(locID, "rule")
	rule.CreateAttr("id", ruleID)
	rule.CreateAttr("score", strconv.Itoa(HealthScore(r.t.Pacemaker.ResourceStickiness)))
	r.expr(rule, ruleID, HealthAttribute(g.Name), "eq", "1")
}
