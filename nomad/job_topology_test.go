package nomad

import (
	"flag"
	"testing"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/topology"
)

// exampleTopology loads examples/vipctl.hcl.
func exampleTopology(t testing.TB) *topology.Topology { return bundletest.Example(t) }

// updateGolden rewrites the golden files of the package: go test ./nomad -run Golden -update.
var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

// goldenUpdate reports whether the tests run with -update.
func goldenUpdate() bool { return *updateGolden }

// manyClusters is bundletest.ManyClusters: n clusters on groups host groups of three hosts.
func manyClusters(tb testing.TB, n, groups int) *topology.Topology {
	return bundletest.ManyClusters(tb, n, groups)
}
