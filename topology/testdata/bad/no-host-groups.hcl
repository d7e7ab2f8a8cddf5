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

# Expected diagnostics (checked by TestBadTopologies):
# want: 1,1 No host_group block
