# Three groups of three hosts, fenced: enough hosts that a whole group can fail with quorum kept.
corosync {
  cluster_name = "pg-multi"
}

fence "f-a1" {
  agent  = "fence_ipmilan"
  host   = "a1"
  params = { ip = "10.30.1.1" }
}
fence "f-a2" {
  agent  = "fence_ipmilan"
  host   = "a2"
  params = { ip = "10.30.1.2" }
}
fence "f-a3" {
  agent  = "fence_ipmilan"
  host   = "a3"
  params = { ip = "10.30.1.3" }
}
fence "f-b1" {
  agent  = "fence_ipmilan"
  host   = "b1"
  params = { ip = "10.30.2.1" }
}
fence "f-b2" {
  agent  = "fence_ipmilan"
  host   = "b2"
  params = { ip = "10.30.2.2" }
}
fence "f-b3" {
  agent  = "fence_ipmilan"
  host   = "b3"
  params = { ip = "10.30.2.3" }
}
fence "f-c1" {
  agent  = "fence_ipmilan"
  host   = "c1"
  params = { ip = "10.30.3.1" }
}
fence "f-c2" {
  agent  = "fence_ipmilan"
  host   = "c2"
  params = { ip = "10.30.3.2" }
}
fence "f-c3" {
  agent  = "fence_ipmilan"
  host   = "c3"
  params = { ip = "10.30.3.3" }
}

host "a1" {
  address = "10.30.0.11"
}
host "a2" {
  address = "10.30.0.12"
}
host "a3" {
  address = "10.30.0.13"
}
host "b1" {
  address = "10.30.0.21"
}
host "b2" {
  address = "10.30.0.22"
}
host "b3" {
  address = "10.30.0.23"
}
host "c1" {
  address = "10.30.0.31"
}
host "c2" {
  address = "10.30.0.32"
}
host "c3" {
  address = "10.30.0.33"
}

host_group "ga" {
  hosts = ["a1", "a2", "a3"]
  vip {
    address = "10.30.0.101/24"
    nic     = "eth0"
  }
}
host_group "gb" {
  hosts = ["b1", "b2", "b3"]
  vip {
    address = "10.30.0.102/24"
    nic     = "eth0"
    agent   = "IPaddr2"
  }
}
host_group "gc" {
  hosts = ["c1", "c2", "c3"]
  vip {
    address = "10.30.0.103/24"
  }
}

cluster "alpha" {
  host_group   = "ga"
  port         = 5001
  patroni_port = 8008
  image        = "registry.example/sa-pgsql:15"
}
cluster "beta" {
  host_group   = "gb"
  port         = 5002
  patroni_port = 8009
  image        = "registry.example/sa-pgsql:15"
}
cluster "gamma" {
  host_group   = "gc"
  port         = 5003
  patroni_port = 8010
  image        = "registry.example/sa-pgsql:15"
}
