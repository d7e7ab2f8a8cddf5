package topology

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/vipctl/vipctl/internal/reserved"
)

// nameRule is what a block label must look like.
type nameRule struct {
	re     func() *regexp.Regexp // compiled on first use, not at start-up of every vipctl run
	maxLen int
}

var (
	// Groups, clusters and fences: with a prefix such as "pgsql-", the name still fits in one
	// DNS label (63) of Consul's service names.
	lowerName = nameRule{lazyRegexp(`^[a-z][a-z0-9-]*$`), 50}
	// Hosts: Pacemaker node names, DNS names.
	hostName = nameRule{lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9.-]*$`), 253}
	// corosync.cluster_name: a bare word of corosync.conf (corosync's own limit is 255).
	clusterName = nameRule{lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`), 255}
	// fence.agent: the type of a stonith primitive, a file name of fence-agents (fence_ipmilan)
	// or a cluster-glue plugin (external/ipmi), as `crm_resource --list-agents stonith` lists
	// them: no dot, so no path can climb out of the agents' directory.
	fenceAgent = lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9_-]*(/[a-zA-Z0-9][a-zA-Z0-9_-]*)?$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Accepted values of pacemaker.no_quorum_policy.
var noQuorumPolicies = []string{"stop", "freeze", "ignore", "demote", "suicide"}

// maxNodeID is the largest Corosync node id (a 32-bit unsigned number; 0 is reserved).
const maxNodeID = 1<<32 - 1

// Limits of corosync.token_ms.
const (
	minTokenMS = 200
	maxTokenMS = 60000
)

// checker runs the validation rules.
type checker struct {
	collector
	p *parsed
}

// validate checks every rule of the file format on a decoded topology.
func validate(p *parsed) hcl.Diagnostics {
	c := &checker{p: p}
	c.datacenters()
	c.consul()
	c.corosync()
	c.pacemaker()
	c.hosts()
	c.groups()
	c.vips()
	c.fences()
	c.stonith()
	c.clusters()
	c.ports()
	return c.diags
}

// name checks a block label against its rule and reports a duplicate at its second occurrence.
func (c *checker) name(s *src, rule nameRule, seen map[string]*src) {
	switch {
	case !rule.re().MatchString(s.name):
		c.errorf(s.label, "Invalid name "+quote(s.name),
			"The name of a %s must match %s.", s.kind, rule.re().String())
	case len(s.name) > rule.maxLen:
		c.errorf(s.label, "Invalid name "+quote(s.name),
			"The name of a %s has at most %d characters.", s.kind, rule.maxLen)
	}
	if first, dup := seen[s.name]; dup {
		c.errorf(s.label, "Duplicate "+s.kind+" "+quote(s.name),
			"%s is already defined at %s.", s.title(), at(first.label))
		return
	}
	seen[s.name] = s
}

func (c *checker) datacenters() {
	dcs, f := c.p.t.Datacenters, c.p.file
	if len(dcs) == 0 {
		c.errorf(f.at("datacenters"), "Empty datacenters", "datacenters needs at least one Nomad datacenter.")
	}
	seen := map[string]int{}
	for i, dc := range dcs {
		first, dup := seen[dc]
		switch {
		case dc == "":
			c.errorf(f.elemAt("datacenters", i), `Invalid datacenter ""`, "A datacenter name must not be empty.")
		case dup:
			c.errorf(f.elemAt("datacenters", i), "Duplicate datacenter "+quote(dc),
				"%q is already listed at %s.", dc, at(f.elemAt("datacenters", first)))
		default:
			seen[dc] = i
		}
	}
}

func (c *checker) consul() {
	s, con := c.p.file.child("consul"), c.p.t.Consul
	c.hostPort(s, "address", con.Address)
	if c.hostPort(s, "dns", con.DNS) {
		if ap, err := netip.ParseAddrPort(con.DNS); err != nil {
			c.errorf(s.at("dns"), "Invalid dns "+quote(con.DNS),
				"consul.dns must be IP:port (HAProxy's nameserver takes an address, not a name), e.g. \"127.0.0.1:8600\".")
		} else if a := ap.Addr(); a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" || a.Is4In6() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			c.errorf(s.at("dns"), "Invalid dns "+quote(con.DNS),
				"consul.dns must be a unicast address HAProxy can send queries to (not 0.0.0.0, ::, multicast or broadcast, no zone, IPv4 written as such), e.g. \"127.0.0.1:8600\".")
		}
	}
	if con.JobAddress == "" {
		c.errorf(s.at("job_address"), `Invalid job_address ""`, "job_address must not be empty.")
	}
}

