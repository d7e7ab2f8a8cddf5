package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/testenv"
)

const cibExampleFile = "../../examples/vipctl.hcl"

// runVipctl runs the command line and returns the exit code, stdout and stderr.
func runVipctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"vipctl"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCibRenderExample(t *testing.T) {
	code, stdout, stderr := runVipctl(t, "cib", "render", "-f", cibExampleFile)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile("../../cib/testdata/example.golden")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("vipctl cib render differs from cib/testdata/example.golden")
	}
}

func TestCibRenderBadTopology(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	src, err := os.ReadFile(cibExampleFile)
	if err != nil {
		t.Fatal(err)
	}
	// A group naming a host that does not exist.
	src = bytes.Replace(src, []byte(`"pg-03"]`), []byte(`"pg-99"]`), 1)
	if err := os.WriteFile(bad, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"render", "verify", "simulate"} {
		code, stdout, stderr := runVipctl(t, "cib", sub, "-f", bad)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "pg-99") {
			t.Errorf("cib %s on a bad topology: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, the bad host named",
				sub, code, stdout, stderr)
		}
	}
}

func TestCibVerify(t *testing.T) {
	testenv.RequireTool(t, "crm_verify")
	if code, _, stderr := runVipctl(t, "cib", "verify", "-f", cibExampleFile); code != exitOK {
		t.Errorf("cib verify of the example: exit %d: %s", code, stderr)
	}
	// A crm_verify that refuses without a word still fails the check.
	f := testenv.RequireTool(t, "false")
	code, _, stderr := runVipctl(t, "cib", "verify", "-f", cibExampleFile, "--crm-verify", f)
	if code != exitFailure || !strings.Contains(stderr, "exit 1") {
		t.Errorf("cib verify with a refusing crm_verify: exit %d, stderr %q; want exit 1 naming crm_verify's exit", code, stderr)
	}
}

func TestCibSimulate(t *testing.T) {
	testenv.RequireTool(t, "crm_simulate")
	code, stdout, stderr := runVipctl(t, "cib", "simulate", "-f", cibExampleFile, "--fail", "pg-02", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sim cib.Simulation
	if err := json.Unmarshal([]byte(stdout), &sim); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if !slices.Equal(sim.Failed, []string{"pg-02"}) || !sim.Quorate || len(sim.Up) != 1 || len(sim.After) != 1 {
		t.Fatalf("simulation = %+v", sim)
	}
	if p := sim.After[0]; p.State != cib.StateStarted || p.Node == "pg-02" {
		t.Errorf("after pg-02 failed: %+v, want started on pg-01 or pg-03", p)
	}

	code, stdout, stderr = runVipctl(t, "cib", "simulate", "-f", cibExampleFile, "--fail", "pg-01", "--fail", "pg-03")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "After pg-01, pg-03 failed (1 of 3 hosts left, quorum LOST)") {
		t.Errorf("text output does not tell the quorum was lost:\n%s", stdout)
	}
}

func TestCibSimulateUnknownHost(t *testing.T) {
	code, stdout, stderr := runVipctl(t, "cib", "simulate", "-f", cibExampleFile, "--fail", "pg-9")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, `"pg-9"`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 naming the host, nothing on stdout", code, stdout, stderr)
	}
}
