package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Nomad's dynamic port range: a static port inside it can clash with an allocation.
const (
	nomadDynamicMin = 20000
	nomadDynamicMax = 32000
)

// consulPorts are the ports a Consul agent holds on every host.
var consulPorts = []int{8300, 8301, 8302, 8500, 8600}

// portUse is one static port of a cluster.
type portUse struct {
	attr    string
	value   int
	cluster *src
}

// where is the port's value in the file; a defaulted stats_port is shown at port.
func (u portUse) where() hcl.Range {
	if defaultedPort(u) != "" {
		return u.cluster.at("port")
	}
	return u.cluster.at(u.attr)
}

func (u portUse) String() string {
	return fmt.Sprintf("%s %d of %s%s", u.attr, u.value, u.cluster.title(), defaultedPort(u))
}

func defaultedPort(u portUse) string {
	if u.attr == "stats_port" && !u.cluster.set["stats_port"] {
		return " (default: port + 1000)"
	}
	return ""
}

// ports checks each cluster's static ports on their own and, per host group, for collisions:
// every cluster of a group binds its ports on the same hosts.
func (c *checker) ports() {
	byGroup := map[string]map[int]portUse{}
	for i, s := range c.p.clusters {
		cl := c.p.t.Clusters[i]
		_, known := c.p.t.Group(cl.HostGroup)
		if byGroup[cl.HostGroup] == nil {
			byGroup[cl.HostGroup] = map[int]portUse{}
		}
		portBad := false
		for _, u := range uses(s, cl) {
			if portBad && defaultedPort(u) != "" {
				continue // follows from port, already reported
			}
			bad := c.portRange(u) || known && c.collision(u, byGroup[cl.HostGroup], cl.HostGroup)
			portBad = portBad || u.attr == "port" && bad
		}
	}
}

// uses lists the ports of a cluster that have a value.
func uses(s *src, cl Cluster) []portUse {
	var us []portUse
	for _, u := range []portUse{
		{"port", cl.Port, s}, {"patroni_port", cl.PatroniPort, s}, {"stats_port", cl.StatsPort, s},
	} {
		if s.set[u.attr] || u.attr == "stats_port" && s.set["port"] {
			us = append(us, u)
		}
	}
	return us
}

// portRange reports a port outside the usable range; it says whether it did.
func (c *checker) portRange(u portUse) bool {
	var why string
	switch {
	case u.value < 1 || u.value > 65535:
		why = "outside 1..65535"
	case u.value >= nomadDynamicMin && u.value <= nomadDynamicMax:
		why = fmt.Sprintf("inside Nomad's dynamic port range %d..%d", nomadDynamicMin, nomadDynamicMax)
	case isConsulPort(u.value):
		why = "one of Consul's ports (" + joinInts(consulPorts) + ")"
	default:
		return false
	}
	c.errorf(u.where(), fmt.Sprintf("Invalid %s %d", u.attr, u.value), "%s is %s.", u, why)
	return true
}

// collision reports a port already used on the group's hosts, at its second use;
// it says whether it did.
func (c *checker) collision(u portUse, used map[int]portUse, group string) bool {
	first, dup := used[u.value]
	if !dup {
		used[u.value] = u
		return false
	}
	c.errorf(u.where(), fmt.Sprintf("Port %d used twice on host group %q", u.value, group),
		"%s collides with %s at %s.", u, first, at(first.where()))
	return true
}

func isConsulPort(p int) bool {
	for _, cp := range consulPorts {
		if p == cp {
			return true
		}
	}
	return false
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
