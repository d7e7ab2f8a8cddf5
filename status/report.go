package status

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/journal"
)

// Report is the whole status: what each component said and every problem found in it.
type Report struct {
	Host          string    `json:"host"`           // the topology host status ran on; "" when this machine is none
	ConsulAddress string    `json:"consul_address"` // the Consul HTTP API asked
	Healthy       bool      `json:"healthy"`        // no problem found
	Pacemaker     Pacemaker `json:"pacemaker"`
	Groups        []Group   `json:"groups"`   // in topology order
	Problems      []Problem `json:"problems"` // [] when healthy
	// JournalError says why this host's failover journal could not be read (the moves are
	// then empty); it is no problem of the system's.
	JournalError string `json:"journal_error,omitempty"`
}

// Group is one host group: where its VIP runs and its clusters.
type Group struct {
	Name      string       `json:"name"`
	VIP       netip.Prefix `json:"vip"`
	Hosts     []string     `json:"hosts"`           // the group's hosts, in topology order
	Resource  string       `json:"resource"`        // the VIP's Pacemaker resource, vip-<group>
	Role      string       `json:"role"`            // its role per crm_mon; "" when Pacemaker does not know it
	RunningOn []string     `json:"running_on"`      // hosts where Pacemaker says it is active
	Local     *LocalVIP    `json:"local,omitempty"` // this host's netlink view; only when status runs on a host of the topology
	Clusters  []Cluster    `json:"clusters"`        // in topology order
	// LastMoves are the VIP's last moves, oldest first, from this host's journal.
	LastMoves []journal.Move `json:"last_moves"`
}

// Cluster is one PostgreSQL cluster behind its group's VIP.
type Cluster struct {
	Name    string         `json:"name"`
	Address netip.AddrPort `json:"address"` // VIP:port, where clients connect
	Reach   Reach          `json:"reach"`   // TCP connection to Address
	Consul  Consul         `json:"consul"`
	HAProxy HAProxy        `json:"haproxy"`
}

// Problem is one reason the system is degraded.
type Problem struct {
	Component string `json:"component"` // pacemaker, vip, consul or haproxy
	Subject   string `json:"subject"`   // the node, group or cluster concerned
	Code      string `json:"code"`      // stable identifier, one of the Code* constants
	Reason    string `json:"reason"`    // what was seen, for a person
}

// Components named by problems.
const (
	CompPacemaker = "pacemaker"
	CompVIP       = "vip"
	CompConsul    = "consul"
	CompHAProxy   = "haproxy"
)

// Problem codes (docs/status.md says what to do about each).
const (
	CodePacemakerUnreachable = "pacemaker-unreachable"
	CodeNoDC                 = "no-dc"
	CodeNoQuorum             = "no-quorum"
	CodeNodeNotOnline        = "node-not-online" // offline, unclean, pending, standby or maintenance
	CodeNodeUnknown          = "node-unknown"    // a topology host Pacemaker does not list
	CodeFailedAction         = "failed-action"
	CodeVIPNoResource        = "vip-no-resource"
	CodeVIPStopped           = "vip-stopped"
	CodeVIPMultiple          = "vip-multiple"
	CodeVIPOutsideGroup      = "vip-outside-group"
	CodeVIPOnLostNode        = "vip-on-lost-node" // active on an offline or unclean node (not fenced)
	CodeVIPMissingHere       = "vip-missing-here"
	CodeVIPNotUsableHere     = "vip-not-usable-here"
	CodeVIPStrayHere         = "vip-stray-here"
	CodeLocalCheckFailed     = "local-check-failed"
	CodeVIPUnreachable       = "vip-unreachable"
	CodeConsulUnreachable    = "consul-unreachable"
	CodeNoLeader             = "no-leader"
	CodeMultipleLeaders      = "multiple-leaders"
	CodeMembersMissing       = "members-missing"
	CodeMembersExtra         = "members-extra"
	CodeReplicaLagging       = "replica-lagging" // further behind than Patroni promotes
	CodeNoSyncStandby        = "no-sync-standby" // synchronous mode: no failover possible now
	CodeHAProxyUnreachable   = "haproxy-unreachable"
	CodeHAProxyNoServerUp    = "haproxy-no-server-up"
	CodeHAProxyMultipleUp    = "haproxy-multiple-up"
	CodeHAProxyNotLeader     = "haproxy-not-leader"
)

