corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = true
}
fence "ipmi-h1" {
  agent = "fence_ipmilan"
  host  = "h1"
}
host "h1" {
  address = "192.0.2.1"
}
host "h2" {
  address = "192.0.2.2"
}
host "h3" {
  address = "192.0.2.3"
}
host_group "g" {
  hosts = ["h1", "h2"]
  vip {
    address = "192.0.2.100/24"
  }
}
cluster "c" {
  host_group   = "g"
  port         = 5001
  patroni_port = 8008
  image        = "img"
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 5,21 No fence device for host h2, h3