// hostPort checks that value is host:port; it reports whether it is.
func (c *checker) hostPort(s *src, attr, value string) bool {
	host, port, err := net.SplitHostPort(value)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			err = fmt.Errorf("port %q is not a number in 1..65535", port)
		} else if host == "" {
			err = fmt.Errorf("the host is empty")
		}
	}
	if err != nil {
		c.errorf(s.at(attr), "Invalid "+attr+" "+quote(value), "consul.%s must be host:port: %v.", attr, err)
		return false
	}
	return true
}

func (c *checker) corosync() {
	s, co := c.p.file.child("corosync"), c.p.t.Corosync
	switch {
	case s.set["cluster_name"] && co.ClusterName == "":
		c.errorf(s.at("cluster_name"), `Invalid cluster_name ""`, "corosync.cluster_name must not be empty.")
	case s.set["cluster_name"] && (!clusterName.re().MatchString(co.ClusterName) || len(co.ClusterName) > clusterName.maxLen):
		c.errorf(s.at("cluster_name"), "Invalid cluster_name "+quote(co.ClusterName),
			"corosync.cluster_name must match %s, at most %d characters: corosync.conf and the CIB's cluster-name take it unquoted.",
			clusterName.re().String(), clusterName.maxLen)
	}
	if co.TokenMS < minTokenMS || co.TokenMS > maxTokenMS {
		c.errorf(s.at("token_ms"), fmt.Sprintf("Invalid token_ms %d", co.TokenMS),
			"corosync.token_ms must be within %d..%d milliseconds.", minTokenMS, maxTokenMS)
	}
}

func (c *checker) pacemaker() {
	s, pm := c.p.file.child("pacemaker"), c.p.t.Pacemaker
	if !slices.Contains(noQuorumPolicies, pm.NoQuorumPolicy) {
		c.errorf(s.at("no_quorum_policy"), "Invalid no_quorum_policy "+quote(pm.NoQuorumPolicy),
			"no_quorum_policy must be one of %s.", strings.Join(noQuorumPolicies, ", "))
	}
}

func (c *checker) hosts() {
	if len(c.p.hosts) == 0 {
		c.errorf(c.p.file.def, "No host block", "The file needs at least one host block.")
	}
	names := map[string]*src{}
	folded := map[string]*src{} // Pacemaker compares node names without case
	addrs := map[netip.Addr]*src{}
	nodeids := map[int]*src{}
	var family *src // the first host with an address: every ring address is of its family
	for i, s := range c.p.hosts {
		h := c.p.t.Hosts[i]
		c.name(s, hostName, names)
		key := strings.TrimSuffix(strings.ToLower(s.name), ".")
		if first, dup := folded[key]; dup && first.name != s.name {
			c.errorf(s.label, "Host "+quote(s.name)+" is the same node name as "+quote(first.name),
				"Pacemaker and corosync take node names without regard to case (and a trailing dot): %s is %s at %s.",
				s.title(), first.title(), at(first.label))
		} else if !dup {
			folded[key] = s
		}
		c.nic(s, h.NIC)
		c.nodeID(s, h.NodeID, nodeids)
		if !h.Address.IsValid() {
			continue
		}
		c.hostAddress(s, h.Address, addrs)
		if h.Address.IsLoopback() && len(c.p.hosts) > 1 {
			c.errorf(s.at("address"), "Loopback address "+quote(h.Address.String()),
				"%s: a loopback address cannot carry corosync traffic between hosts (only a one-host file may use it); write the address the other hosts reach it at.", s.title())
		}
		if family == nil {
			family = s
			continue
		}
		if f := c.p.t.Hosts[slices.Index(c.p.hosts, family)].Address; f.Is4() != h.Address.Is4() {
			c.errorf(s.at("address"), "Mixed address families: "+quote(h.Address.String()),
				"%s: corosync's knet transport needs every host's address in one family; %s at %s has %s.",
				s.title(), family.title(), at(family.at("address")), f)
		}
	}
	c.hostLinks(addrs)
}

