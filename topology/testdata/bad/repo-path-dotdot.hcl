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
  backup {
    schedule = "0 3 * * *"
    repo {
      path = "/var/lib/../pgbackrest"
    }
  }
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 27,14 Invalid path "/var/lib/../pgbackrest"
