corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  address = "::1"
}
host "h2" {
  address = "2001:db8::2"
}
host_group "g" {
  hosts = ["h1", "h2"]
  vip {
    address = "2001:db8::100/64"
  }
}
cluster "c" {
  host_group   = "g"
  port         = 5001
  patroni_port = 8008
  image        = "img"
  backup {
    schedule = "0 3 * * *"
    repo {
      path = "/var/lib/pgbackrest"
    }
  }
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 8,13 Loopback address "::1"
