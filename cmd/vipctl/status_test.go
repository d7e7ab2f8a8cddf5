package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/vip/viptest"
)

// A bad topology, an unknown --host and a bad --timeout are usage errors: exit 2, nothing
// on stdout, no probe run.
func TestStatusUsageExit2(t *testing.T) {
	bad := badInputs(t)[0].file
	for _, args := range [][]string{
		{"status", "-f", bad},
		{"status", "-f", bad, "-o", "json"},
		{"status", "-f", "../../examples/vipctl.hcl", "--host", "nosuchhost"},
		{"status", "-f", "../../examples/vipctl.hcl", "--timeout", "0s"},
		{"status", "-f", "../../examples/vipctl.hcl", "extra-arg"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"vipctl"}, args...), strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want exit %d and nothing\nstderr: %s", code, stdout.String(), exitUsage, stderr.String())
			}
		})
	}
}

// statusTopology is a one-group topology whose every address lives in the test's namespace.
const statusTopology = `
datacenters = ["dc1"]
consul {
  address = "127.0.0.1:8500"
}
corosync {
  cluster_name = "test"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  address = "10.99.0.1"
}
host "h2" {
  address = "10.99.0.2"
}
host_group "db-a" {
  hosts = ["h1", "h2"]
  vip {
    address = "10.99.0.100/24"
  }
}
cluster "msrvc01" {
  host_group   = "db-a"
  port         = 5001
  patroni_port = 8008
  image        = "registry.example/sa-pgsql:15"
}
`

// TestStatusHelperProcess is not a test: TestStatusDegradedExit3 runs the test binary as
// `vipctl` inside a network namespace through it.
func TestStatusHelperProcess(t *testing.T) {
	args := os.Getenv("VIPCTL_STATUS_HELPER_ARGS")
	if args == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	os.Exit(run(append([]string{"vipctl"}, argv...), os.Stdin, os.Stdout, os.Stderr))
}

// vipctlIn runs vipctl (this test binary) with args inside network namespace ns and returns
// its exit code and standard output.
func vipctlIn(t *testing.T, ns string, args ...string) (int, []byte, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestStatusHelperProcess$")
	argv, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "VIPCTL_STATUS_HELPER_ARGS="+string(argv), "CONSUL_HTTP_ADDR=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run vipctl in %s: %v", ns, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.Bytes(), stderr.String()
}

// Inside a namespace holding the VIP and nothing else (no cluster, no Consul, no HAProxy),
// status runs every probe and lists each component as unreachable; this host (--host h1)
// holds the address while Pacemaker cannot say so: not judged. With Consul unreachable the
// clusters' state is unknown: exit 1, after the whole report.
func TestStatusUnreachableExit1(t *testing.T) {
	testenv.RequireTool(t, "crm_mon")
	pair := viptest.NewPair(t)
	viptest.IP(t, pair.A, "addr", "add", "10.99.0.100/24", "dev", pair.IfA)
	file := filepath.Join(t.TempDir(), "vipctl.hcl")
	if err := os.WriteFile(file, []byte(statusTopology), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := vipctlIn(t, pair.A, "status", "-f", file, "-o", "json", "--host", "h1", "--timeout", "1s")
	if code != exitFailure || !strings.Contains(stderr, "Consul at 127.0.0.1:8500 cannot be asked") {
		t.Fatalf("exit %d; want %d naming Consul\nstdout:\n%s\nstderr:\n%s", code, exitFailure, out, stderr)
	}
	var r status.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, out)
	}
	var got []string
	for _, p := range r.Problems {
		got = append(got, p.Component+"/"+p.Subject+"/"+p.Code)
	}
	want := []string{
		"pacemaker/cluster/" + status.CodePacemakerUnreachable,
		"vip/msrvc01/" + status.CodeVIPUnreachable,
		"consul/msrvc01/" + status.CodeConsulUnreachable,
		"haproxy/msrvc01/" + status.CodeHAProxyUnreachable,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s\n%s", d, out)
	}
	if r.Healthy || r.Host != "h1" || r.ConsulAddress != "127.0.0.1:8500" {
		t.Errorf("healthy %v, host %q, consul %q; want false, h1, 127.0.0.1:8500", r.Healthy, r.Host, r.ConsulAddress)
	}
	if l := r.Groups[0].Local; l == nil || !l.Present || !l.Usable {
		t.Errorf("local view %+v; want the VIP present and usable", l)
	}

	// The text form says the same, and ends with the verdict.
	code, out, _ = vipctlIn(t, pair.A, "status", "-f", file, "--host", "h1", "--timeout", "1s")
	if code != exitFailure {
		t.Errorf("text: exit %d; want %d", code, exitFailure)
	}
	for _, w := range append(want, fmt.Sprintf("status: DEGRADED (%d problems)", len(want))) {
		w = w[strings.LastIndex(w, "/")+1:]
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}
}
