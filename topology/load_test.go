package topology

import (
	"errors"
	"io/fs"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const example = "../examples/vipctl.hcl"

func TestLoadExample(t *testing.T) {
	got, err := Load(example)
	if err != nil {
		t.Fatalf("Load(%s): %v", example, err)
	}
	ipmi := func(host, ip string) Fence {
		return Fence{
			Name: "ipmi-" + host, Agent: "fence_ipmilan", Host: host,
			Params: map[string]string{"ip": ip, "username": "admin", "password_script": "/etc/vipctl/ipmi-pass"},
		}
	}
	backup := Backup{Enabled: true, Schedule: "0 3 * * *", Repo: Repo{Type: RepoPosix, Path: "/var/lib/pgbackrest"}}
	resources := Resources{CPU: 4400, MemoryMB: 512, DiskMB: 1024, Mbits: 100}
	patroni := Patroni{TTL: 10, LoopWait: 1, RetryTimeout: 4, PrimaryStartTimeout: 300}
	haproxy := HAProxy{CheckIntervalMS: 1000, Fall: 2, Rise: 1, ResolveIntervalMS: 1000}
	want := &Topology{
		File:        example,
		Datacenters: []string{"dc1"},
		Consul: Consul{
			Address:    "127.0.0.1:8500",
			DNS:        "127.0.0.1:8600",
			JobAddress: "${attr.unique.network.ip-address}:8500",
		},
		Nomad:     Nomad{Version: NomadVersion{Major: 1, Minor: 8}},
		Corosync:  Corosync{ClusterName: "pg-prod", TokenMS: 1000},
		Pacemaker: Pacemaker{StonithEnabled: true, NoQuorumPolicy: "stop", ResourceStickiness: 100},
		Fences:    []Fence{ipmi("pg-01", "10.20.1.11"), ipmi("pg-02", "10.20.1.12"), ipmi("pg-03", "10.20.1.13")},
		Hosts: []Host{
			{Name: "pg-01", Address: netip.MustParseAddr("10.20.0.11"), NodeID: 1},
			{Name: "pg-02", Address: netip.MustParseAddr("10.20.0.12"), NodeID: 2},
			{Name: "pg-03", Address: netip.MustParseAddr("10.20.0.13"), NodeID: 3},
		},
		Groups: []HostGroup{{
			Name:  "db-a",
			Hosts: []string{"pg-01", "pg-02", "pg-03"},
			VIP:   VIP{Prefix: netip.MustParsePrefix("10.20.0.100/24"), NIC: "eth0", Agent: AgentVipctl},
		}},
		Clusters: []Cluster{
			{
				Name: "msrvc01", HostGroup: "db-a", Port: 5001, PatroniPort: 8008, StatsPort: 6001,
				Image: "registry.example/sa-pgsql:15", Replicas: 3, Resources: resources, Backup: backup, Patroni: patroni, HAProxy: haproxy,
			},
			{
				Name: "msrvc02", HostGroup: "db-a", Port: 5002, PatroniPort: 8009, StatsPort: 7002,
				Image: "registry.example/sa-pgsql:15", Replicas: 3, Resources: resources, Backup: backup, Patroni: patroni, HAProxy: haproxy,
			},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", example, diff)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.hcl")
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want an error matching ErrInvalid and fs.ErrNotExist", err)
	}
}
