package nomad

import (
	"flag"
	"testing"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/topology"
)

// exampleTopology loads examples/vipctl.hcl.
func exampleTopology(t testing.TB) *topology.Topology { return bundletest.Example(t) }

// goldenUpdate reports whether the tests run with -update (the flag is the package's one).
func goldenUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// manyClusters is bundletest.ManyClusters: n clusters on groups host groups of three hosts.
func manyClusters(tb testing.TB, n, groups int) *topology.Topology {
	return bundletest.ManyClusters(tb, n, groups)
}
