package backup_test

import (
	"flag"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/topology"
)

// updateGolden rewrites the golden files of the package: go test ./backup -run Golden -update.
var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestBackupExampleTopologyIsTheExample keeps bundletest.BackupExample faithful to
// examples/vipctl.hcl as the topology package loads it.
func TestBackupExampleTopologyIsTheExample(t *testing.T) {
	loaded, err := topology.Load(filepath.Join("..", "examples", "vipctl.hcl"))
	if err != nil {
		t.Fatalf("load the example: %v", err)
	}
	want := bundletest.BackupExample()
	if d := cmp.Diff(want.Clusters, loaded.Clusters); d != "" {
		t.Errorf("clusters (-BackupExample +examples/vipctl.hcl):\n%s", d)
	}
	if d := cmp.Diff(want.Groups, loaded.Groups, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("groups (-BackupExample +examples/vipctl.hcl):\n%s", d)
	}
}
