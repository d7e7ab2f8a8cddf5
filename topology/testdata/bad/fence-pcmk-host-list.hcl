corosync {
  cluster_name = "t"
}
fence "ipmi-h1" {
  agent  = "fence_ipmilan"
  host   = "h1"
  params = { ip = "192.0.2.201", pcmk_host_list = "h1,h2" }
}
fence "ipmi-h2" {
  agent = "fence_ipmilan"
  host  = "h2"
  params = {
    ip               = "192.0.2.202"
    "pcmk_host_list" = "h2"
  }
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
}

# Expected diagnostics (checked by TestBadTopologies):
# want: 7,34 pcmk_host_list in params
# want: 14,5 pcmk_host_list in params
