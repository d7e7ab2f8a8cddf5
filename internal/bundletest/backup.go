package bundletest

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/topology"
)

// BackupExample is examples/vipctl.hcl as a loaded (defaulted) Topology, built by hand so
// that the backup and compose tests see every value they render (backup's
// TestBackupExampleTopologyIsTheExample keeps it faithful to the file).
func BackupExample() *topology.Topology {
	res := topology.Resources{CPU: 4400, MemoryMB: 512, DiskMB: 1024, Mbits: 100}
	posix := topology.Backup{Enabled: true, Schedule: "0 3 * * *",
		Repo: topology.Repo{Type: topology.RepoPosix, Path: "/var/lib/pgbackrest"}}
	pat := topology.Patroni{TTL: 10, LoopWait: 1, RetryTimeout: 4, PrimaryStartTimeout: 300}
	hap := topology.HAProxy{CheckIntervalMS: 1000, Fall: 2, Rise: 1, ResolveIntervalMS: 1000}
	return &topology.Topology{
		File:        "examples/vipctl.hcl",
		Datacenters: []string{"dc1"},
		Consul: topology.Consul{Address: "127.0.0.1:8500", DNS: "127.0.0.1:8600",
			JobAddress: "${attr.unique.network.ip-address}:8500"},
		Corosync:  topology.Corosync{ClusterName: "pg-prod", TokenMS: 1000},
		Pacemaker: topology.Pacemaker{StonithEnabled: true, NoQuorumPolicy: "stop", ResourceStickiness: 100},
		Hosts: []topology.Host{
			{Name: "pg-01", Address: netip.MustParseAddr("10.20.0.11"), NodeID: 1},
			{Name: "pg-02", Address: netip.MustParseAddr("10.20.0.12"), NodeID: 2},
			{Name: "pg-03", Address: netip.MustParseAddr("10.20.0.13"), NodeID: 3},
		},
		Groups: []topology.HostGroup{{Name: "db-a", Hosts: []string{"pg-01", "pg-02", "pg-03"},
			VIP: topology.VIP{Prefix: netip.MustParsePrefix("10.20.0.100/24"), NIC: "eth0", Agent: topology.AgentVipctl}}},
		Clusters: []topology.Cluster{
			{Name: "msrvc01", HostGroup: "db-a", Port: 5001, PatroniPort: 8008, StatsPort: 6001,
				Image: "registry.example/sa-pgsql:15", Replicas: 3, Resources: res, Backup: posix,
				Patroni: pat, HAProxy: hap},
			{Name: "msrvc02", HostGroup: "db-a", Port: 5002, PatroniPort: 8009, StatsPort: 7002,
				Image: "registry.example/sa-pgsql:15", Replicas: 3, Resources: res, Backup: posix,
				Patroni: pat, HAProxy: hap},
		},
	}
}

// backupS3Cluster is a cluster of the example backed up to S3.
func BackupS3Cluster() topology.Cluster {
	c := BackupExample().Clusters[1]
	c.Backup.Schedule = "30 1 * * 0"
	c.Backup.Repo = topology.Repo{Type: topology.RepoS3, Path: "/pgbackrest/msrvc02",
		Bucket: "pg-backups", Endpoint: "s3.eu-central-1.amazonaws.com", Region: "eu-central-1"}
	return c
}

// WriteFiles writes rendered files under dir with their modes.
func WriteFiles(t *testing.T, dir string, files []bundle.File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
}

// SameFiles reports whether two renders are byte-identical, path by path.
func SameFiles(a, b []bundle.File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Mode != b[i].Mode || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}
