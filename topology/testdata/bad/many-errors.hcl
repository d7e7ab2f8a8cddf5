corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled  = false
  no_quorum_policy = "panic"
}
host "h1" {
  address = "192.0.2.1"
}
host "h2" {
  address = "192.0.2.1"
}
host_group "g" {
  hosts = ["h1", "h2", "h7"]
  vip {
    address = "192.0.2.100/24"
  }
}
cluster "c" {
  host_group   = "nope"
  port         = 8600
  patroni_port = 8008
  image        = "img"
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 6,22 Invalid no_quorum_policy "panic"
# want: 12,13 Duplicate address "192.0.2.1"
# first: 9,13
# want: 15,24 Unknown host "h7"
# want: 21,18 Unknown host_group "nope"
# want: 22,18 Invalid port 8600
