package topology_test

import (
	"os"
	"testing"

	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

func BenchmarkParseExample(b *testing.B) {
	src, err := os.ReadFile("../examples/vipctl.hcl")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := topology.Parse(src, "vipctl.hcl"); err != nil {
			b.Fatal(err)
		}
	}
}

// The largest generated shape: 20 groups of 16 hosts, 50 clusters each, fenced.
func BenchmarkParseLargest(b *testing.B) {
	src := topogen.HCL(topogen.Options{
		Groups: topogen.MaxGroups, HostsPerGroup: topogen.MaxHostsPerGroup,
		ClustersPerGroup: topogen.MaxClustersPerGroup, Fencing: true,
	})
	for b.Loop() {
		if _, err := topology.Parse(src, "large.hcl"); err != nil {
			b.Fatal(err)
		}
	}
}
