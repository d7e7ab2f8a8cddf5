corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
}
host_group "g" {
  hosts = []
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
# want: 1,1 No host block
# want: 8,11 Empty hosts