// judge fills r.Problems and r.Healthy from what was observed. hosts are the topology's
// host names.
func (r *Report) judge(hosts []string) {
	var ps []Problem
	add := func(comp, subject, code, format string, args ...any) {
		ps = append(ps, Problem{Component: comp, Subject: subject, Code: code, Reason: fmt.Sprintf(format, args...)})
	}
	pm := r.Pacemaker
	pmOK := pm.Error == ""
	if !pmOK {
		add(CompPacemaker, "cluster", CodePacemakerUnreachable, "%s", pm.Error)
	} else {
		if pm.DC == "" {
			add(CompPacemaker, "cluster", CodeNoDC, "no designated controller is elected: this partition decides nothing")
		} else if !pm.Quorate {
			add(CompPacemaker, "cluster", CodeNoQuorum, "this partition (DC %s) has no quorum: with no-quorum-policy=stop it runs no VIP", pm.DC)
		}
		for _, n := range pm.Nodes {
			if n.State != NodeOnline {
				add(CompPacemaker, n.Name, CodeNodeNotOnline, "node %s is %s", n.Name, nodeStateMeaning[n.State])
			}
		}
		for _, h := range hosts {
			if !slices.ContainsFunc(pm.Nodes, func(n Node) bool { return n.Name == h }) {
				add(CompPacemaker, h, CodeNodeUnknown, "host %s of the topology is not a node of this cluster", h)
			}
		}
		for _, f := range pm.Failed {
			reason := f.ExitStatus
			if f.ExitReason != "" {
				reason += " (" + f.ExitReason + ")"
			}
			add(CompPacemaker, f.Resource, CodeFailedAction, "%s %s failed on %s: %s, at %s", f.Resource, f.Operation, f.Node, reason, f.LastChange)
		}
	}
	for _, g := range r.Groups {
		if pmOK {
			switch {
			case g.Role == "":
				add(CompVIP, g.Name, CodeVIPNoResource, "the cluster has no resource %s (vipctl cib apply creates it)", g.Resource)
			case len(g.RunningOn) == 0:
				add(CompVIP, g.Name, CodeVIPStopped, "%s (%s) runs nowhere (role %s)", g.Resource, g.VIP.Addr(), g.Role)
			case len(g.RunningOn) > 1:
				add(CompVIP, g.Name, CodeVIPMultiple, "%s (%s) is active on %d hosts: %s", g.Resource, g.VIP.Addr(), len(g.RunningOn), strings.Join(g.RunningOn, ", "))
			}
			for _, h := range g.RunningOn {
				if i := slices.IndexFunc(pm.Nodes, func(n Node) bool { return n.Name == h }); i >= 0 &&
					(pm.Nodes[i].State == NodeOffline || pm.Nodes[i].State == NodeUnclean) {
					add(CompVIP, g.Name, CodeVIPOnLostNode, "%s is shown on %s, which is %s: Pacemaker cannot know whether that host still holds %s", g.Resource, h, pm.Nodes[i].State, g.VIP.Addr())
				}
				if !slices.Contains(g.Hosts, h) {
					add(CompVIP, g.Name, CodeVIPOutsideGroup, "%s is active on %s, which is not a host of group %s (%s)", g.Resource, h, g.Name, strings.Join(g.Hosts, ", "))
				}
			}
		}
		if l := g.Local; l != nil {
			switch {
			case l.Error != "":
				add(CompVIP, g.Name, CodeLocalCheckFailed, "could not list the addresses of %s: %s", l.Host, l.Error)
			case !pmOK:
				// Without Pacemaker's word, presence alone is neither right nor wrong.
			case l.Holder && !l.Present:
				add(CompVIP, g.Name, CodeVIPMissingHere, "Pacemaker runs %s on %s (this host) but %s is on none of its interfaces", g.Resource, l.Host, g.VIP.Addr())
			case l.Holder && !l.Usable:
				add(CompVIP, g.Name, CodeVIPNotUsableHere, "%s is on %s but not usable (IPv6 duplicate address detection tentative or failed)", g.VIP.Addr(), l.Host)
			case !l.Holder && l.Present:
				add(CompVIP, g.Name, CodeVIPStrayHere, "%s is on an interface of %s (this host) but Pacemaker runs %s on %s", g.VIP.Addr(), l.Host, g.Resource, orNone(g.RunningOn))
			}
		}
		for _, c := range g.Clusters {
			judgeCluster(c, add)
		}
	}
	if ps == nil {
		ps = []Problem{}
	}
	r.Problems = ps
	r.Healthy = len(ps) == 0
}

