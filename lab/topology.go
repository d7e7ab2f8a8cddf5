package lab

// DefaultTopology is the topology the lab writes and runs when none is given: three hosts in
// one group sharing one VIP, on the documentation network 192.0.2.0/24 (which exists only
// inside the lab's namespaces), with fencing off.
const DefaultTopology = topologyHead + `
pacemaker {
  stonith_enabled     = false # see FencedTopology for the lab's fence devices
  no_quorum_policy    = "stop"
  resource_stickiness = 100
}
` + topologyHosts

// FencedTopology is DefaultTopology with fencing on, as production runs: one device per host,
// of the lab's own fence agent (fence_vipctl_lab, which powers hosts off and on through the
// lab's BMC), so a host the others lost is powered off before they take its VIP.
const FencedTopology = topologyHead + `
pacemaker {
  stonith_enabled     = true
  no_quorum_policy    = "stop"
  resource_stickiness = 100
}

# One device per host: the lab's BMC powers the host off and on.
fence "power-lab-1" {
  agent = "` + FenceAgentName + `"
  host  = "lab-1"
}
fence "power-lab-2" {
  agent = "` + FenceAgentName + `"
  host  = "lab-2"
}
fence "power-lab-3" {
  agent = "` + FenceAgentName + `"
  host  = "lab-3"
}
` + topologyHosts

const topologyHead = `# The lab's own topology, written by "vipctl lab up". Its addresses exist only inside
# the lab's network namespaces.
datacenters = ["lab"]

corosync {
  cluster_name = "vipctl-lab"
  token_ms     = 1000
}
`

const topologyHosts = `
host "lab-1" {
  address = "192.0.2.11"
  nodeid  = 1
}
host "lab-2" {
  address = "192.0.2.12"
  nodeid  = 2
}
host "lab-3" {
  address = "192.0.2.13"
  nodeid  = 3
}

host_group "lab" {
  hosts = ["lab-1", "lab-2", "lab-3"]
  vip {
    address = "192.0.2.100/24"
    nic     = "eth0"
    agent   = "vipctl"
  }
}

cluster "demo" {
  host_group   = "lab"
  port         = 5001
  patroni_port = 8008
  image        = "postgres-patroni:lab"
}
`
