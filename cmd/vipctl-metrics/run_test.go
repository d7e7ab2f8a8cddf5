package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/internal/badtopo"
	"github.com/vipctl/vipctl/metrics"
)

const example = "../../examples/vipctl.hcl"

// Bad command lines and bad topologies exit 2 and write nothing.
func TestUsageExit2(t *testing.T) {
	bad := badtopo.Cases()[0].Write(t, t.TempDir())
	out := filepath.Join(t.TempDir(), "vipctl.prom")
	for _, args := range [][]string{
		{"-f", example},
		{"-f", example, "--listen", ":9475", "--textfile", out},
		{"-f", example, "--listen", "9475"},
		{"-f", example, "--textfile", strings.TrimSuffix(out, ".prom") + ".txt"},
		{"-f", example, "--textfile", out, "--timeout", "0s"},
		{"-f", example, "--textfile", out, "--haproxy-address", "localhost"},
		{"-f", example, "--textfile", out, "--host", "nosuchhost"},
		{"-f", example, "--textfile", out, "extra"},
		{"-f", example, "--textfile", out, "--nosuchflag"},
		{"-f", bad, "--textfile", out},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"vipctl-metrics"}, args...), &stdout, &stderr)
			if code != exitUsage || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want %d and nothing\nstderr: %s", code, stdout.String(), exitUsage, stderr.String())
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written", out)
			}
		})
	}
}

// --textfile writes a file Prometheus's parser reads, naming every source, and exits 0, even
// where crm_mon cannot read a cluster (the source is then 0, not an error of the program).
func TestTextfile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "vipctl.prom")
	var stdout, stderr bytes.Buffer
	code := run([]string{"vipctl-metrics", "-f", example, "--host", "pg-01", "--textfile", out,
		"--journal", filepath.Join(t.TempDir(), "none.jsonl"), "--timeout", "1s"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := metrics.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`vipctl_source_up{source="crm_mon"}`, `vipctl_source_up{source="journal"}`, `vipctl_source_up{source="netlink"}`,
		`vipctl_vip_moves_total{group="db-a"}`} {
		if _, ok := s[k]; !ok {
			t.Errorf("%s missing from %v", k, s)
		}
	}
	if s[`vipctl_source_up{source="journal"}`] != 1 || s[`vipctl_vip_moves_total{group="db-a"}`] != 0 {
		t.Errorf("a journal not written yet: %v; want read, no moves", s)
	}
	if len(s.Select("go_goroutines")) != 0 {
		t.Error("the textfile carries go_ metrics: they would collide with node_exporter's own")
	}
}
