package haproxy

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

// update rewrites the golden files: go test ./haproxy -run Golden -update.
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestFilesGolden pins the bytes of haproxy/<cluster>.cfg of the example; a second render is
// the same.
func TestFilesGolden(t *testing.T) {
	tp := bundletest.Example(t)
	files, err := Files(tp)
	if err != nil {
		t.Fatal(err)
	}
	bundletest.CheckGolden(t, filepath.Join("testdata", "golden"), files, *update)
	again, err := Files(tp)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(files, again); d != "" {
		t.Errorf("second render differs:\n%s", d)
	}
}

func TestHAProxyConfigAcceptedByHAProxy(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	for name, tp := range map[string]*topology.Topology{
		"example":     bundletest.Example(t),
		"10 clusters": bundletest.ManyClusters(t, 10, 2),
	} {
		files, err := Files(tp)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(tp.Clusters) {
			t.Fatalf("%s: %d configs for %d clusters", name, len(files), len(tp.Clusters))
		}
		for _, f := range files {
			if out, err := bundletest.HAProxyCheck(t, haproxy, f.Data); err != nil {
				t.Errorf("%s: haproxy -dW -c refuses %s: %v\n%s", name, f.Path, err, out)
			}
		}
	}
}

// TestHAProxyCheckIsStrict shows the checker above can fail: without init-addr none, the
// unresolvable SRV name at start is a warning, which -dW makes fatal.
func TestHAProxyCheckIsStrict(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	tp := bundletest.Example(t)
	cfg, err := Config(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), " init-addr none", "", 1)
	if bad == string(cfg) {
		t.Fatal("config has no init-addr none")
	}
	bad = strings.Replace(bad, "server-template pg 1-3 _pgsql-msrvc01._master.service.consul", "server pg1 pgsql-msrvc01.invalid:5432", 1)
	if out, err := bundletest.HAProxyCheck(t, haproxy, []byte(bad)); err == nil {
		t.Errorf("haproxy -dW -c accepted an unresolvable server without init-addr:\n%s", out)
	}
}

func TestHAProxyConfigRefusesBadValues(t *testing.T) {
	tp := bundletest.Example(t)
	c := tp.Clusters[0]
	bad := *tp
	bad.Consul.DNS = "consul.local:8600"
	if _, err := Config(&bad, c); !errors.Is(err, ErrRender) {
		t.Errorf("hostname nameserver: err = %v, want ErrRender", err)
	}
	c.StatsPort = 70000
	if _, err := Config(tp, c); !errors.Is(err, ErrRender) {
		t.Errorf("stats port 70000: err = %v, want ErrRender", err)
	}
}

func TestSRVName(t *testing.T) {
	tp := bundletest.Example(t)
	if got, want := SRVName(tp.Clusters[1]), "_pgsql-msrvc02._master.service.consul"; got != want {
		t.Errorf("SRV name %q, want %q", got, want)
	}
}
