package nomad

import (
	"flag"
	"testing"

	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// exampleTopology loads examples/vipctl.hcl.
func exampleTopology(t testing.TB) *topology.Topology {
	t.Helper()
	tp, err := topology.Load("../examples/vipctl.hcl")
	if err != nil {
		t.Fatalf("load the example: %v", err)
	}
	return tp
}

// goldenUpdate reports whether the tests run with -update (the flag is the package's one).
func goldenUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// manyClusters loads a generated topology of groups host groups of three hosts each with n
// clusters in all (n a multiple of groups), every cluster backed up except the last one.
func manyClusters(tb testing.TB, n, groups int) *topology.Topology {
	tb.Helper()
	o := topogen.Options{Groups: groups, HostsPerGroup: 3, ClustersPerGroup: n / groups}
	tp, err := topology.Parse(topogen.HCL(o), o.String()+".hcl")
	if err != nil {
		tb.Fatalf("load %s: %v", o, err)
	}
	if len(tp.Clusters) != n {
		tb.Fatalf("%s: %d clusters, want %d", o, len(tp.Clusters), n)
	}
	tp.Clusters[n-1].Backup = topology.Backup{Enabled: false}
	return tp
}