// nodeStateMeaning says what each state other than online means for the VIP.
var nodeStateMeaning = map[string]string{
	NodeOffline:     "offline: it cannot take a VIP",
	NodeUnclean:     "unclean: lost and not fenced, it cannot take a VIP",
	NodePending:     "pending: still joining, it cannot take a VIP yet",
	NodeStandby:     "in standby: it runs no resource",
	NodeMaintenance: "in maintenance: Pacemaker neither monitors nor recovers its resources",
}

func judgeCluster(c Cluster, add func(comp, subject, code, format string, args ...any)) {
	if !c.Reach.OK {
		add(CompVIP, c.Name, CodeVIPUnreachable, "no TCP connection to %s: %s", c.Address, c.Reach.Error)
	}
	cs := c.Consul
	if cs.Error != "" {
		add(CompConsul, c.Name, CodeConsulUnreachable, "cannot ask Consul for %s: %s", cs.Service, cs.Error)
	} else {
		switch len(cs.Leaders) {
		case 0:
			add(CompConsul, c.Name, CodeNoLeader, "no healthy member of %s is tagged leader", cs.Service)
		case 1:
		default:
			add(CompConsul, c.Name, CodeMultipleLeaders, "%d healthy members of %s are tagged leader: %s", len(cs.Leaders), cs.Service, strings.Join(cs.Leaders, ", "))
		}
		if cs.Healthy < cs.Replicas {
			var bad []string
			for _, m := range cs.Members {
				if m.Health != api.HealthPassing {
					bad = append(bad, m.ID+" "+m.Health)
				}
			}
			detail := ""
			if len(bad) > 0 {
				detail = "; " + strings.Join(bad, ", ")
			}
			add(CompConsul, c.Name, CodeMembersMissing, "%d of %d members of %s healthy (%d registered%s)", cs.Healthy, cs.Replicas, cs.Service, len(cs.Members), detail)
		}
		for _, m := range cs.Members {
			if m.LagBytes != nil && *m.LagBytes > MaxFailoverLag {
				add(CompConsul, c.Name, CodeReplicaLagging, "replica %s is %d bytes behind the leader: Patroni would not promote it (more than %d)", m.ID, *m.LagBytes, MaxFailoverLag)
			}
		}
		// The leader's Patroni was asked (one leader) and answered (no LagError).
		if cs.Synchronous && cs.LagError == "" && cs.Replicas > 1 && len(cs.Leaders) == 1 &&
			!slices.ContainsFunc(cs.Members, func(m Member) bool { return m.SyncStandby }) {
			add(CompConsul, c.Name, CodeNoSyncStandby, "synchronous mode and the leader's Patroni names no synchronous standby: if the primary failed now, Patroni would wait for it instead of failing over")
		}
		if len(cs.Members) > cs.Replicas {
			add(CompConsul, c.Name, CodeMembersExtra, "%d members of %s are registered, the topology has %d replicas", len(cs.Members), cs.Service, cs.Replicas)
		}
	}
	h := c.HAProxy
	if h.Error != "" {
		add(CompHAProxy, c.Name, CodeHAProxyUnreachable, "cannot read %s: %s", h.URL, h.Error)
		return
	}
	switch h.Up {
	case 0:
		add(CompHAProxy, c.Name, CodeHAProxyNoServerUp, "no server of proxy %s is UP (%s): clients get no database", c.Name, serverStates(h.Servers))
	case 1:
		if leader, ok := leaderAddress(cs); ok {
			for _, s := range h.Servers {
				if a, err := netip.ParseAddrPort(s.Address); s.IsUp() && err == nil && a != leader {
					add(CompHAProxy, c.Name, CodeHAProxyNotLeader, "HAProxy sends clients to %s (%s), the leader in Consul is at %s", s.Name, a, leader)
				}
			}
		}
	default:
		add(CompHAProxy, c.Name, CodeHAProxyMultipleUp, "%d servers of proxy %s are UP (%s): clients may reach a replica", h.Up, c.Name, serverStates(h.Servers))
	}
}

// leaderAddress returns the address of the one leader of c, when there is exactly one.
func leaderAddress(c Consul) (netip.AddrPort, bool) {
	if len(c.Leaders) != 1 {
		return netip.AddrPort{}, false
	}
	for _, m := range c.Members {
		if m.ID == c.Leaders[0] && m.Address.IsValid() {
			return m.Address, true
		}
	}
	return netip.AddrPort{}, false
}

func serverStates(ss []Server) string {
	if len(ss) == 0 {
		return "no servers"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Name + " " + s.Status
	}
	return strings.Join(parts, ", ")
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "no host"
	}
	return strings.Join(list, ", ")
}
