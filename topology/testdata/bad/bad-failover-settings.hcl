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
  patroni {
    ttl           = 10
    loop_wait     = 4
    retry_timeout = 4
  }
  haproxy {
    check_interval_ms = 10
    rise              = 0
  }
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 25,21 Invalid ttl 10
# want: 30,25 Invalid check_interval_ms 10
# want: 31,25 Invalid rise 0
