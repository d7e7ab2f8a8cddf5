package main

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// startupCostly are packages that must not be linked into vipctl: the OCF agent is this same
// binary, Pacemaker runs its monitor every few seconds on every host, and Go runs every linked
// package's init before main. go-cmp's init compiles regexps (~0.5 ms of every agent run);
// hclwrite and gohcl are what linked it (the Nomad jobs are written by nomad/hcltext.go, the
// topology decoded without gohcl). Tests may use them. Prometheus's client_golang registers its
// default Go and process collectors in package init: `vipctl metrics` must not bring it onto the
// agent's path (a separate binary, or a measured exception with bench/agent).
var startupCostly = []string{
	"github.com/google/go-cmp/cmp",
	"github.com/hashicorp/hcl/v2/hclwrite",
	"github.com/hashicorp/hcl/v2/gohcl",
	"github.com/prometheus/client_golang/prometheus",
}

// TestNoStartupCostlyDeps: `go list -deps` of the vipctl command (without tests) names none
// of startupCostly.
func TestNoStartupCostlyDeps(t *testing.T) {
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("no go tool to list the dependencies with: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/hashicorp/hcl/v2/hclsyntax") {
		t.Fatalf("go list -deps does not list hclsyntax, which vipctl uses: the check sees nothing:\n%s", out)
	}
	for _, p := range startupCostly {
		if slices.Contains(deps, p) {
			t.Errorf("vipctl links %s: its package init would run on every start of the binary, "+
				"and so on every OCF agent action Pacemaker runs; keep it to tests (who imports it: "+
				"go list -deps -f '{{.ImportPath}} {{.Imports}}' ./cmd/vipctl | grep %s)", p, p)
		}
	}
}
