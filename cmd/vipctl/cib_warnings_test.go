package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/internal/testenv"
)

// stonithOffTopology writes the example topology with stonith_enabled = false, which loads with
// one warning.
func stonithOffTopology(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/vipctl.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "stonith_enabled     = true", "stonith_enabled     = false", 1)
	if src == string(b) {
		t.Fatal("examples/vipctl.hcl no longer sets stonith_enabled = true: update this test")
	}
	p := filepath.Join(t.TempDir(), "nostonith.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every command that loads the topology prints each of its warnings exactly once, on stderr.
// (Commands that need a live cluster, Nomad or root run to the point where they fail after
// loading; the warning must still be there once.)
func TestTopologyWarningPrintedOnce(t *testing.T) {
	file := stonithOffTopology(t)
	const warning = "stonith_enabled = false: a host that stops responding is not fenced"
	t.Setenv("NOMAD_ADDR", "http://127.0.0.1:1") // nomad submit: refused at once, on loopback
	cases := []struct {
		args []string
		tool string // needed on PATH
	}{
		{args: []string{"cib", "render"}},
		{args: []string{"cib", "verify"}, tool: "crm_verify"},
		{args: []string{"cib", "simulate"}, tool: "crm_simulate"},
		{args: []string{"cib", "simulate", "--fail", "pg-01"}, tool: "crm_simulate"},
		{args: []string{"-o", "json", "cib", "simulate", "--fail", "pg-01", "--fail", "pg-02"}, tool: "crm_simulate"},
		{args: []string{"nomad", "render"}},
		{args: []string{"-o", "json", "nomad", "render"}},
		{args: []string{"nomad", "submit"}},
		{args: []string{"render", "-d", t.TempDir()}},
		{args: []string{"check", "nic", "--host", "not-in-the-topology"}},
		{args: []string{"status", "--host", "not-in-the-topology"}},
		{args: []string{"bootstrap", "--dry-run", "--host", "not-in-the-topology"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if tc.tool != "" {
				testenv.RequireTool(t, tc.tool)
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"vipctl", "-f", file}, tc.args...)
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if n := strings.Count(stderr.String(), warning); n != 1 {
				t.Errorf("exit %d; the stonith warning is on stderr %d times, want once:\n%s", code, n, stderr.String())
			}
			if strings.Contains(stdout.String(), warning) {
				t.Errorf("the warning is on stdout:\n%s", stdout.String())
			}
		})
	}
}
