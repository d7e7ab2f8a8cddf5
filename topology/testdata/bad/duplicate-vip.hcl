corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
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
host_group "g2" {
  hosts = ["h3"]
  vip {
    address = "192.0.2.100/25"
  }
}
cluster "c" {
  host_group   = "g"
  port         = 5001
  patroni_port = 8008
  image        = "img"
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 25,15 Duplicate VIP "192.0.2.100"
# first: 19,15