// linkOf is the link of host block s that has address a (0 when none does).
func (c *checker) linkOf(s *src, a netip.Addr) int {
	for i, hs := range c.p.hosts {
		if hs == s {
			return max(0, slices.Index(c.p.t.Hosts[i].Links, a))
		}
	}
	return 0
}

// hostLinks checks the hosts' second Corosync links: every address unique (against the first
// links too), in the family of the first links (knet's ip_version covers every link), and
// either every host names a second link or none does (a knet link joins every node).
func (c *checker) hostLinks(addrs map[netip.Addr]*src) {
	var with, without []string
	var firstWithout *src
	for i, s := range c.p.hosts {
		h := c.p.t.Hosts[i]
		if !h.Address.IsValid() {
			continue // its address is already reported
		}
		if len(h.Links) < 2 {
			without = append(without, h.Name)
			if firstWithout == nil {
				firstWithout = s
			}
			continue
		}
		with = append(with, h.Name)
		a, r := h.Links[1], s.elemAt("addresses", 1)
		if a.Is4() != h.Links[0].Is4() {
			c.errorf(r, "Invalid address "+quote(a.String()),
				"%s: its second link address %s is not in the family of its first, %s: Corosync's knet runs every link in one IP family.", s.title(), a, h.Links[0])
			continue
		}
		if first, dup := addrs[a]; dup {
			c.errorf(r, "Duplicate address "+quote(a.String()), "%s has the address of %s at %s.", s.title(), first.title(), at(first.addressAt(c.linkOf(first, a))))
			continue
		}
		addrs[a] = s
	}
	if len(with) > 0 && len(without) > 0 {
		c.errorf(firstWithout.addressAt(0), "Second link missing",
			"hosts with a second Corosync link (addresses = [a, b]): %s; with one link only: %s. Every host needs an address on each link.",
			strings.Join(with, ", "), strings.Join(without, ", "))
	}
}

func (c *checker) nodeID(s *src, id int, seen map[int]*src) {
	if id < 1 || id > maxNodeID {
		c.errorf(s.at("nodeid"), fmt.Sprintf("Invalid nodeid %d", id),
			"%s: nodeid must be within 1..%d.", s.title(), maxNodeID)
		return
	}
	first, dup := seen[id]
	if !dup {
		seen[id] = s
		return
	}
	how := ""
	if !s.set["nodeid"] {
		how = " (default: its position in the file)"
	}
	c.errorf(s.at("nodeid"), fmt.Sprintf("Duplicate nodeid %d", id),
		"%s has nodeid %d%s, already used by %s at %s.", s.title(), id, how, first.title(), at(first.at("nodeid")))
}

func (c *checker) hostAddress(s *src, a netip.Addr, seen map[netip.Addr]*src) {
	first, dup := seen[a]
	if !dup {
		seen[a] = s
		return
	}
	c.errorf(s.addressAt(0), "Duplicate address "+quote(a.String()),
		"%s has the address of %s at %s.", s.title(), first.title(), at(first.addressAt(c.linkOf(first, a))))
}

// nic checks an interface name if one is given.
func (c *checker) nic(s *src, nic string) {
	if !s.set["nic"] {
		return
	}
	if nic == "" || nic == "." || nic == ".." || len(nic) > 15 || strings.ContainsAny(nic, "/: \t\n") {
		c.errorf(s.at("nic"), "Invalid nic "+quote(nic),
			"nic must be a Linux interface name: 1 to 15 characters, not \".\" or \"..\", without '/', ':' or spaces.")
	}
}

