package topology_test

import (
	"errors"
	"fmt"

	"github.com/vipctl/vipctl/topology"
)

func ExampleParse() {
	src := []byte(`
corosync {
  cluster_name = "demo"
}
host "pg-01" {
  address = "192.0.2.11"
}
host_group "db-a" {
  hosts = ["pg-01", "pg-09"]
  vip {
    address = "192.0.2.0/24"
  }
}
`)
	_, err := topology.Parse(src, "vipctl.hcl")
	fmt.Println(errors.Is(err, topology.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// vipctl.hcl:5,1-13: No fence device for host pg-01; stonith_enabled is true (the default) and these hosts have no fence block: pg-01. Add one per host, or write stonith_enabled = false.
	// vipctl.hcl:9,21-28: Unknown host "pg-09"; host_group "db-a" lists "pg-09", but no host block defines it.
	// vipctl.hcl:11,15-29: Invalid VIP "192.0.2.0/24"; host_group "db-a": 192.0.2.0 is the network address of 192.0.2.0/24, not usable as a VIP.
}

// The names a cluster's jobs, volumes, Variable and Consul service get.
func ExampleCluster_PatroniJobName() {
	c := topology.Cluster{Name: "msrvc01"}
	fmt.Println(c.PatroniJobName(), c.HAProxyJobName(), c.BackupJobName())
	fmt.Println(c.VolumeName(), c.RepoVolumeName())
	fmt.Println(c.VariablePath())
	// Output:
	// pgsql-msrvc01 haproxy-msrvc01 backup-msrvc01
	// pgdata-msrvc01 pgbackrest-msrvc01
	// nomad/jobs/pgsql-msrvc01
}

// The CIB id of a group's VIP primitive.
func ExampleHostGroup_VIPID() {
	fmt.Println(topology.HostGroup{Name: "db-a"}.VIPID())
	// Output: vip-db-a
}

// A host name the topology lacks is an error matching ErrUnknownHost, naming the hosts it has.
func ExampleTopology_LookupHost() {
	t := &topology.Topology{File: "vipctl.hcl", Hosts: []topology.Host{{Name: "pg-01"}, {Name: "pg-02"}}}
	h, err := t.LookupHost("pg-02")
	fmt.Println(h.Name, err)
	_, err = t.LookupHost("pg-09")
	fmt.Println(errors.Is(err, topology.ErrUnknownHost), err)
	// Output:
	// pg-02 <nil>
	// true unknown host "pg-09": vipctl.hcl has pg-01, pg-02
}
