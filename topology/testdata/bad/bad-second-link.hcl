corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  addresses = ["192.0.2.1", "2001:db8::1"]
}
host "h2" {
  addresses = ["192.0.2.2", "192.0.2.1"]
}
host "h3" {
  address   = "192.0.2.3"
  addresses = ["192.0.2.3", "198.51.100.3"]
}
host "h4" {
  addresses = ["192.0.2.4", "198.51.100.4", "203.0.113.4"]
}
host_group "g" {
  hosts = ["h1", "h2"]
  vip {
    address = "192.0.2.100/24"
  }
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 8,29 Invalid address "2001:db8::1"
# want: 11,29 Duplicate address "192.0.2.1"
# first: 8,16
# want: 15,15 Both address and addresses
# want: 18,15 Invalid addresses (3)
