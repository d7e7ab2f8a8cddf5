# IPaddr2 with interface names that differ between hosts: nic goes per host through rules.
corosync {
  cluster_name = "pg-nics"
}

pacemaker {
  stonith_enabled = false
}

host "db-1" {
  address = "192.0.2.11"
  nic     = "ens3"
}
host "db-2" {
  address = "192.0.2.12"
  nic     = "ens3"
}
host "db-3" {
  address = "192.0.2.13"
  nic     = "enp5s0"
}
host "db-4" {
  address = "192.0.2.14"
}
host "db-5" {
  address = "192.0.2.15"
}

host_group "east" {
  hosts = ["db-1", "db-2", "db-3"]
  vip {
    address = "192.0.2.100/24"
    agent   = "IPaddr2"
  }
}

host_group "west" {
  hosts = ["db-4", "db-5"]
  vip {
    address = "198.51.100.10/25"
    nic     = "bond0"
    agent   = "IPaddr2"
  }
}

cluster "orders" {
  host_group   = "east"
  port         = 5001
  patroni_port = 8008
  image        = "registry.example/sa-pgsql:15"
}

cluster "billing" {
  host_group   = "west"
  port         = 5101
  patroni_port = 8108
  image        = "registry.example/sa-pgsql:15"
}
