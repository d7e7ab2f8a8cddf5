package main

import (
	"context"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startupCostly are packages that must not be linked into vipctl: the OCF agent is this same
// binary, Pacemaker runs its monitor every few seconds on every host, and Go runs every linked
// package's init before main. go-cmp's init compiles regexps (~0.5 ms of every agent run);
// hclwrite and gohcl are what linked it (the Nomad jobs are written by nomad/hcltext.go, the
// topology decoded without gohcl). Tests may use them.
var startupCostly = []string{
	"github.com/google/go-cmp/cmp",
	"github.com/hashicorp/hcl/v2/hclwrite",
	"github.com/hashicorp/hcl/v2/gohcl",
}

// prometheusModules: no package of Prometheus's modules (client_golang, common, client_model,
// procfs) may be linked into vipctl. client_golang registers its default Go and process
// collectors in package init: with it linked, `GODEBUG=inittrace=1 vipctl version` ran 149
// package inits instead of 127 and allocated 383 KB instead of 166 KB at every start. The
// exporter is the program vipctl-metrics, which `vipctl metrics` runs.
const prometheusModules = "github.com/prometheus/"

// metricsLibrary is what vipctl-metrics links and vipctl must not.
const metricsLibrary = "github.com/prometheus/client_golang/prometheus"

// goListDeps is `go list -deps` of the package in dir, without tests.
func goListDeps(t *testing.T, dir string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("no go tool to list the dependencies with: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "list", "-deps", ".")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps in %s: %v", dir, err)
	}
	return strings.Fields(string(out))
}

// TestNoStartupCostlyDeps: `go list -deps` of the vipctl command (without tests) names none
// of startupCostly and no package of Prometheus's modules; vipctl-metrics does link
// client_golang (so the name checked is the one really linked).
func TestNoStartupCostlyDeps(t *testing.T) {
	deps := goListDeps(t, ".")
	if !slices.Contains(deps, "github.com/hashicorp/hcl/v2/hclsyntax") {
		t.Fatalf("go list -deps does not list hclsyntax, which vipctl uses: the check sees nothing:\n%s", deps)
	}
	for _, p := range startupCostly {
		if slices.Contains(deps, p) {
			t.Errorf("vipctl links %s: its package init would run on every start of the binary, "+
				"and so on every OCF agent action Pacemaker runs; keep it to tests (who imports it: "+
				"go list -deps -f '{{.ImportPath}} {{.Imports}}' ./cmd/vipctl | grep %s)", p, p)
		}
	}
	for _, p := range deps {
		if strings.HasPrefix(p, prometheusModules) {
			t.Errorf("vipctl links %s: Prometheus's packages belong to vipctl-metrics, never to the binary "+
				"that is the OCF agent (who imports it: go list -deps -f '{{.ImportPath}} {{.Imports}}' ./cmd/vipctl | grep %s)", p, p)
		}
	}
	if !slices.Contains(goListDeps(t, "../vipctl-metrics"), metricsLibrary) {
		t.Errorf("vipctl-metrics does not link %s: the check above looks for a name nothing uses", metricsLibrary)
	}
}

// labPackages are the lab (namespaces, nsenter, its host supervisor): `vipctl lab` is a command
// of the contract, so the binary links them; nothing else of the production code may.
var labPackages = []string{"github.com/vipctl/vipctl/lab", "github.com/vipctl/vipctl/internal/pcmkhost"}

// TestLabImportedOnlyByLabCommands: of the module's packages (without tests), only lab itself,
// cmd/vipctl and the bench/ programs import lab or internal/pcmkhost; in cmd/vipctl only the
// files of the `lab` command (lab.go, lab_*.go) do. bootstrap, status, move, cib, vip ... run
// the tools through internal/pcmk, never through the lab's supervisor.
func TestLabImportedOnlyByLabCommands(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go tool to list the packages with: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/vipctl/vipctl/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/vipctl/vipctl/"
	var importers []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 || slices.Contains(labPackages, f[0]) {
			continue
		}
		if slices.ContainsFunc(f[1:], func(p string) bool { return slices.Contains(labPackages, p) }) {
			importers = append(importers, f[0])
		}
	}
	if !slices.Contains(importers, module+"cmd/vipctl") {
		t.Fatalf("cmd/vipctl does not import lab: the check sees nothing (importers: %v)", importers)
	}
	for _, p := range importers {
		if p != module+"cmd/vipctl" && !strings.HasPrefix(p, module+"bench/") {
			t.Errorf("%s imports the lab (%v): production code runs Pacemaker's tools through internal/pcmk", p, labPackages)
		}
	}

	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(labPackages, path) {
				continue
			}
			seen++
			if name != "lab.go" && !strings.HasPrefix(name, "lab_") {
				t.Errorf("%s imports %s: only the files of the lab command (lab.go, lab_*.go) may", name, path)
			}
		}
	}
	if seen == 0 {
		t.Error("no file of cmd/vipctl imports the lab: the check sees nothing")
	}
}
