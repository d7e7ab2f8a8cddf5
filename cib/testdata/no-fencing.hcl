# stonith disabled and no fence devices; no nic anywhere (route lookup on the host).
corosync {
  cluster_name = "pg-lab"
}

pacemaker {
  stonith_enabled = false
}

host "lab-1" {
  address = "10.99.0.1"
}
host "lab-2" {
  address = "10.99.0.2"
}

host_group "lab" {
  hosts = ["lab-1", "lab-2"]
  vip {
    address = "10.99.0.100/24"
  }
}