func (c *checker) groups() {
	if len(c.p.groups) == 0 {
		c.errorf(c.p.file.def, "No host_group block", "The file needs at least one host_group block.")
	}
	names := map[string]*src{}
	members := map[string]membership{} // host name → where a group first lists it
	for i, s := range c.p.groups {
		g := c.p.t.Groups[i]
		c.name(s, lowerName, names)
		if s.set["hosts"] && len(g.Hosts) == 0 {
			c.errorf(s.at("hosts"), "Empty hosts", "%s needs at least one host.", s.title())
		}
		for j, h := range g.Hosts {
			c.member(membership{s, j}, h, members)
		}
	}
}

// membership is element i of the hosts list of group s.
type membership struct {
	group *src
	i     int
}

func (m membership) at() hcl.Range { return m.group.elemAt("hosts", m.i) }

// member checks one element of a group's hosts.
func (c *checker) member(m membership, host string, members map[string]membership) {
	s := m.group
	if _, ok := c.p.t.Host(host); !ok {
		c.errorf(m.at(), "Unknown host "+quote(host), "%s lists %q, but no host block defines it.", s.title(), host)
		return
	}
	first, dup := members[host]
	switch {
	case !dup:
		members[host] = m
	case first.group == s:
		c.errorf(m.at(), "Duplicate host "+quote(host), "%s lists %q twice; first at %s.", s.title(), host, at(first.at()))
	default:
		c.errorf(m.at(), "Host "+quote(host)+" in two host groups",
			"%s lists %q, already a member of %s at %s; a host belongs to one group.",
			s.title(), host, first.group.title(), at(first.at()))
	}
}

func (c *checker) vips() {
	seen := map[netip.Addr]*src{}
	for i, gs := range c.p.groups {
		g, s := c.p.t.Groups[i], gs.child("vip")
		c.nic(s, g.VIP.NIC)
		c.agent(gs, s, g)
		if !s.set["address"] {
			continue
		}
		c.vipAddress(gs, s, g.VIP.Prefix)
		a := g.VIP.Prefix.Addr()
		if first, dup := seen[a]; dup {
			c.errorf(s.at("address"), "Duplicate VIP "+quote(a.String()),
				"%s has the VIP of %s at %s.", gs.title(), first.title(), at(first.child("vip").at("address")))
		} else {
			seen[a] = gs
		}
	}
}

// vipAddress checks one VIP on its own and against the hosts' addresses.
func (c *checker) vipAddress(gs, s *src, p netip.Prefix) {
	a, r, text := p.Addr(), s.at("address"), quote(p.String())
	if a.Is4In6() || !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast() {
		c.errorf(r, "Invalid VIP "+text, "%s: the VIP must be a unicast address, IPv4 written as such.", gs.title())
		return
	}
	if p.Bits() < 1 {
		c.errorf(r, "Invalid VIP "+text, "%s: the prefix length must be 1 or more (/0 is every address: the agent refuses it).", gs.title())
		return
	}
	if what := reserved.Of(p); what != "" {
		c.errorf(r, "Invalid VIP "+text, "%s: %s is the %s address of %s, not usable as a VIP.",
			gs.title(), a, what, p.Masked())
	}
	for i, h := range c.p.t.Hosts {
		if h.Address == a || slices.Contains(h.Links, a) {
			hs := c.p.hosts[i]
			c.errorf(r, "VIP "+text+" is a host's address",
				"%s: %s is the address of %s at %s.", gs.title(), a, hs.title(), at(hs.addressAt(c.linkOf(hs, a))))
			return
		}
	}
}

// agent checks vip.agent; IPaddr2 needs a nic on every host of the group.
func (c *checker) agent(gs, s *src, g HostGroup) {
	switch g.VIP.Agent {
	case AgentVipctl:
		return
	case AgentIPaddr2:
	default:
		c.errorf(s.at("agent"), "Invalid agent "+quote(g.VIP.Agent),
			"%s: vip.agent must be %q or %q.", gs.title(), AgentVipctl, AgentIPaddr2)
		return
	}
	if g.VIP.NIC != "" {
		return
	}
	var missing []string
	for _, name := range g.Hosts {
		h, ok := c.p.t.Host(name)
		if ok && h.NIC == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		c.errorf(s.at("agent"), `Agent "IPaddr2" without nic`,
			"%s: set vip.nic, or nic on host %s: IPaddr2 without nic cannot release the VIP when the link is down.",
			gs.title(), strings.Join(missing, ", "))
	}
}

