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
host_group "g" {
  hosts = []
  vip {
    address = "192.0.2.100/24"
  }
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 14,11 Empty hosts
