corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  addresses = ["192.0.2.1", "198.51.100.1"]
}
host "h2" {
  address = "192.0.2.2"
}
host "h3" {
  addresses = ["192.0.2.3"]
}
host_group "g" {
  hosts = ["h1", "h2", "h3"]
  vip {
    address = "192.0.2.100/24"
  }
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 11,13 Second link missing