func (c *checker) fences() {
	names := map[string]*src{}
	for i, s := range c.p.fences {
		f := c.p.t.Fences[i]
		c.name(s, lowerName, names)
		switch {
		case s.set["agent"] && f.Agent == "":
			c.errorf(s.at("agent"), `Invalid agent ""`, "%s: agent must name a fence agent.", s.title())
		case s.set["agent"] && (len(f.Agent) > 255 || !fenceAgent().MatchString(f.Agent)):
			c.errorf(s.at("agent"), "Invalid agent "+quote(f.Agent),
				"%s: agent must name a fence agent as `crm_resource --list-agents stonith` lists it (fence_ipmilan, external/ipmi): letters, digits, _ and -, at most one /.", s.title())
		}
		if s.set["host"] {
			if _, ok := c.p.t.Host(f.Host); !ok {
				c.errorf(s.at("host"), "Unknown host "+quote(f.Host), "%s fences %q, but no host block defines it.", s.title(), f.Host)
			}
		}
		c.fenceParams(s, f)
		keys := make([]string, 0, len(f.Params))
		for k := range f.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c.secretParam(s, f, k)
		}
	}
}

// secretParam refuses a fence parameter that carries a secret, at its key, with the agent's
// parameter to give instead when its metadata names one.
func (c *checker) secretParam(s *src, f Fence, k string) {
	secret, listed, p, instead := c.p.fenceMeta.secret(f.Agent, k)
	if !secret {
		return
	}
	if listed {
		hint := f.Agent + " has no script parameter for it: leave it out, or configure the device to take its credential another way (docs/topology.md#secrets)"
		if instead != "" {
			hint = fmt.Sprintf("give %s instead, a script that prints it", instead)
		}
		c.errorf(s.keyAt("params", k), "Secret in params: "+k,
			"%s: secrets never live in the topology, and the metadata of %s describes %s as one (%q); %s.",
			s.title(), f.Agent, k, p.ShortDesc, hint)
		return
	}
	c.errorf(s.keyAt("params", k), "Secret in params: "+k,
		"%s: secrets never live in the topology, and %s looks like one (judged by name: %s); use password_script (or the agent's equivalent *_script parameter) instead.",
		s.title(), k, secretPattern)
}

// fenceParams refuses the parameters by which vipctl confines a fence device to its one host.
func (c *checker) fenceParams(s *src, f Fence) {
	if _, ok := f.Params["pcmk_host_list"]; ok {
		c.errorf(s.keyAt("params", "pcmk_host_list"), "pcmk_host_list in params",
			"%s: vipctl sets pcmk_host_list to the block's host (%q) itself; remove it from params.", s.title(), f.Host)
	}
	if v, ok := f.Params["pcmk_host_check"]; ok && v != "static-list" {
		c.errorf(s.keyAt("params", "pcmk_host_check"), "pcmk_host_check "+quote(v)+" in params",
			"%s: a device must fence only its own host (%q, from pcmk_host_list); pcmk_host_check may only be \"static-list\".", s.title(), f.Host)
	}
}

// stonith reports, in one error, the hosts without a fence device when stonith is enabled.
func (c *checker) stonith() {
	if !c.p.t.Pacemaker.StonithEnabled {
		return
	}
	var missing []string
	var first *src
	for i, h := range c.p.t.Hosts {
		fenced := slices.ContainsFunc(c.p.t.Fences, func(f Fence) bool { return f.Host == h.Name })
		if !fenced && !slices.Contains(missing, h.Name) {
			missing = append(missing, h.Name)
			if first == nil {
				first = c.p.hosts[i]
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	pm := c.p.file.child("pacemaker")
	r := first.def
	if pm.set["stonith_enabled"] {
		r = pm.at("stonith_enabled")
	}
	c.errorf(r, "No fence device for host "+strings.Join(missing, ", "),
		"stonith_enabled is true (the default) and these hosts have no fence block: %s. Add one per host, or write stonith_enabled = false.",
		strings.Join(missing, ", "))
}
