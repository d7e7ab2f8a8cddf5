package topology

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// A file that writes only what is required gets every default of the format.
func TestDefaults(t *testing.T) {
	src := []byte(`
corosync {
  cluster_name = "min"
}
pacemaker {
  stonith_enabled = false
}
host "a" {
  address = "2001:db8::1"
}
host "b" {
  address = "2001:db8::2"
  nic     = "ens4"
}
host_group "g" {
  hosts = ["a", "b"]
  vip {
    address = "2001:db8::100/64"
  }
}
cluster "c" {
  host_group   = "g"
  port         = 5001
  patroni_port = 8008
  image        = "img"
}
`)
	got, err := Parse(src, "min.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := &Topology{
		File:        "min.hcl",
		Datacenters: []string{"dc1"},
		Consul: Consul{
			Address: "127.0.0.1:8500", DNS: "127.0.0.1:8600",
			JobAddress: "${attr.unique.network.ip-address}:8500",
		},
		Nomad:     Nomad{Version: NomadVersion{Major: 1, Minor: 8}},
		Corosync:  Corosync{ClusterName: "min", TokenMS: 1000},
		Pacemaker: Pacemaker{StonithEnabled: false, NoQuorumPolicy: "stop", ResourceStickiness: 100},
		Hosts: []Host{
			{Name: "a", Address: netip.MustParseAddr("2001:db8::1"), NodeID: 1},
			{Name: "b", Address: netip.MustParseAddr("2001:db8::2"), NodeID: 2, NIC: "ens4"},
		},
		Groups: []HostGroup{{
			Name: "g", Hosts: []string{"a", "b"},
			VIP: VIP{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Agent: AgentVipctl},
		}},
		Clusters: []Cluster{{
			Name: "c", HostGroup: "g", Port: 5001, PatroniPort: 8008, StatsPort: 6001, Image: "img", Replicas: 2,
			Resources: Resources{CPU: 4400, MemoryMB: 512, DiskMB: 1024, Mbits: 100},
			Backup:    Backup{Enabled: true, Schedule: "0 3 * * *", Repo: Repo{Type: RepoPosix, Path: "/var/lib/pgbackrest"}},
			Patroni:   Patroni{TTL: 10, LoopWait: 1, RetryTimeout: 4, PrimaryStartTimeout: 300},
			HAProxy:   HAProxy{CheckIntervalMS: 1000, Fall: 2, Rise: 1, ResolveIntervalMS: 1000},
		}},
		Warnings: []string{"min.hcl:6,21: stonith_enabled = false: a host that stops responding is not fenced, " +
			"so its VIP may stay up there while another host takes it"},
	}
	if diff := cmp.Diff(want, got, cmpNetip); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

// Values written explicitly replace the defaults; nothing else is changed.
func TestExplicitValues(t *testing.T) {
	src := []byte(`
datacenters = ["dc1", "dc2"]
nomad {
  version = "1.6.1"
}
consul {
  address     = "10.0.0.1:8500"
  dns         = "10.0.0.1:8600"
  job_address = "$${attr.unique.network.ip-address}:18500"
}
corosync {
  cluster_name = "x"
  token_ms     = 3000
}
pacemaker {
  stonith_enabled     = false
  no_quorum_policy    = "freeze"
  resource_stickiness = 0
}
host "a" {
  address = "192.0.2.1"
  nodeid  = 10
}
host "b" {
  address = "192.0.2.2"
  nodeid  = 11
}
host_group "g" {
  hosts = ["a", "b"]
  vip {
    address = "192.0.2.254/31"
    nic     = "bond0"
    agent   = "IPaddr2"
  }
}
cluster "c" {
  host_group   = "g"
  port         = 5001
  patroni_port = 8008
  stats_port   = 7000
  image        = "img"
  replicas     = 1
  resources {
    cpu    = 1000
    memory = 2048
    disk   = 4096
    mbits  = 10
  }
  backup {
    enabled  = false
    schedule = "30 1 * * 0"
    repo {
      type     = "s3"
      bucket   = "pg"
      endpoint = "s3.example.com"
      region   = "eu-west-1"
      path     = "/repo"
    }
  }
  patroni {
    ttl                   = 30
    loop_wait             = 10
    retry_timeout         = 10
    primary_start_timeout = 60
    synchronous_mode      = true
  }
  haproxy {
    check_interval_ms = 3000
    fall              = 3
    rise              = 2
    resolve_interval_ms = 10000
  }
}
`)
	got, err := Parse(src, "x.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := &Topology{
		File:        "x.hcl",
		Datacenters: []string{"dc1", "dc2"},
		Consul:      Consul{Address: "10.0.0.1:8500", DNS: "10.0.0.1:8600", JobAddress: "${attr.unique.network.ip-address}:18500"},
		Nomad:       Nomad{Version: NomadVersion{Major: 1, Minor: 6}},
		Corosync:    Corosync{ClusterName: "x", TokenMS: 3000},
		Pacemaker:   Pacemaker{StonithEnabled: false, NoQuorumPolicy: "freeze", ResourceStickiness: 0},
		Hosts: []Host{
			{Name: "a", Address: netip.MustParseAddr("192.0.2.1"), NodeID: 10},
			{Name: "b", Address: netip.MustParseAddr("192.0.2.2"), NodeID: 11},
		},
		Groups: []HostGroup{{
			Name: "g", Hosts: []string{"a", "b"},
			VIP: VIP{Prefix: netip.MustParsePrefix("192.0.2.254/31"), NIC: "bond0", Agent: AgentIPaddr2},
		}},
		Clusters: []Cluster{{
			Name: "c", HostGroup: "g", Port: 5001, PatroniPort: 8008, StatsPort: 7000, Image: "img", Replicas: 1,
			Resources: Resources{CPU: 1000, MemoryMB: 2048, DiskMB: 4096, Mbits: 10},
			Backup: Backup{Enabled: false, Schedule: "30 1 * * 0", Repo: Repo{
				Type: RepoS3, Path: "/repo", Bucket: "pg", Endpoint: "s3.example.com", Region: "eu-west-1",
			}},
			Patroni: Patroni{TTL: 30, LoopWait: 10, RetryTimeout: 10, PrimaryStartTimeout: 60, SynchronousMode: true},
			HAProxy: HAProxy{CheckIntervalMS: 3000, Fall: 3, Rise: 2, ResolveIntervalMS: 10000},
		}},
	}
	if diff := cmp.Diff(want, got, cmpNetip, cmpopts.IgnoreFields(Topology{}, "Warnings")); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}
