package cib

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vipctl/vipctl/topology"
)

// exampleTopology is examples/vipctl.hcl as the loader returns it (defaults applied).
func exampleTopology() *topology.Topology {
	fence := func(name, host, ip string) topology.Fence {
		return topology.Fence{Name: name, Agent: "fence_ipmilan", Host: host,
			Params: map[string]string{"ip": ip, "username": "admin", "password_script": "/etc/vipctl/ipmi-pass"}}
	}
	return &topology.Topology{
		File:        "examples/vipctl.hcl",
		Datacenters: []string{"dc1"},
		Corosync:    topology.Corosync{ClusterName: "pg-prod", TokenMS: 1000},
		Pacemaker:   topology.Pacemaker{StonithEnabled: true, NoQuorumPolicy: "stop", ResourceStickiness: 100},
		Fences: []topology.Fence{
			fence("ipmi-pg-01", "pg-01", "10.20.1.11"),
			fence("ipmi-pg-02", "pg-02", "10.20.1.12"),
			fence("ipmi-pg-03", "pg-03", "10.20.1.13"),
		},
		Hosts: []topology.Host{
			{Name: "pg-01", Address: netip.MustParseAddr("10.20.0.11"), NodeID: 1},
			{Name: "pg-02", Address: netip.MustParseAddr("10.20.0.12"), NodeID: 2},
			{Name: "pg-03", Address: netip.MustParseAddr("10.20.0.13"), NodeID: 3},
		},
		Groups: []topology.HostGroup{{
			Name:  "db-a",
			Hosts: []string{"pg-01", "pg-02", "pg-03"},
			VIP:   topology.VIP{Prefix: netip.MustParsePrefix("10.20.0.100/24"), NIC: "eth0", Agent: topology.AgentVipctl},
		}},
		Clusters: []topology.Cluster{
			{Name: "msrvc01", HostGroup: "db-a", Port: 5001, PatroniPort: 8008, StatsPort: 6001},
			{Name: "msrvc02", HostGroup: "db-a", Port: 5002, PatroniPort: 8009, StatsPort: 7002},
		},
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func ExampleRender() {
	doc, err := Render(exampleTopology())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range doc.FindElements("//primitive") {
		fmt.Println(p.SelectAttrValue("id", ""), p.SelectAttrValue("type", ""))
	}
	// Output:
	// vip-db-a vip
	// vipctl-fence-ipmi-pg-01 fence_ipmilan
	// vipctl-fence-ipmi-pg-02 fence_ipmilan
	// vipctl-fence-ipmi-pg-03 fence_ipmilan
	// vipctl-health-db-a health
}

func ExampleParseClusterPorts() {
	p, err := ParseClusterPorts("port=5001,patroni=8008,stats=6001")
	fmt.Println(p.Port, p.PatroniPort, p.StatsPort, err)
	// Output: 5001 8008 6001 <nil>
}
