package nomad

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

// haproxyCheck runs Debian's haproxy -dW -c -f on a config (-dW makes every warning fatal).
func haproxyCheck(t *testing.T, haproxy string, cfg []byte) (string, error) {
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

func TestHAProxyConfigAcceptedByHAProxy(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	for name, tp := range map[string]*topology.Topology{
		"example":     exampleTopology(t),
		"10 clusters": manyClusters(t, 10, 2),
	} {
		files, err := HAProxyFiles(tp)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(tp.Clusters) {
			t.Fatalf("%s: %d configs for %d clusters", name, len(files), len(tp.Clusters))
		}
		for _, f := range files {
			if out, err := haproxyCheck(t, haproxy, f.Data); err != nil {
				t.Errorf("%s: haproxy -dW -c refuses %s: %v\n%s", name, f.Path, err, out)
			}
		}
	}
}

// TestHAProxyCheckIsStrict shows the checker above can fail: without init-addr none, the
// unresolvable SRV name at start is a warning, which -dW makes fatal.
func TestHAProxyCheckIsStrict(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	tp := exampleTopology(t)
	cfg, err := HAProxyConfig(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), " init-addr none", "", 1)
	if bad == string(cfg) {
		t.Fatal("config has no init-addr none")
	}
	bad = strings.Replace(bad, "server-template pg 1-3 _pgsql-msrvc01._master.service.consul", "server pg1 pgsql-msrvc01.invalid:5432", 1)
	if out, err := haproxyCheck(t, haproxy, []byte(bad)); err == nil {
		t.Errorf("haproxy -dW -c accepted an unresolvable server without init-addr:\n%s", out)
	}
}

func TestHAProxyConfigRefusesBadValues(t *testing.T) {
	tp := exampleTopology(t)
	c := tp.Clusters[0]
	bad := *tp
	bad.Consul.DNS = "consul.local:8600"
	if _, err := HAProxyConfig(&bad, c); !errors.Is(err, ErrRender) {
		t.Errorf("hostname nameserver: err = %v, want ErrRender", err)
	}
	c.StatsPort = 70000
	if _, err := HAProxyConfig(tp, c); !errors.Is(err, ErrRender) {
		t.Errorf("stats port 70000: err = %v, want ErrRender", err)
	}
}

func TestHAProxySRVName(t *testing.T) {
	tp := exampleTopology(t)
	if got, want := HAProxySRVName(tp.Clusters[1]), "_pgsql-msrvc02._master.service.consul"; got != want {
		t.Errorf("SRV name %q, want %q", got, want)
	}
}
