package cib

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vipctl/vipctl/internal/testenv"
)

// healthSim is a simulated cluster of the example topology (3 hosts up, every action succeeding)
// whose hosts' health attributes the test sets, as the health agent would.
type healthSim struct {
	t     *testing.T
	tools Tools
	file  string // the current CIB with status
	attr  string
	step  int
}

func (s *healthSim) set(node, value string) {
	s.t.Helper()
	crmAttribute := testenv.RequireTool(s.t, "crm_attribute")
	cmd := exec.Command(crmAttribute, "--node", node, "--name", s.attr, "--update", value, "--lifetime", "reboot")
	cmd.Env = append(os.Environ(), "CIB_file="+s.file)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("crm_attribute %s=%s on %s: %v\n%s", s.attr, value, node, err, out)
	}
}

// run lets the scheduler act on the current state and returns where the VIP runs after.
func (s *healthSim) run() (string, string) {
	s.t.Helper()
	s.step++
	next := filepath.Join(filepath.Dir(s.file), fmt.Sprintf("step%d.xml", s.step))
	ps, err := s.tools.simulate(context.Background(), load(s.t, "../examples/vipctl.hcl"),
		[]string{"--xml-file", s.file, "--simulate", "--save-output", next})
	if err != nil {
		s.t.Fatal(err)
	}
	s.file = next
	return ps[0].Node, ps[0].State
}

// The health rule, under Pacemaker's own scheduler: an unhealthy holder loses the VIP to a
// healthy host; the VIP does not move back when the old holder recovers; with every host
// unhealthy the VIP keeps running where it is.
func TestHealthRuleInScheduler(t *testing.T) {
	tools := realTools(t)
	topo := load(t, "../examples/vipctl.hcl")
	_, up := exampleUp(t, tools)
	s := &healthSim{t: t, tools: tools, file: up, attr: HealthAttribute("db-a")}
	holder, _ := s.run()
	hosts := topo.Groups[0].Hosts

	for _, h := range hosts {
		s.set(h, "1")
	}
	if got, _ := s.run(); got != holder {
		t.Fatalf("every host healthy: the VIP moved %s -> %s", holder, got)
	}
	s.set(holder, "0")
	moved, st := s.run()
	if moved == holder || st != StateStarted {
		t.Fatalf("holder %s unhealthy: the VIP is %s on %q, want started elsewhere", holder, st, moved)
	}
	s.set(holder, "1")
	if got, _ := s.run(); got != moved {
		t.Errorf("%s healthy again: the VIP moved back %s -> %s (flapping)", holder, moved, got)
	}
	for _, h := range hosts {
		s.set(h, "0")
	}
	if got, st := s.run(); got != moved || st != StateStarted {
		t.Errorf("no host healthy: the VIP is %s on %q, want it still started on %s", st, got, moved)
	}
}
