// Package bundletest holds the fixtures the renderers' tests share: the example topology, a
// generated topology of many clusters, the golden-file check of rendered bundle files, and the
// real consumer checks that more than one renderer's files go through (haproxy -dW -c).
package bundletest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// Example loads examples/vipctl.hcl (the test runs in a top-level package directory).
func Example(tb testing.TB) *topology.Topology {
	tb.Helper()
	tp, err := topology.Load("../examples/vipctl.hcl")
	if err != nil {
		tb.Fatalf("load the example: %v", err)
	}
	return tp
}

// ManyClusters loads a generated topology of groups host groups of three hosts each with n
// clusters in all (n a multiple of groups), every cluster backed up except the last one.
func ManyClusters(tb testing.TB, n, groups int) *topology.Topology {
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

// CheckGolden compares files with those under dir (exactly that set), or rewrites dir first
// when update is set (the package's -update flag).
func CheckGolden(t *testing.T, dir string, files []bundle.File, update bool) {
	t.Helper()
	if update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		want = append(want, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatalf("golden dir %s: %v (run go test -update)", dir, err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files differ from %s (-golden +rendered):\n%s", dir, d)
	}
	for _, f := range files {
		g, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			continue // reported above
		}
		if d := cmp.Diff(string(g), string(f.Data)); d != "" {
			t.Errorf("%s differs from golden (-golden +rendered):\n%s", f.Path, d)
		}
	}
}

// HAProxyCheck runs Debian's haproxy -dW -c -f on a config (-dW makes every warning fatal) and
// returns its output.
func HAProxyCheck(t *testing.T, haproxy string, cfg []byte) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, haproxy, "-dW", "-c", "-f", p).CombinedOutput()
	return string(out), err
}
