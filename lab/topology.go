package lab

// DefaultTopology is the topology the lab writes and runs when none is given: three hosts in
// one group sharing one VIP, on the documentation network 192.0.2.0/24 (which exists only
// inside the lab's namespaces), with fencing off because the lab has no fence devices.
const DefaultTopology = `# The lab's own topology, written by "vipctl lab up". Its addresses exist only inside
# the lab's network namespaces.
datacenters = ["lab"]

corosync {
  cluster_name = "vipctl-lab"
  token_ms     = 1000
}

pacemaker {
  stonith_enabled     = false # the lab has no fence devices
  no_quorum_policy    = "stop"
  resource_stickiness = 100
}

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
