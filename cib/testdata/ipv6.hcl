# IPv6 host addresses and VIP; fencing with a device per host.
corosync {
  cluster_name = "pg-v6"
}

pacemaker {
  no_quorum_policy    = "freeze"
  resource_stickiness = 200
}

fence "ipmi-a" {
  agent  = "fence_ipmilan"
  host   = "v6-a"
  params = { ip = "2001:db8:1::a", username = "admin", lanplus = "1" }
}
fence "ipmi-b" {
  agent  = "fence_ipmilan"
  host   = "v6-b"
  params = { ip = "2001:db8:1::b", username = "admin", lanplus = "1" }
}
fence "ipmi-c" {
  agent  = "fence_ipmilan"
  host   = "v6-c"
  params = { ip = "2001:db8:1::c", username = "admin", lanplus = "1" }
}

host "v6-a" {
  address = "2001:db8::a"
}
host "v6-b" {
  address = "2001:db8::b"
}
host "v6-c" {
  address = "2001:db8::c"
}

host_group "v6" {
  hosts = ["v6-a", "v6-b", "v6-c"]
  vip {
    address = "2001:db8::100/64"
  }
}

cluster "inventory" {
  host_group   = "v6"
  port         = 5432
  patroni_port = 8008
  image        = "registry.example/sa-pgsql:15"
}
